package collector

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/alert"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// alertBase is the first minute of the planted traffic.
var alertBase = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// plantMinutes stores, for each minute m of [0, minutes), allow(m) allows
// and deny(m) denies with event times spread over that minute after
// alertBase; a deny of the spike comes from 203.0.113.x, everything else
// from 10.0.x.y. It returns how many it stored.
func plantMinutes(t testing.TB, db *store.DB, minutes int, allow, deny func(m int) int) int {
	t.Helper()
	var rs []store.Result
	n := 0
	for m := range minutes {
		a, d := allow(m), deny(m)
		for i := range a + d {
			at := alertBase.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Minute/time.Duration(a+d))
			dec := decision.Decision{
				EventID: fmt.Sprintf("p-%d-%d", m, i), EventTime: at, ReceivedAt: at.Add(time.Second),
				Type: "$login", Status: "$succeeded", UserID: fmt.Sprintf("u%d", i%50),
				IP: fmt.Sprintf("10.0.%d.%d", i%7, i%50), Country: "US", Policy: "default", HTTPStatus: 200,
				Action: decision.ActionAllow, Risk: float64(i % 60),
			}
			if i >= a {
				dec.Action, dec.Risk = decision.ActionDeny, 95
				if d > 20 {
					dec.IP = fmt.Sprintf("203.0.113.%d", i%200)
				}
			}
			rs = append(rs, store.Result{Decision: dec})
			n++
		}
	}
	if _, err := db.Complete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	return n
}

// spikeRules are the rules of the planted spike: a rate with a fixed band,
// a share with a baseline factor and a shift of the risk distribution.
const spikeRules = `
[[alert]]
name = "deny spike"
filter = "action:deny"
kind = "rate"
above = 30
for = "2m"
cooldown = "5m"

[[alert]]
name = "deny share"
filter = "action:deny"
kind = "share"
factor = 3
baseline = "30m"
min_events = 20
for = "1m"

[[alert]]
name = "risk shift"
kind = "shift"
score = "risk"
above = 0.25
window = "5m"
baseline = "30m"
min_events = 100
`

func parseRules(t testing.TB, text string) []alert.Rule {
	t.Helper()
	rules, err := alert.ParseFile("test", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// spikeStore plants 60 minutes: 40 allows and 5 denies a minute, and 80
// denies a minute in minutes 40 to 45.
func spikeStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "alerts.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	plantMinutes(t, db, 60, func(int) int { return 40 }, func(m int) int {
		if m >= 40 && m < 46 {
			return 80
		}
		return 5
	})
	return db
}

// TestAlertSpikeFiresAndResolves: on a real store, the planted spike makes
// each kind of rule fire and resolve at the minute its rules say.
func TestAlertSpikeFiresAndResolves(t *testing.T) {
	db := spikeStore(t)
	for _, watch := range []bool{false, true} {
		t.Run(fmt.Sprintf("watch=%v", watch), func(t *testing.T) { spikeFiresAndResolves(t, db, watch) })
	}
}

// spikeFiresAndResolves backtests the spike rules, with the rules' filters
// walked together (watch) or one by one.
func spikeFiresAndResolves(t *testing.T, db *store.DB, watch bool) {
	rules := parseRules(t, spikeRules+`
[[alert]]
name = "spike addresses"
filter = "ip:203.0.113.0/24"
kind = "rate"
above = 30
[[alert]]
name = "spike address risk"
filter = "ip:203.0.113.0/24"
kind = "shift"
score = "risk"
above = 0.25
window = "5m"
baseline = "30m"
min_events = 100
`)
	src := NewAlertSource(db, func() time.Time { return alertBase.Add(2 * time.Hour) }, 0)
	if watch {
		src.Watch(rules)
	}
	rep, err := alert.Backtest(context.Background(), src, rules, alertBase, alertBase.Add(60*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	at := func(m int) time.Time { return alertBase.Add(time.Duration(m) * time.Minute) }
	want := map[string]struct {
		from, to time.Time
		n        int
	}{
		// The spike's first window ends at 41; held at 41, 42, 43 (for 2m):
		// fires at 43. False from 47, for 2m: resolves at 49.
		"deny spike": {at(43), at(49), 1},
		// Held at 41 and 42: fires at 42. The baseline takes in the spike:
		// at 44 it is (27×5+3×80)/(27×45+3×120) = 0.238 and three times it
		// is above the window's 80/120, false at 44 and 45: resolves at 45.
		"deny share": {at(42), at(45), 1},
		// The 5-minute window holds spike minutes from 41 to 50; the PSI
		// crosses 0.25 with the first spike minute: fires at 41, resolves
		// at 50. Later the baseline holds the spike and the quiet window
		// differs from it: a second firing.
		"risk shift": {at(41), at(50), 2},
		// 80 a minute from the spike's addresses in minutes 40 to 45;
		// false at 47 and 48: resolves at 48.
		"spike addresses": {at(41), at(48), 1},
		// The addresses have no baseline: a shift of nothing is thin.
		"spike address risk": {},
	}
	for _, ar := range rep.Alerts {
		w := want[ar.Name]
		if w.n == 0 && len(ar.Firings) == 0 {
			continue
		}
		if len(ar.Firings) != w.n {
			t.Errorf("%s: %d firings, want %d: %+v", ar.Name, len(ar.Firings), w.n, ar.Firings)
			continue
		}
		f := ar.Firings[0]
		if !f.From.Equal(w.from) {
			t.Errorf("%s fired at %s, want %s", ar.Name, f.From.Format("15:04"), w.from.Format("15:04"))
		}
		if f.To == nil || !f.To.Equal(w.to) {
			t.Errorf("%s resolved at %v, want %s", ar.Name, f.To, w.to.Format("15:04"))
		}
	}
}

// TestAlertSourceCacheAgreesWithStore: answers read through the cache, in
// any order and overlap, equal the store's own.
func TestAlertSourceCacheAgreesWithStore(t *testing.T) {
	db := spikeStore(t)
	ctx := context.Background()
	src := NewAlertSource(db, func() time.Time { return alertBase.Add(50 * time.Minute) }, 10*time.Second)
	deny, err := decision.ParseFilter("action:deny", alertBase)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range [][2]int{{0, 60}, {30, 45}, {40, 41}, {35, 60}, {0, 10}, {-5, 5}} {
		from, to := alertBase.Add(time.Duration(w[0])*time.Minute), alertBase.Add(time.Duration(w[1])*time.Minute)
		for _, f := range []*decision.Filter{nil, deny} {
			got, err := src.Count(ctx, f, from, to)
			if err != nil {
				t.Fatal(err)
			}
			tot, err := db.Totals(ctx, from, to, f)
			if err != nil {
				t.Fatal(err)
			}
			if got != tot.Decisions {
				t.Errorf("Count(%q, %v) = %d, store says %d", f.String(), w, got, tot.Decisions)
			}
			h, err := src.Histogram(ctx, f, decision.ScoreRisk, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if h.Total != tot.Decisions {
				t.Errorf("Histogram(%q, %v) holds %d, store says %d", f.String(), w, h.Total, tot.Decisions)
			}
		}
	}
}
