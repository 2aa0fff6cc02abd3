package collector

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/explain"
	"github.com/riskwatch/riskwatch/store"
)

// SPEC section 16's explain target on a store of 1M decisions over the 24
// hours before exT0 (about 700 a minute, with a spike from one /24 in the
// last ten minutes), plus the same ten minutes on each of the seven days
// before:
//
//	go test ./collector/ -run '^$' -bench Explain -benchtime 3x
//
// Building the store takes a minute or two.
func BenchmarkExplain(b *testing.B) {
	start := time.Now()
	r := buildExplainStore(b)
	b.Logf("built in %s", time.Since(start).Round(time.Second))
	ctx := context.Background()
	for _, c := range []struct{ name, baseline string }{
		{"10m-vs-24h", "24h"},
		{"10m-vs-1h", "1h"},
		{"10m-vs-7d-same-time", "7d"},
	} {
		b.Run(c.name, func(b *testing.B) {
			var e api.Explanation
			for b.Loop() {
				var err error
				if e, err = r.Explain(ctx, api.ExplainQuery{Window: "10m", Baseline: c.baseline, Until: exUntil}); err != nil {
					b.Fatal(err)
				}
			}
			if len(e.Drivers) == 0 || !isSpike(&e.Drivers[0]) {
				b.Fatalf("drivers %+v, want the spike first", e.Drivers)
			}
			b.ReportMetric(float64(e.Baseline.Count), "baseline-decisions")
		})
	}
	// Label mode over the whole day: every decision's label looked up.
	// A thousand users are legit, thirty fraud, and the spike's /24 is
	// labelled fraud by IP (a user's label, when it has one, wins).
	var es []decision.LabelEntry
	label := func(kind decision.SubjectKind, subject string, c decision.LabelClass) {
		es = append(es, decision.LabelEntry{Kind: kind, Subject: subject, Class: c, Reason: "bench", Source: decision.SourceImport, Author: "b"})
	}
	for i := range 1000 {
		label(decision.SubjectUser, fmt.Sprintf("u%d", i), decision.LabelLegit)
	}
	for i := range 30 {
		label(decision.SubjectUser, fmt.Sprintf("u%d", 1000+i), decision.LabelFraud)
	}
	for i := range 254 {
		label(decision.SubjectIP, fmt.Sprintf("203.0.113.%d", 1+i), decision.LabelFraud)
	}
	if _, err := r.db.AppendLabels(ctx, es); err != nil {
		b.Fatal(err)
	}
	// Deny mode scans the same day without looking at labels: the
	// difference is the cost of the label lookups.
	for _, mode := range []explain.Mode{explain.ModeDeny, explain.ModeLabel} {
		b.Run(mode.String()+"-24h", func(b *testing.B) {
			var e api.Explanation
			for b.Loop() {
				var err error
				if e, err = r.Explain(ctx, api.ExplainQuery{Window: "24h", Until: exUntil, Mode: mode}); err != nil {
					b.Fatal(err)
				}
			}
			if mode == explain.ModeLabel && (len(e.Drivers) == 0 || !isSpike(&e.Drivers[0])) {
				b.Fatalf("drivers %+v, want the spike first", e.Drivers)
			}
			b.ReportMetric(float64(e.Window.Count+e.Baseline.Count), "decisions-compared")
		})
	}
}

func buildExplainStore(b *testing.B) *Reader {
	db, err := store.Open(filepath.Join(b.TempDir(), "explain.db"), store.Options{NoSync: true,
		Now: func() time.Time { return exT0 }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	g := newExGen(99)
	const perMinute = 1_000_000 / (24 * 60)
	put := func(ds []decision.Decision) {
		for i := range ds {
			ds[i].EventID = "b" + ds[i].EventID
		}
		storeAll(b, db, ds)
	}
	for m := range 24 * 60 {
		put(g.traffic(exT0.Add(-time.Duration(24*60-m)*time.Minute), time.Minute, perMinute))
	}
	put(g.spike(exT0.Add(-10*time.Minute), 10*time.Minute, 500))
	for k := 1; k <= 7; k++ {
		day := time.Duration(k) * 24 * time.Hour
		put(g.traffic(exT0.Add(-day-10*time.Minute), 10*time.Minute, 10*perMinute))
	}
	return NewStoreReader(db, func() time.Time { return exT0 })
}
