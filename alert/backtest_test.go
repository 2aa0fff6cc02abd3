package alert

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// traffic generates six hours of decisions from t0 with a planted deny
// spike (minutes 120-129), a flapping deny burst (every other minute of
// 150-170), a shift of the allows' risk up (200-219) and a login outage
// (250-264). Each arrives up to 5 s after its event time.
func traffic() *decisions {
	rng := rand.New(rand.NewPCG(7, 13))
	var ds []decision.Decision
	var arrival []time.Time
	add := func(m int, typ string, action decision.Action, risk float64) {
		at := minute(m).Add(time.Duration(rng.Int64N(int64(time.Minute))))
		ds = append(ds, decision.Decision{
			EventTime: at, Type: typ, Status: "$succeeded", Action: action, Risk: risk,
			UserID: "u1", IP: "10.0.0.1",
		})
		arrival = append(arrival, at.Add(time.Duration(rng.Int64N(int64(maxLag)))))
	}
	for m := 0; m < 360; m++ {
		for range 40 {
			typ := "$login"
			if rng.IntN(10) < 4 || (m >= 250 && m < 265) {
				typ = "$transaction"
			}
			risk := float64(rng.IntN(40))
			if m >= 200 && m < 220 {
				risk = float64(50 + rng.IntN(30))
			}
			switch n := rng.IntN(20); {
			case n == 0:
				add(m, typ, decision.ActionDeny, float64(70+rng.IntN(31)))
			case n < 3:
				add(m, typ, decision.ActionChallenge, float64(50+rng.IntN(20)))
			default:
				add(m, typ, decision.ActionAllow, risk)
			}
		}
		burst := 0
		switch {
		case m >= 120 && m < 130:
			burst = 150
		case m >= 150 && m < 171 && m%2 == 0:
			burst = 90
		}
		for range burst {
			add(m, "$login", decision.ActionDeny, float64(85+rng.IntN(16)))
		}
	}
	return newDecisions(ds, arrival)
}

const trafficRules = `
[[alert]]
name = "deny spike"
filter = "action:deny"
kind = "rate"
above = 60
for = "1m"

[[alert]]
name = "deny share"
filter = "action:deny"
kind = "share"
window = "2m"
above = 0.3

[[alert]]
name = "deny x3"
filter = "action:deny"
kind = "rate"
window = "5m"
factor = 3
baseline = "1h"
min_events = 50

[[alert]]
name = "risk shift"
filter = "action:allow"
kind = "shift"
score = "risk"
baseline = "1h"
above = 0.25
min_events = 200

[[alert]]
name = "logins halved"
filter = "type:$login"
kind = "rate"
window = "5m"
factor = 0.5
baseline = "1h"
cooldown = "0s"
`

// firingsOf pairs each rule's firing and resolved events, as Backtest
// reports them; a firing still open keeps the peak of the final state.
func firingsOf(events []Event, states map[string]State) map[string][]Firing {
	out := map[string][]Firing{}
	for _, ev := range events {
		fs := out[ev.Alert]
		if ev.State == StateFiring {
			out[ev.Alert] = append(fs, Firing{From: ev.At, Peak: ev.Peak})
			continue
		}
		at := ev.At
		fs[len(fs)-1].To, fs[len(fs)-1].Peak = &at, ev.Peak
	}
	for name, st := range states {
		if fs := out[name]; st.Phase == PhaseFiring {
			fs[len(fs)-1].Peak = st.Peak
		}
	}
	return out
}

