package decision

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Action is the outcome recorded for a decision. Safe-e's policy actions are
// normalised to lower case; ActionError marks an event that could not be
// scored (a permanent Safe-e error, an unreachable Safe-e in the proxy, or a
// response without a recognised action).
type Action string

// The actions a decision can carry. Their order is the order of Actions and of
// the per-action arrays in rollups.
const (
	ActionAllow     Action = "allow"
	ActionChallenge Action = "challenge"
	ActionDeny      Action = "deny"
	ActionError     Action = "error"
)

// Actions lists every action in rollup order.
var Actions = [NumActions]Action{ActionAllow, ActionChallenge, ActionDeny, ActionError}

// NumActions is the number of actions, the length of per-action arrays.
const NumActions = 4

// Index returns the position of a in Actions, or -1 for an unknown action.
func (a Action) Index() int {
	for i, x := range Actions {
		if x == a {
			return i
		}
	}
	return -1
}

// ParseAction reads an action without regard to case.
func ParseAction(s string) (Action, error) {
	a := Action(strings.ToLower(strings.TrimSpace(s)))
	if a.Index() < 0 {
		return "", fmt.Errorf("unknown action %q (want allow, challenge, deny or error)", s)
	}
	return a, nil
}

// Score names one of the four Safe-e scores. In JSON and text it is its
// short name (risk, ato, bot, abuse).
type Score int

// The scores, in the order used by per-score arrays.
const (
	ScoreRisk Score = iota
	ScoreATO
	ScoreBot
	ScoreAbuse
	NumScores
)

var scoreNames = [NumScores]string{"risk", "ato", "bot", "abuse"}

// String returns the short name used in filters and the UI: risk, ato, bot, abuse.
func (s Score) String() string {
	if s < 0 || s >= NumScores {
		return fmt.Sprintf("score(%d)", int(s))
	}
	return scoreNames[s]
}

// ParseScore reads a score name: risk, ato (or account_takeover), bot, abuse
// (or account_abuse).
func ParseScore(name string) (Score, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "risk":
		return ScoreRisk, nil
	case "ato", "account_takeover":
		return ScoreATO, nil
	case "bot":
		return ScoreBot, nil
	case "abuse", "account_abuse":
		return ScoreAbuse, nil
	}
	return 0, fmt.Errorf("unknown score %q (want risk, ato, bot or abuse)", name)
}

// MarshalText writes the short name; an unknown score is an error.
func (s Score) MarshalText() ([]byte, error) {
	if s < 0 || s >= NumScores {
		return nil, fmt.Errorf("unknown score %d", int(s))
	}
	return []byte(scoreNames[s]), nil
}

// UnmarshalText reads a name as ParseScore does.
func (s *Score) UnmarshalText(b []byte) error {
	v, err := ParseScore(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Decision is one scored (or failed) event as stored. A Decision returned by
// a query is a copy owned by the caller: it does not alias bbolt memory and
// may be kept after the transaction that read it has ended.
//
// It carries three times. Time is when the store wrote it (arrival order:
// the Live tail and decision IDs follow it). ReceivedAt is when the
// collector accepted the event. EventTime is when the event happened, as
// EventTimeOf derives it; windows, journeys, rollups, explain and alerts
// use it, so a backfill of last night's log shows last night.
type Decision struct {
	// ID is the primary key, 32 lowercase hex digits; IDs sort in the order
	// the decisions were stored, which is the order of Time.
	ID string `json:"id"`
	// EventID identifies the event (its own event_id, file identity and
	// offset, or a collector-assigned ID). At most one decision per EventID.
	EventID string `json:"event_id"`
	// Time is when the decision was stored (arrival order).
	Time time.Time `json:"time"`
	// ReceivedAt is when the collector accepted the event.
	ReceivedAt time.Time `json:"received_at"`
	// EventTime is the event time (see EventTimeOf); never zero for a
	// stored decision.
	EventTime time.Time `json:"event_time"`
	// ClockSkew is set when the event's own timestamp was more than
	// MaxClockSkew ahead of ReceivedAt and so was not used as EventTime
	// (the raw request keeps it).
	ClockSkew bool   `json:"clock_skew,omitempty"`
	Source    string `json:"source"`

	Type      string `json:"type"`
	Status    string `json:"status"`
	UserID    string `json:"user_id"`
	Email     string `json:"email,omitempty"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent,omitempty"`
	Country   string `json:"country,omitempty"`

	// Scores, 0-100.
	Risk            float64 `json:"risk"`
	AccountAbuse    float64 `json:"account_abuse"`
	AccountTakeover float64 `json:"account_takeover"`
	Bot             float64 `json:"bot"`

	Signals []string `json:"signals"`
	Policy  string   `json:"policy"`
	Action  Action   `json:"action"`
	// Error says why the event could not be scored; empty unless Action is error.
	Error string `json:"error"`
	// ShadowAction and ShadowRule are what the shadow policy decided for
	// this event and the rule that decided it ("" for the policy's
	// default); ShadowAction is "" when no shadow policy ran.
	ShadowAction Action `json:"shadow_action,omitempty"`
	ShadowRule   string `json:"shadow_rule,omitempty"`
	// Label is the decision's label in force when it was read (SPEC
	// section 12: its event's, else its user's, email's or IP's), filled
	// in by the reader from the labels ledger and never stored with the
	// decision; "" when it has none.
	Label LabelClass `json:"label,omitempty"`
	// HTTPStatus is Safe-e's status code for the last attempt, 0 when none arrived.
	HTTPStatus int `json:"http_status,omitempty"`
	// Latency is the duration of the successful (or last) Safe-e call.
	Latency time.Duration `json:"-"`
	// Attempts is how many calls to Safe-e were made for this event.
	Attempts int `json:"attempts,omitempty"`

	// Request and Response are the raw bytes sent to and received from Safe-e.
	Request  json.RawMessage `json:"request"`
	Response json.RawMessage `json:"response"`
}

// ScoreValue returns the value of score s.
func (d *Decision) ScoreValue(s Score) float64 {
	switch s {
	case ScoreRisk:
		return d.Risk
	case ScoreATO:
		return d.AccountTakeover
	case ScoreBot:
		return d.Bot
	case ScoreAbuse:
		return d.AccountAbuse
	}
	return 0
}

// Bucket maps a 0-100 score to one of 101 histogram buckets, clamping values
// outside the range.
func Bucket(v float64) int {
	switch {
	case v != v || v < 0:
		return 0
	case v >= 100:
		return 100
	}
	return int(v)
}

// MaxClockSkew is how far ahead of its arrival an event's own timestamp may
// be and still be its event time.
const MaxClockSkew = 5 * time.Minute

// EventTimeOf returns the event time of an event with its own timestamp ts
// (zero when it had none) that arrived at arrival: ts when present and not
// more than MaxClockSkew ahead of arrival, otherwise arrival. skew reports
// a timestamp that was present but too far ahead.
func EventTimeOf(ts, arrival time.Time) (t time.Time, skew bool) {
	switch {
	case ts.IsZero():
		return arrival, false
	case ts.Sub(arrival) > MaxClockSkew:
		return arrival, true
	}
	return ts, false
}
