package collector_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/alert"
	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/collector/collectortest"
	"github.com/riskwatch/riskwatch/store"
)

// benchRules are ten rules of every kind over the benchmark store, with
// filters the rollups answer (none) and filters each minute's decisions
// are walked for.
const benchRules = `
[[alert]]
name = "denies"
filter = "action:deny"
kind = "rate"
above = 2000
[[alert]]
name = "deny surge"
filter = "action:deny"
kind = "rate"
factor = 3
baseline = "1h"
for = "2m"
[[alert]]
name = "failed logins"
filter = "type:$login status:$failed"
kind = "share"
factor = 2
baseline = "1h"
[[alert]]
name = "curl"
filter = "ua:curl"
kind = "rate"
above = 500
[[alert]]
name = "risk shift"
kind = "shift"
score = "risk"
above = 0.2
baseline = "1h"
[[alert]]
name = "allow risk shift"
filter = "action:allow"
kind = "shift"
score = "bot"
above = 0.2
baseline = "1h"
[[alert]]
name = "german share"
filter = "country:DE"
kind = "share"
above = 0.5
window = "5m"
[[alert]]
name = "errors"
filter = "action:error"
kind = "rate"
above = 100
window = "5m"
[[alert]]
name = "proxies"
filter = "signal:proxy_ip"
kind = "rate"
factor = 2
baseline = "1h"
[[alert]]
name = "volume drop"
kind = "rate"
factor = 0.3
baseline = "1h"
`

// watched is the source the collector builds for rules.
func watched(db *store.DB, now func() time.Time, rules []alert.Rule) *collector.AlertSource {
	src := collector.NewAlertSource(db, now, alert.DefaultSettle)
	src.Watch(rules)
	return src
}

// spread logs the fastest, median and slowest of ds.
func spread(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.Logf("%d runs: min %s, median %s, max %s", len(ds), ds[0], ds[len(ds)/2], ds[len(ds)-1])
}

// BenchmarkAlerts times, over the 1M-decision benchmark store (about 28
// hours):
//
//   - step: one live evaluation step of ten rules (one new minute each,
//     earlier minutes cached as in the collector);
//   - cold step: the same on a fresh source (the first step after a
//     start reads each window and baseline whole);
//   - backtest 24h: the ten rules replayed over 24 hours, from nothing.
//
// Run with:
//
//	go test ./collector/ -run '^$' -bench Alerts -benchtime 20x
func BenchmarkAlerts(b *testing.B) {
	db, end := collectortest.BigStore(b)
	rules, err := alert.ParseFile("bench", []byte(benchRules))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	start := end.Add(-24 * time.Hour).Truncate(time.Minute)
	b.Run("step", func(b *testing.B) {
		var now time.Time
		clock := func() time.Time { return now }
		now = start.Add(10 * time.Second)
		ev, err := alert.NewEvaluator(watched(db, clock, rules), rules, nil, alert.EvalOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ev.Evaluate(ctx, now); err != nil {
			b.Fatal(err)
		}
		var ds []time.Duration
		defer func() { spread(b, ds) }()
		b.ResetTimer()
		for i := range b.N {
			t0 := time.Now()
			// Walk forward through the store, one minute a step, and
			// back to the start after 20 hours.
			now = start.Add(time.Duration(1+i%1200)*time.Minute + 10*time.Second)
			if i%1200 == 0 && i > 0 {
				b.StopTimer()
				ev, err = alert.NewEvaluator(watched(db, clock, rules), rules, nil, alert.EvalOptions{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			if _, err := ev.Evaluate(ctx, now); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t0))
		}
	})
	b.Run("cold step", func(b *testing.B) {
		at := start.Add(12*time.Hour + 10*time.Second)
		var ds []time.Duration
		defer func() { spread(b, ds) }()
		for range b.N {
			t0 := time.Now()
			ev, err := alert.NewEvaluator(watched(db, func() time.Time { return at }, rules), rules, nil, alert.EvalOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ev.Evaluate(ctx, at); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t0))
		}
	})
	b.Run("backtest 24h", func(b *testing.B) {
		var ds []time.Duration
		defer func() { spread(b, ds) }()
		for range b.N {
			t0 := time.Now()
			rep, err := alert.Backtest(ctx, watched(db, func() time.Time { return end }, rules), rules, start, end)
			if err != nil {
				b.Fatal(err)
			}
			if rep.Alerts[0].Evaluated < 24*60 {
				b.Fatalf("evaluated %d minutes", rep.Alerts[0].Evaluated)
			}
			ds = append(ds, time.Since(t0))
		}
	})
}
