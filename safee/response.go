package safee

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Action is Safe-e's policy action, normalised to lower case.
type Action string

// The actions. ActionUnknown marks a response whose policy action is missing
// or not one of Allow, Challenge, Deny; the caller decides what that means
// (riskwatch records it as an error decision).
const (
	ActionAllow     Action = "allow"
	ActionChallenge Action = "challenge"
	ActionDeny      Action = "deny"
	ActionUnknown   Action = "unknown"
)

// ParseAction normalises a policy action, comparing without regard to case
// and surrounding space; anything unrecognised gives ActionUnknown.
func ParseAction(s string) Action {
	switch a := Action(strings.ToLower(strings.TrimSpace(s))); a {
	case ActionAllow, ActionChallenge, ActionDeny:
		return a
	}
	return ActionUnknown
}

// Policy is the customer policy that decided, as Safe-e named it. Action is
// the text Safe-e sent, unchanged; Response.Action holds it normalised.
type Policy struct {
	Name   string
	Action string
}

// Response is Safe-e's answer to one event. Raw holds its exact bytes and
// Extra every top-level member this package does not model, so nothing Safe-e
// adds later is lost.
type Response struct {
	// Scores, each within 0-100.
	Risk            float64
	AccountAbuse    float64
	AccountTakeover float64
	Bot             float64

	Signals []string
	Policy  Policy
	// Action is Policy.Action normalised; ActionUnknown when it is missing
	// or unrecognised.
	Action Action

	// Extra holds the top-level members other than risk, account_abuse,
	// account_takeover, bot, signals and policy; nil when there are none.
	Extra map[string]json.RawMessage
	// Raw is a copy of the bytes ParseResponse was given, unchanged.
	Raw []byte
}

var knownResponseFields = map[string]bool{
	"risk": true, "account_abuse": true, "account_takeover": true, "bot": true,
	"signals": true, "policy": true,
}

// ParseResponse reads a Safe-e response: exactly one JSON object in valid
// UTF-8. Decisions, so callers can rely on them:
//   - A score that is absent or null reads as 0. A score given as a JSON
//     string holding a decimal number ("42.5") is accepted, since Safe-e's
//     documentation does not pin the type down. A score that is not a finite
//     number within 0-100 is an error wrapping ErrBadScore: it is not
//     clamped, because a score on another scale would silently distort every
//     histogram and what-if built on it. Raw still holds the answer.
//   - signals is an array of strings or null; policy is an object or null,
//     with string name and action.
//   - A missing or unrecognised action is not an error: Action is
//     ActionUnknown.
//
// ParseResponse never panics and does not retain b.
func ParseResponse(b []byte) (Response, error) {
	m, err := decodeObject(b)
	if err != nil {
		return Response{}, err
	}
	var r Response
	for _, s := range []struct {
		key string
		dst *float64
	}{
		{"risk", &r.Risk},
		{"account_abuse", &r.AccountAbuse},
		{"account_takeover", &r.AccountTakeover},
		{"bot", &r.Bot},
	} {
		if *s.dst, err = parseScore(m, s.key); err != nil {
			return Response{}, err
		}
	}
	if r.Signals, err = parseSignals(m); err != nil {
		return Response{}, err
	}
	pol, err := optObject(m, "policy")
	if err != nil {
		return Response{}, err
	}
	if r.Policy.Name, err = optString(pol, "name", "policy.name"); err != nil {
		return Response{}, err
	}
	if r.Policy.Action, err = optString(pol, "action", "policy.action"); err != nil {
		return Response{}, err
	}
	r.Action = ParseAction(r.Policy.Action)
	for k, v := range m {
		if knownResponseFields[k] {
			continue
		}
		if r.Extra == nil {
			r.Extra = make(map[string]json.RawMessage)
		}
		r.Extra[k] = v
	}
	r.Raw = append([]byte(nil), b...)
	return r, nil
}

func parseScore(m map[string]json.RawMessage, key string) (float64, error) {
	v, ok := m[key]
	if !ok || rawKind(v) == 'n' {
		return 0, nil
	}
	text := string(v)
	switch rawKind(v) {
	case 'd':
	case 's':
		if err := json.Unmarshal(v, &text); err != nil {
			return 0, fmt.Errorf("%w: %s: %v", ErrBadScore, key, err)
		}
		if !isDecimal(text) {
			return 0, fmt.Errorf("%w: %s: %q is not a number", ErrBadScore, key, snippet([]byte(text), ""))
		}
	default:
		return 0, fmt.Errorf("%w: %s must be a number", ErrBadScore, key)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
		return 0, fmt.Errorf("%w: %s = %s is outside 0-100", ErrBadScore, key, snippet([]byte(text), ""))
	}
	return f, nil
}

// isDecimal reports whether s is a JSON number, so a quoted score cannot
// smuggle in the forms strconv also accepts (NaN, Inf, hex, underscores).
func isDecimal(s string) bool {
	return s != "" && json.Valid([]byte(s)) && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
}

func parseSignals(m map[string]json.RawMessage) ([]string, error) {
	v, ok := m["signals"]
	if !ok || rawKind(v) == 'n' {
		return nil, nil
	}
	if rawKind(v) != 'a' {
		return nil, fmt.Errorf("%w: signals must be an array of strings", ErrBadField)
	}
	var sig []string
	if err := json.Unmarshal(v, &sig); err != nil {
		return nil, fmt.Errorf("%w: signals must be an array of strings", ErrBadField)
	}
	return sig, nil
}
