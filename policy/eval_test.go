package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
)

const evalPolicy = `
default = "challenge"
[lists]
vip = ["u1"]
[[rule]]
name = "vip"
when = 'in_list("vip", user)'
action = "allow"
[[rule]]
name = "tor"
when = '"tor_ip" in signals'
action = "deny"
[[rule]]
name = "risky login"
types = ["$LOGIN"]
when = "risk >= 50"
action = "deny"
[[rule]]
name = "office"
when = 'in_cidr(ip, "10.0.0.0/8") && not ("tor_ip" in signals)'
action = "allow"
[[rule]]
name = "low"
when = "risk < 20"
action = "allow"
`

func TestEvaluate(t *testing.T) {
	p := mustParse(t, evalPolicy)
	ev := p.NewEvaluator(nil)
	for _, tc := range []struct {
		name    string
		d       decision.Decision
		action  decision.Action
		rule    string
		matched []int
	}{
		{"first match wins", decision.Decision{UserID: "u1", Signals: []string{"tor_ip"}, Risk: 10, Action: "allow"},
			decision.ActionAllow, "vip", []int{0, 1, 4}},
		{"types compare without case", decision.Decision{Type: "$login", Risk: 60, IP: "10.1.2.3", Action: "allow"},
			decision.ActionDeny, "risky login", []int{2, 3}},
		{"types exclude", decision.Decision{Type: "$transaction", Risk: 60, IP: "::ffff:10.1.2.3", Action: "allow"},
			decision.ActionAllow, "office", []int{3}},
		{"default", decision.Decision{Type: "$transaction", Risk: 30, IP: "192.0.2.1", Action: "allow"},
			decision.ActionChallenge, "", nil},
		{"error decisions pass through", decision.Decision{UserID: "u1", Action: decision.ActionError},
			decision.ActionError, "", nil},
	} {
		res, err := ev.Evaluate(&tc.d)
		if err != nil {
			t.Fatal(err)
		}
		wantIndex := slices.IndexFunc(p.Rules(), func(r Rule) bool { return r.Name == tc.rule })
		if res.Action != tc.action || res.Rule != tc.rule || res.Index != wantIndex || !slices.Equal(res.Matched, tc.matched) {
			t.Errorf("%s: got %s by %q (%d), matched %v; want %s by %q, matched %v",
				tc.name, res.Action, res.Rule, res.Index, res.Matched, tc.action, tc.rule, tc.matched)
		}
		dec, err := ev.Decide(&tc.d)
		if err != nil {
			t.Fatal(err)
		}
		if dec.Action != res.Action || dec.Index != res.Index || len(dec.Matched) > 1 {
			t.Errorf("%s: Decide gave %s by %d, matched %v", tc.name, dec.Action, dec.Index, dec.Matched)
		}
	}
}

func TestEvaluateVariables(t *testing.T) {
	p := mustParse(t, `
[[rule]]
name = "all"
when = '''
risk == 1 && ato == 2 && bot == 3 && abuse == 4 && "s" in signals && type == "$login"
&& status == "$failed" && user == "u" && email == "A@Example.com" && email_domain == "example.com"
&& ip == "203.0.113.9" && ip24 == "203.0.113.0/24" && country == "FR" && ua_family == "curl"
&& ua startsWith "curl/" && hour == 13 && action == "challenge"
'''
action = "deny"
`)
	d := decision.Decision{Risk: 1, AccountTakeover: 2, Bot: 3, AccountAbuse: 4, Signals: []string{"s"},
		Type: "$login", Status: "$failed", UserID: "u", Email: "A@Example.com", IP: "203.0.113.9",
		Country: "FR", UserAgent: "curl/8.5.0", EventTime: t0.Add(90 * 60e9), Action: decision.ActionChallenge}
	res, err := p.NewEvaluator(nil).Evaluate(&d)
	if err != nil || res.Action != decision.ActionDeny || len(res.Failed) > 0 {
		t.Errorf("got %+v, %v: some variable does not read what it should", res, err)
	}
}

