package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/riskwatch/riskwatch/alert"
	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/store"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// bellRules are spikeRules ringing the bell.
func bellRules(t testing.TB) []alert.Rule {
	rules := parseRules(t, spikeRules)
	for i := range rules {
		rules[i].Notify = []alert.Target{{Kind: alert.TargetBell}}
	}
	return rules
}

// startAlerter builds and starts an alerter over db, as a collector does,
// and closes its notifiers when the test ends.
func startAlerter(t testing.TB, db *store.DB, rules []alert.Rule, clock *testClock) *alerter {
	t.Helper()
	a, err := newAlerter(db, rules, AlertOptions{}, NewMetrics(nil), slog.New(slog.DiscardHandler), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.start(AlertOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.ns.Close(context.Background()) })
	return a
}

// stepMinutes steps a at 10 s past each minute end from first to last
// (minutes after alertBase), as the collector's ticker would.
func stepMinutes(a *alerter, clock *testClock, first, last int) {
	for m := first; m <= last; m++ {
		clock.set(alertBase.Add(time.Duration(m)*time.Minute + 10*time.Second))
		a.step(context.Background())
	}
}

// rung lists the bell's messages as "alert state HH:MM".
func rung(a *alerter) []string {
	var out []string
	for _, m := range a.ns.Bell().Since(0) {
		out = append(out, fmt.Sprintf("%s %s %s", m.Alert, m.State, m.At.Format("15:04")))
	}
	return out
}

// TestAlertStateSurvivesRestart: an alert firing when the collector stops
// is still firing after it starts again, is not announced again, and
// resolves on time; the store's history holds each transition once.
func TestAlertStateSurvivesRestart(t *testing.T) {
	db := spikeStore(t)
	clock := &testClock{}
	a := startAlerter(t, db, bellRules(t), clock)
	stepMinutes(a, clock, 30, 44)
	before := strings.Join(rung(a), ", ")
	if want := "risk shift firing 10:41, deny share firing 10:42, deny spike firing 10:43"; before != want {
		t.Fatalf("before the restart: %s, want %s", before, want)
	}

	b := startAlerter(t, db, bellRules(t), clock)
	got, err := b.alerts(context.Background(), api.AlertsQuery{History: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got.Alerts {
		if s.Phase != api.AlertFiring {
			t.Errorf("%s restored as %q, want firing", s.Name, s.Phase)
		}
	}
	if gauge := b.metrics.AlertFiring.WithLabelValues("deny spike"); testutil.ToFloat64(gauge) != 1 {
		t.Error("the firing gauge is not restored")
	}
	stepMinutes(b, clock, 44, 52)
	after := strings.Join(rung(b), ", ")
	if want := "deny share resolved 10:45, deny spike resolved 10:49, risk shift resolved 10:50"; after != want {
		t.Errorf("after the restart: %s, want %s", after, want)
	}
	got, err = b.alerts(context.Background(), api.AlertsQuery{History: 10})
	if err != nil {
		t.Fatal(err)
	}
	var hist []string
	for _, e := range got.History {
		hist = append(hist, e.Alert+" "+e.State)
		if e.State == api.AlertFiring && len(e.Drivers) == 0 {
			t.Errorf("%s fired without drivers", e.Alert)
		}
	}
	if len(hist) != 6 {
		t.Errorf("history %v, want three firings and three resolutions", hist)
	}
}

// TestBacktestAgreesWithLive: live evaluation stepping once a minute and
// a backtest over the same store fire and resolve at the same minutes
// with the same peaks.
func TestBacktestAgreesWithLive(t *testing.T) {
	db := spikeStore(t)
	clock := &testClock{}
	rules := bellRules(t)
	a := startAlerter(t, db, rules, clock)
	stepMinutes(a, clock, 30, 60)
	got, err := a.alerts(context.Background(), api.AlertsQuery{History: 100})
	if err != nil {
		t.Fatal(err)
	}
	live := map[string][]string{}
	for i := len(got.History) - 1; i >= 0; i-- {
		e := got.History[i]
		live[e.Alert] = append(live[e.Alert], fmt.Sprintf("%s %s %.6g", e.State, e.At.Format("15:04"), e.Peak))
	}
	rep, err := alert.Backtest(context.Background(), NewAlertSource(db, nil, 0), rules, alertBase.Add(30*time.Minute), alertBase.Add(60*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, ar := range rep.Alerts {
		var bt []string
		for _, f := range ar.Firings {
			bt = append(bt, fmt.Sprintf("firing %s", f.From.Format("15:04")))
			if f.To != nil {
				bt = append(bt, fmt.Sprintf("resolved %s %.6g", f.To.Format("15:04"), f.Peak))
			}
		}
		var lv []string
		for _, s := range live[ar.Name] {
			if strings.HasPrefix(s, "firing") {
				s = s[:len("firing 15:04")]
			}
			lv = append(lv, s)
		}
		if strings.Join(bt, ", ") != strings.Join(lv, ", ") {
			t.Errorf("%s: backtest %v, live %v", ar.Name, bt, lv)
		}
		if len(bt) == 0 {
			t.Errorf("%s never fired", ar.Name)
		}
	}
}

// TestBacktestRefusesBadQueries: rules that are too long or do not parse,
// no rules at all and a window that is empty or too long are invalid.
func TestBacktestRefusesBadQueries(t *testing.T) {
	db := spikeStore(t)
	r := NewStoreReader(db, func() time.Time { return alertBase.Add(2 * time.Hour) })
	ctx := context.Background()
	from := alertBase
	for _, q := range []api.BacktestQuery{
		{From: from},
		{From: from, Rules: strings.Repeat("#", api.MaxBacktestRules+1)},
		{From: from, Rules: "[[alert]]\nname = 1\n"},
		{From: from, Rules: "[[alert"},
		{From: alertBase.Add(3 * time.Hour), Rules: spikeRules},
		{From: alertBase.Add(-40 * 24 * time.Hour), Rules: spikeRules},
	} {
		if _, err := r.Backtest(ctx, q); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("rules %.20q from %s: %v, want invalid", q.Rules, q.From, err)
		}
	}
	got, err := r.Backtest(ctx, api.BacktestQuery{From: from, Rules: spikeRules})
	if err != nil || len(got.Alerts) != 3 || len(got.Alerts[0].Firings) != 1 {
		t.Errorf("backtest %+v, %v", got, err)
	}
}

// TestUnreadableStateStartsAfresh: a stored state that does not decode
// starts its rule afresh, and a stored history entry that does not decode
// is left out and noted, not served as a zero transition.
func TestUnreadableStateStartsAfresh(t *testing.T) {
	db := spikeStore(t)
	ctx := context.Background()
	if err := db.SaveAlerts(ctx, map[string][]byte{"deny spike": []byte("{not json")}, [][]byte{[]byte("\x00")}); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	a := startAlerter(t, db, bellRules(t), clock)
	stepMinutes(a, clock, 40, 43)
	if got := strings.Join(rung(a), ", "); !strings.Contains(got, "deny spike firing 10:43") {
		t.Errorf("rang %s", got)
	}
	got, err := a.alerts(ctx, api.AlertsQuery{History: 10})
	if err != nil || got.Error != "1 stored alert transitions unreadable, left out" {
		t.Errorf("alerts error %q, %v", got.Error, err)
	}
	for _, e := range got.History {
		if e.Alert == "" {
			t.Errorf("served an empty transition: %+v", e)
		}
	}
}
