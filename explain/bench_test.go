package explain

import (
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// benchDay is the shape of SPEC section 16's explain target: 1M decisions
// over 24 hours (about 700 a minute, from 60k addresses over 1000 /24s),
// a 10-minute window with a planted spike, and the 24 hours before it as
// the baseline, counted exactly (every address listed: the largest input)
// and as 24 hourly rollups keeping the top 1000 values per dimension.
type benchDay struct {
	window         []decision.Decision
	exact, rollups Counts
	hours          []Counts // the rollups, hour by hour
	week           Counts   // the same 10 minutes on each of the 7 days before
}

func newBenchDay() *benchDay {
	g := newGen(42)
	g.nets = 1000
	const perMinute = 1_000_000 / (24 * 60)
	day := &benchDay{window: append(g.traffic(t0.Add(-10*time.Minute), 10*time.Minute, 10*perMinute),
		g.spike(t0.Add(-10*time.Minute), 10*time.Minute, 500)...)}
	for h := range 24 {
		var hour Counts
		for range 60 * perMinute {
			d := g.normal(t0.Add(-time.Duration(h+1) * time.Hour))
			hour.Add(&d)
		}
		day.exact.Merge(&hour)
		hour.Truncate(1000)
		day.rollups.Merge(&hour)
		day.hours = append(day.hours, hour)
	}
	for range 7 * 10 * perMinute {
		d := g.normal(t0)
		day.week.Add(&d)
	}
	return day
}

// explain is the analysis alone, on counts already read: test, then
// explain with the window's pair counts (counted once, outside the
// benchmark, for the candidates this input always yields) and none for the
// baseline (rollups keep no pairs; they are bounded).
func explain(b *testing.B, window, baseline *Side, pairs PairCounts) Result {
	an, err := Prepare(Input{Window: *window, Baseline: *baseline}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return an.Explain(pairs, PairCounts{})
}

func BenchmarkExplain(b *testing.B) {
	day := newBenchDay()
	window := Side{Period: winPeriod, Counts: Count(day.window)}
	for _, c := range []struct {
		name     string
		baseline Counts
		width    time.Duration
	}{
		{"24h-exact", day.exact, 24 * time.Hour},
		{"24h-rollups", day.rollups, 24 * time.Hour},
		{"7d-same-time", day.week, 70 * time.Minute},
	} {
		baseline := Side{Period: Period{From: t0.Add(-24 * time.Hour), To: winPeriod.From, Width: c.width}, Counts: c.baseline}
		an, err := Prepare(Input{Window: window, Baseline: baseline}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		pairs := CountPairs(day.window, an.Candidates())
		b.Run(c.name, func(b *testing.B) {
			var r Result
			for b.Loop() {
				r = explain(b, &window, &baseline, pairs)
			}
			if len(r.Drivers) == 0 || len(r.Drivers[0].With) != 1 {
				b.Fatalf("top driver %v, want the spike's pair", r.Drivers)
			}
			b.ReportMetric(float64(r.Tests), "tests")
		})
	}
	// What the integration adds for a short window held in memory: counting
	// it, and counting the candidates' pairs in it.
	b.Run("count-window", func(b *testing.B) {
		for b.Loop() {
			Count(day.window)
		}
	})
	b.Run("count-window-pairs", func(b *testing.B) {
		an, err := Prepare(Input{Window: window, Baseline: Side{Period: basePeriod, Counts: day.rollups}}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		cands := an.Candidates()
		for b.Loop() {
			CountPairs(day.window, cands)
		}
	})
	b.Run("merge-24-hourly-rollups", func(b *testing.B) {
		for b.Loop() {
			var sum Counts
			for i := range day.hours {
				sum.Merge(&day.hours[i])
			}
		}
	})
}