func TestEvaluateRuntimeErrorIsNoMatch(t *testing.T) {
	p := mustParse(t, `
[[rule]]
name = "third signal"
when = 'signals[2] == "x"'
action = "deny"
[[rule]]
name = "any"
when = "true"
action = "challenge"
`)
	res, err := p.NewEvaluator(nil).Evaluate(&decision.Decision{Signals: []string{"a"}, Action: "allow"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rule != "any" || len(res.Failed) != 1 || res.Failed[0].Rule != "third signal" ||
		!strings.Contains(res.Failed[0].Error(), "index out of range") {
		t.Errorf("got %+v", res)
	}
}

type failingVelocity struct{}

func (failingVelocity) Answer(Query, *decision.Decision) (int, error) {
	return 0, errors.New("store closed")
}

func TestEvaluateVelocityError(t *testing.T) {
	p := mustParse(t, `
[[rule]]
name = "busy"
when = 'count("user", "1h") > 3'
action = "deny"
`)
	_, err := p.NewEvaluator(failingVelocity{}).Evaluate(&decision.Decision{UserID: "u", Action: "allow"})
	if err == nil || !strings.Contains(err.Error(), "store closed") || !strings.Contains(err.Error(), `count("user", "1h")`) {
		t.Errorf("got %v", err)
	}
	if _, err := p.NewEvaluator(nil).Evaluate(&decision.Decision{UserID: "u", Action: "allow"}); err == nil {
		t.Error("no error without a velocity source")
	}
}

// TestEvaluateAsksEachQueryOnce checks that rules sharing a query share
// its answer.
func TestEvaluateAsksEachQueryOnce(t *testing.T) {
	p := mustParse(t, `
[[rule]]
name = "a"
when = 'count("ip", "10m") > 5'
action = "deny"
[[rule]]
name = "b"
when = 'count("ip", "10m") > 2 && count("ip", "10m") < 100'
action = "challenge"
`)
	v := &countingVelocity{}
	ev := p.NewEvaluator(v)
	for range 3 {
		if _, err := ev.Evaluate(&decision.Decision{IP: "1.2.3.4", Action: "allow"}); err != nil {
			t.Fatal(err)
		}
	}
	if v.n != 3 {
		t.Errorf("%d questions for 3 decisions", v.n)
	}
}

type countingVelocity struct{ n int }

func (c *countingVelocity) Answer(Query, *decision.Decision) (int, error) {
	c.n++
	return 3, nil
}

func TestRead(t *testing.T) {
	p := mustParse(t, `
[lists]
vip = ["c"]
[[rule]]
name = "stuffing"
when = '''
status == "$failed" && distinct("ip", "user", "10m") >= 2 && risk > 10
  && in_list("vip", user) && in_cidr(ip, "1.1.0.0/16") && !in_list("vip", lower(email))
'''
action = "deny"
`)
	w := NewWindow(p.Queries()...)
	add(t, w, at(0, "a", "1.1.1.1"), at(1, "b", "1.1.1.1"))
	d := at(2, "c", "1.1.1.1")
	d.Status, d.Risk, d.Action = "$failed", 42, decision.ActionAllow
	ev := p.NewEvaluator(w)
	if _, err := ev.Evaluate(d); err != nil {
		t.Fatal(err)
	}
	got, err := ev.Read(0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"status": "$failed", `distinct("ip", "user", "10m")`: 2, "risk": 42.0,
		"user": "c", `in_list("vip", user)`: true, "ip": "1.1.1.1", `in_cidr(ip, "1.1.0.0/16")`: true, "email": "c@example.com"}
	if mustJSON(t, got) != mustJSON(t, want) {
		t.Errorf("read %v, want %v", got, want)
	}
}

// TestLongStringsAreCut checks conditions see at most MaxStringLen bytes
// of a string, which bounds matches and the string functions.
func TestLongStringsAreCut(t *testing.T) {
	p := mustParse(t, `
[[rule]]
name = "long"
when = 'len(ua) == 1024 && ua matches "^(a|aa)+$"'
action = "deny"
`)
	d := decision.Decision{UserAgent: strings.Repeat("a", 1<<20), Action: "allow"}
	res, err := p.NewEvaluator(nil).Evaluate(&d)
	if err != nil || res.Action != decision.ActionDeny {
		t.Errorf("got %+v, %v", res, err)
	}
}

// TestEvaluatorsShareAPolicy runs evaluators of one policy on several
// goroutines (the race detector checks the policy is only read).
func TestEvaluatorsShareAPolicy(t *testing.T) {
	p := mustParse(t, tenRules)
	ds := newSynth(8).decisions(2000)
	want, err := Replay(p, stream(ds), Options{})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got, err := Replay(p, stream(ds), Options{})
			if err == nil && (got.Matrix != want.Matrix || !slices.Equal(got.Rules, want.Rules)) {
				err = errors.New("replays on different goroutines disagree")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
