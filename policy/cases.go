package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Test cases (riskwatch policy test FILE CASES.ndjson) are NDJSON, one
// case a line (blank lines are skipped):
//
//	{"name": "stuffing source is challenged",
//	 "event": {"type": "$login", "status": "$failed", "user": "u1", "ip": "203.0.113.7", "risk": 20},
//	 "history": [{"ago": "2m", "type": "$login", "status": "$failed", "user": "u2", "ip": "203.0.113.7"}],
//	 "velocity": {"distinct(\"ip\", \"user\", \"10m\")": 5},
//	 "expect": {"action": "challenge", "rule": "stuffing ip"}}
//
// An event has the fields conditions read: type, status, user, email, ip,
// country, ua, risk, ato, bot, abuse, signals and action (Safe-e's,
// default allow); email_domain, ip24, ua_family and hour are derived from
// them. Its time (RFC 3339) defaults to CaseTime. Velocity is answered
// from history, earlier events each with a time or an "ago" before the
// event's; velocity facts override the answers to the queries they name.
// With neither, every query answers 0. expect.rule, when present, must be
// the deciding rule's name ("" for the default). Unknown fields are errors.

// CaseTime is the event time of a test case event without one.
const CaseTime = "2000-01-01T00:00:00Z"

// MaxCaseLine bounds a line of a test case file.
const MaxCaseLine = 1 << 20

// CaseReport is the outcome of a test case file.
type CaseReport struct {
	Cases    int           `json:"cases"`
	Passed   int           `json:"passed"`
	Failures []CaseFailure `json:"failures"`
}

// CaseFailure is a case that failed or could not be read, by line.
type CaseFailure struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Name    string `json:"name,omitempty"`
	Message string `json:"message"`
}

// Error writes "FILE:LINE: name: message".
func (f CaseFailure) Error() string {
	if f.Name == "" {
		return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Message)
	}
	return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Name, f.Message)
}

type testCase struct {
	Name     string         `json:"name"`
	Event    caseEvent      `json:"event"`
	History  []caseEvent    `json:"history"`
	Velocity map[string]int `json:"velocity"`
	Expect   struct {
		Action string  `json:"action"`
		Rule   *string `json:"rule"`
	} `json:"expect"`
}

type caseEvent struct {
	Time    string   `json:"time"`
	Ago     string   `json:"ago"`
	Type    string   `json:"type"`
	Status  string   `json:"status"`
	User    string   `json:"user"`
	Email   string   `json:"email"`
	IP      string   `json:"ip"`
	Country string   `json:"country"`
	UA      string   `json:"ua"`
	Risk    float64  `json:"risk"`
	ATO     float64  `json:"ato"`
	Bot     float64  `json:"bot"`
	Abuse   float64  `json:"abuse"`
	Signals []string `json:"signals"`
	Action  string   `json:"action"`
}

// RunCases runs the test cases read from r (named name in failures)
// against p. A case that fails, or cannot be read, is a CaseFailure; the
// error is for r itself (a read error, a line over MaxCaseLine).
func RunCases(p *Policy, name string, r io.Reader) (*CaseReport, error) {
	rep := &CaseReport{Failures: []CaseFailure{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxCaseLine)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		rep.Cases++
		caseName, err := runCase(p, text)
		if err != nil {
			rep.Failures = append(rep.Failures, CaseFailure{File: name, Line: line, Name: caseName, Message: err.Error()})
			continue
		}
		rep.Passed++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("policy test %s: %w", name, err)
	}
	return rep, nil
}