// Live evaluation every 10 s over traffic as it arrives (each tick sees
// only the decisions that had arrived) fires and resolves exactly when a
// backtest over the same decisions (a fresh copy: no aggregate is shared)
// does, with the same peaks; and every rule fires at least once, so the
// agreement says something.
func TestLiveEvaluationAgreesWithBacktest(t *testing.T) {
	src := traffic()
	rules := mustRules(t, trafficRules)
	ev, err := NewEvaluator(src, rules, nil, EvalOptions{Settle: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start, stop := minute(70), minute(359)
	var live []Event
	for now := start; !now.After(stop); now = now.Add(10 * time.Second) {
		src.now = now
		got, err := ev.Evaluate(t.Context(), now)
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, got...)
	}
	rep, err := Backtest(t.Context(), traffic(), rules, start.Add(-10*time.Second), stop.Add(-10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	fromLive := firingsOf(live, ev.States())
	for _, a := range rep.Alerts {
		if len(a.Firings) == 0 {
			t.Errorf("%s never fired in the backtest", a.Name)
		}
		if !reflect.DeepEqual(a.Firings, fromLive[a.Name]) {
			t.Errorf("%s: backtest %s\nlive %s", a.Name, jsonOf(t, a.Firings), jsonOf(t, fromLive[a.Name]))
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The backtest report has SPEC section 13's shape.
func TestBacktestJSON(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "deny spike"
filter = "action:deny"
kind = "rate"
above = 100`)
	src := &series{matched: set(set(flat(60, 0), 10, 12, 150), 50, 60, 300)}
	rep, err := Backtest(t.Context(), src, []Rule{r}, minute(1).Add(-time.Second), minute(59).Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"alerts":[{"name":"deny spike","firings":[` +
		`{"from":"2026-11-02T00:11:00Z","to":"2026-11-02T00:14:00Z","peak":150},` +
		`{"from":"2026-11-02T00:51:00Z","to":null,"peak":300}],"evaluated":59,"thin":0}]}`
	if got := jsonOf(t, rep); got != want {
		t.Errorf("report\n%s\nwant\n%s", got, want)
	}
}

// An evaluator restarted from its stored states (JSON) in the middle of a
// series produces the same events as one that ran throughout.
func TestEvaluatorResumesFromStoredStates(t *testing.T) {
	src := &series{matched: set(flat(120, 10), 30, 50, 200)}
	rules := mustRules(t, `[[alert]]
name = "deny spike"
filter = "action:deny"
kind = "rate"
above = 100
for = "2m"`)
	run := func(e *Evaluator, from, to int) []Event {
		var out []Event
		for now := minute(from); now.Before(minute(to)); now = now.Add(10 * time.Second) {
			evs, err := e.Evaluate(t.Context(), now)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, evs...)
		}
		return out
	}
	whole, _ := NewEvaluator(src, rules, nil, EvalOptions{})
	want := run(whole, 10, 100)

	first, _ := NewEvaluator(src, rules, nil, EvalOptions{})
	got := run(first, 10, 40)
	var saved map[string]State
	if err := json.Unmarshal([]byte(jsonOf(t, first.States())), &saved); err != nil {
		t.Fatal(err)
	}
	second, err := NewEvaluator(src, rules, saved, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, run(second, 40, 100)...)
	if len(want) != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("resumed %s\nwhole %s", jsonOf(t, got), jsonOf(t, want))
	}
}

// After a gap longer than MaxCatchUp an evaluator evaluates only the last
// MaxCatchUp of minute ends.
func TestEvaluatorCatchUpIsBounded(t *testing.T) {
	src := &series{matched: flat(300, 10)}
	rules := mustRules(t, "[[alert]]\nname = \"r\"\nfilter = \"action:deny\"\nkind = \"rate\"\nabove = 100")
	e, _ := NewEvaluator(src, rules, map[string]State{"r": {Phase: PhaseOK, LastEval: minute(10)}},
		EvalOptions{Settle: time.Second, MaxCatchUp: 15 * time.Minute})
	if _, err := e.Evaluate(t.Context(), minute(200).Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := len(src.asked); n != 15 || src.asked[0].To != minute(186) || src.asked[14].To != minute(200) {
		t.Errorf("asked %d windows, %v ... want the 15 ending 186..200", n, src.asked)
	}
	if got := e.States()["r"].LastEval; !got.Equal(minute(200)) {
		t.Errorf("last evaluated %v", got)
	}
}

// failing is a Source that fails while fail is set.
type failing struct {
	Source
	fail bool
}

var errDown = errors.New("store unavailable")

func (f *failing) Count(ctx context.Context, flt *decision.Filter, from, to time.Time) (uint64, error) {
	if f.fail {
		return 0, errDown
	}
	return f.Source.Count(ctx, flt, from, to)
}

// A Source error is returned and the failed minute is evaluated again on
// the next call, so nothing is skipped.
func TestEvaluatorRetriesAfterASourceError(t *testing.T) {
	src := &failing{Source: &series{matched: set(flat(60, 10), 20, 25, 200)}}
	rules := mustRules(t, "[[alert]]\nname = \"r\"\nfilter = \"action:deny\"\nkind = \"rate\"\nabove = 100")
	e, _ := NewEvaluator(src, rules, nil, EvalOptions{Settle: time.Second})
	if _, err := e.Evaluate(t.Context(), minute(19).Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	src.fail = true
	if _, err := e.Evaluate(t.Context(), minute(21).Add(2*time.Second)); !errors.Is(err, errDown) {
		t.Fatalf("error %v, want the source's", err)
	}
	src.fail = false
	evs, err := e.Evaluate(t.Context(), minute(23).Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || !evs[0].At.Equal(minute(21)) {
		t.Errorf("events %s, want the firing at minute 21", jsonOf(t, evs))
	}
}
