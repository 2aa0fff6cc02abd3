package collector

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
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