// runCase runs one case and returns its name and why it failed.
func runCase(p *Policy, text []byte) (string, error) {
	var tc testCase
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tc); err != nil {
		return "", fmt.Errorf("not a test case: %w", err)
	}
	if dec.More() {
		return tc.Name, fmt.Errorf("not a test case: more than one JSON value on the line")
	}
	want, err := decision.ParseAction(tc.Expect.Action)
	if err != nil {
		return tc.Name, fmt.Errorf("expect.action: %w", err)
	}
	if tc.Event.Ago != "" {
		return tc.Name, fmt.Errorf("event: ago is for history events; give the event a time")
	}
	caseTime, _ := time.Parse(time.RFC3339, CaseTime)
	d, err := tc.Event.decision(caseTime, "event")
	if err != nil {
		return tc.Name, err
	}
	history := make([]*decision.Decision, len(tc.History))
	for i, h := range tc.History {
		if h.Time == "" && h.Ago == "" {
			return tc.Name, fmt.Errorf("history[%d] has neither time nor ago", i)
		}
		if history[i], err = h.decision(d.EventTime, fmt.Sprintf("history[%d]", i)); err != nil {
			return tc.Name, err
		}
		if !history[i].EventTime.Before(d.EventTime) {
			return tc.Name, fmt.Errorf("history[%d] is not before the event", i)
		}
	}
	slices.SortStableFunc(history, func(a, b *decision.Decision) int { return a.EventTime.Compare(b.EventTime) })
	vel := &facts{next: NewWindow(p.queries...), facts: make(map[Query]int)}
	for _, h := range history {
		if err := vel.next.Add(h); err != nil {
			return tc.Name, fmt.Errorf("history: %w", err)
		}
	}
	for k, n := range tc.Velocity {
		q, err := ParseQuery(k)
		if err != nil {
			return tc.Name, fmt.Errorf("velocity: %w", err)
		}
		vel.facts[q] = n
	}
	res, err := p.NewEvaluator(vel).Decide(d)
	if err != nil {
		return tc.Name, err
	}
	var problems []string
	if res.Action != want || (tc.Expect.Rule != nil && res.Rule != *tc.Expect.Rule) {
		wantRule := ""
		if tc.Expect.Rule != nil {
			wantRule = " by " + ruleText(*tc.Expect.Rule)
		}
		problems = append(problems, fmt.Sprintf("got %s by %s, want %s%s", res.Action, ruleText(res.Rule), want, wantRule))
	}
	for _, f := range res.Failed {
		problems = append(problems, f.Error())
	}
	if len(problems) > 0 {
		return tc.Name, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return tc.Name, nil
}

func ruleText(name string) string {
	if name == "" {
		return "the default"
	}
	return fmt.Sprintf("rule %q", name)
}

// decision makes the decision of a case event; ref is the time an "ago"
// counts back from and the time of an event without either.
func (e caseEvent) decision(ref time.Time, what string) (*decision.Decision, error) {
	d := &decision.Decision{
		EventID: what, Type: e.Type, Status: e.Status, UserID: e.User, Email: e.Email, IP: e.IP,
		Country: e.Country, UserAgent: e.UA, Risk: e.Risk, AccountTakeover: e.ATO, Bot: e.Bot,
		AccountAbuse: e.Abuse, Signals: e.Signals, Action: decision.ActionAllow, EventTime: ref,
	}
	if e.Action != "" {
		a, err := decision.ParseAction(e.Action)
		if err != nil {
			return nil, fmt.Errorf("%s.action: %w", what, err)
		}
		d.Action = a
	}
	switch {
	case e.Time != "" && e.Ago != "":
		return nil, fmt.Errorf("%s has both time and ago", what)
	case e.Time != "":
		t, err := time.Parse(time.RFC3339Nano, e.Time)
		if err != nil {
			return nil, fmt.Errorf("%s.time: want RFC 3339, as in 2024-05-01T12:00:00Z", what)
		}
		d.EventTime = t
	case e.Ago != "":
		ago, err := parseDuration(e.Ago)
		if err != nil {
			return nil, fmt.Errorf("%s.ago: %w", what, err)
		}
		d.EventTime = ref.Add(-ago)
	}
	return d, nil
}

// facts answers velocity from given facts, else from next.
type facts struct {
	facts map[Query]int
	next  *Window
}

func (f *facts) Answer(q Query, d *decision.Decision) (int, error) {
	if n, ok := f.facts[q]; ok {
		return n, nil
	}
	return f.next.Answer(q, d)
}
