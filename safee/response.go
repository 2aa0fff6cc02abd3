package safee

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
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
	s = strings.TrimSpace(s)
	for _, a := range [...]Action{ActionAllow, ActionChallenge, ActionDeny} {
		if strings.EqualFold(s, string(a)) {
			return a
		}
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
	// Its values are slices of Raw: treat both as read-only.
	Extra map[string]json.RawMessage
	// Raw is a copy of the bytes ParseResponse was given, unchanged.
	Raw []byte
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
	raw := append([]byte(nil), b...)
	var f responseFields
	var signalsBuf [16]rawValue
	var extraBuf [8]member
	signals, extra, err := f.scan(raw, signalsBuf[:0], extraBuf[:0])
	if err != nil {
		return Response{}, err
	}
	return f.response(raw, signals, extra)
}

// responseFields holds, as the scanner found them, the members of a
// response that Response models: for each key its last occurrence, as
// encoding/json would keep it.
type responseFields struct {
	risk, abuse, takeover, bot rawValue

	signals rawValue // its elements are kept aside when it is an array
	policy  rawValue // its members below, when it is an object
	name    rawValue
	action  rawValue
}

// member is an object member: its key and where its value lies in the
// input, so that the value can be sliced from it.
type member struct {
	key        rawValue
	start, end int
}

// scan checks that b is exactly one JSON object in valid UTF-8 and records
// its members. It returns the elements of the last signals array appended
// to signals, and the members Response does not model, in order and repeats
// included, appended to extra. (Kept out of f, those slices can live on the
// caller's stack.)
func (f *responseFields) scan(b []byte, signals []rawValue, extra []member) ([]rawValue, []member, error) {
	s, err := openObject(b)
	if err != nil {
		return nil, nil, err
	}
	for first := true; ; first = false {
		key, more, err := s.nextKey(first)
		if err != nil {
			return nil, nil, notJSON(err)
		}
		if !more {
			return signals, extra, s.end()
		}
		switch string(keyName(key)) {
		case "risk":
			f.risk, err = s.value()
		case "account_abuse":
			f.abuse, err = s.value()
		case "account_takeover":
			f.takeover, err = s.value()
		case "bot":
			f.bot, err = s.value()
		case "signals":
			f.signals, signals, err = s.array(signals[:0])
		case "policy":
			f.name, f.action = rawValue{}, rawValue{}
			f.policy, err = s.object([]string{"name", "action"}, []*rawValue{&f.name, &f.action})
		default:
			var v rawValue
			v, err = s.value()
			extra = append(extra, member{key: key, start: s.pos - len(v.b), end: s.pos})
		}
		if err != nil {
			return nil, nil, notJSON(err)
		}
	}
}

// response checks the members' types, in a fixed order so that the error
// for an input does not depend on the order of its keys, and builds the
// Response, whose Extra values are slices of raw.
func (f *responseFields) response(raw []byte, signals []rawValue, extra []member) (Response, error) {
	var r Response
	var err error
	if r.Risk, err = parseScore(f.risk, "risk"); err != nil {
		return Response{}, err
	}
	if r.AccountAbuse, err = parseScore(f.abuse, "account_abuse"); err != nil {
		return Response{}, err
	}
	if r.AccountTakeover, err = parseScore(f.takeover, "account_takeover"); err != nil {
		return Response{}, err
	}
	if r.Bot, err = parseScore(f.bot, "bot"); err != nil {
		return Response{}, err
	}
	if err := checkSignals(f.signals, signals); err != nil {
		return Response{}, err
	}
	if err := checkObject(f.policy, "policy"); err != nil {
		return Response{}, err
	}
	if err := checkString(f.name, "policy.name"); err != nil {
		return Response{}, err
	}
	if err := checkString(f.action, "policy.action"); err != nil {
		return Response{}, err
	}

	var buf [32]rawValue
	vals := append(append(buf[:0], f.name, f.action), signals...)
	for _, m := range extra {
		vals = append(vals, m.key)
	}
	var out [32]string
	t := texts(out[:0], vals...)
	r.Policy = Policy{Name: t[0], Action: t[1]}
	r.Action = ParseAction(r.Policy.Action)
	n := 2 + len(signals)
	if !f.signals.absent() {
		r.Signals = slices.Clone(t[2:n]) // [] gives an empty, non-nil slice
	}
	if len(extra) > 0 {
		r.Extra = make(map[string]json.RawMessage, len(extra))
		for i, m := range extra {
			r.Extra[t[n+i]] = raw[m.start:m.end:m.end]
		}
	}
	r.Raw = raw
	return r, nil
}

// parseScore reads the optional score member v named key.
func parseScore(v rawValue, key string) (float64, error) {
	var text string
	switch v.kind {
	case 0, 'n':
		return 0, nil
	case 'd':
		text = string(v.b)
	case 's':
		text = textOf(v)
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

// checkSignals accepts an optional signals member: absent, null or an array
// whose elements are strings or null (which reads as "").
func checkSignals(v rawValue, elems []rawValue) error {
	if v.absent() {
		return nil
	}
	if v.kind == 'a' {
		bad := false
		for _, e := range elems {
			bad = bad || e.kind != 's' && e.kind != 'n'
		}
		if !bad {
			return nil
		}
	}
	return fmt.Errorf("%w: signals must be an array of strings", ErrBadField)
}
