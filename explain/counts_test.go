package explain

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// split cuts ds into k parts at random points (some may be empty).
func split(r *rand.Rand, ds []decision.Decision, k int) [][]decision.Decision {
	cuts := []int{0, len(ds)}
	for range k - 1 {
		cuts = append(cuts, r.IntN(len(ds)+1))
	}
	slices.Sort(cuts)
	parts := make([][]decision.Decision, k)
	for i := range parts {
		parts[i] = ds[cuts[i]:cuts[i+1]]
	}
	return parts
}

// Counting parts apart (collectors, rollup periods) and merging gives
// exactly the counts of the whole.
func TestCountsMergeEqualsCountingAll(t *testing.T) {
	g := newGen(1)
	ds := slices.Concat(g.traffic(t0, time.Hour, 3000), g.spike(t0, time.Hour, 100))
	want := Count(ds)
	for _, k := range []int{1, 2, 7} {
		var got Counts
		for _, part := range split(g.r, ds, k) {
			c := Count(part)
			got.Merge(&c)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d parts merged differ from counting all at once", k)
		}
	}
	var added Counts
	for i := range ds {
		added.Add(&ds[i])
	}
	if !reflect.DeepEqual(added, want) {
		t.Error("Add one by one differs from Count")
	}
}

func TestCountsDecisionsOncePerValue(t *testing.T) {
	ds := []decision.Decision{
		{Type: "$login", IP: "::ffff:203.0.113.9", Signals: []string{"proxy_ip", "proxy_ip", "tor_ip"}, UserAgent: "curl/8.5.0"},
		{Type: "$login", IP: "not an address", Email: "a@Example.COM"},
	}
	c := Count(ds)
	check := func(dim decision.Dimension, want map[string]uint64) {
		t.Helper()
		if got := c.Dims[dim].Counts; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", dim, got, want)
		}
	}
	check(decision.DimSignal, map[string]uint64{"proxy_ip": 1, "tor_ip": 1})
	check(decision.DimType, map[string]uint64{"$login": 2})
	check(decision.DimIP, map[string]uint64{"203.0.113.9": 1})
	check(decision.DimIP24, map[string]uint64{"203.0.113.0/24": 1})
	check(decision.DimEmailDomain, map[string]uint64{"example.com": 1})
	check(decision.DimUAFamily, map[string]uint64{"curl": 1})
	check(decision.DimShadowRule, nil)
	if c.Total != 2 {
		t.Errorf("total %d", c.Total)
	}
}

// Rollups keep the top values of each period and an "other" remainder:
// after truncating periods and merging them, every value's true count
// lies within its bounds, and listed counts plus Rest still add up to all
// occurrences.
func TestTruncatedCountsBoundTheTruth(t *testing.T) {
	g := newGen(2)
	ds := g.traffic(t0, time.Hour, 4000)
	exact := Count(ds)
	for _, k := range []int{0, 1, 5, 50} {
		var merged Counts
		for _, part := range split(g.r, ds, 6) {
			c := Count(part)
			c.Truncate(k)
			merged.Merge(&c)
		}
		merged.Truncate(k + 3) // a coarser rollup of rollups
		if merged.Total != exact.Total {
			t.Fatalf("k=%d: total %d, want %d", k, merged.Total, exact.Total)
		}
		for dim := range decision.NumDimensions {
			tm, te := &merged.Dims[dim], &exact.Dims[dim]
			var listed, all uint64
			for v, n := range te.Counts {
				all += n
				listed += tm.Counts[v]
				if lo, hi := tm.Bounds(v); n < lo || n > hi {
					t.Errorf("k=%d %s=%s: true count %d outside [%d, %d]", k, dim, v, n, lo, hi)
				}
			}
			if listed+tm.Rest != all {
				t.Errorf("k=%d %s: listed %d + rest %d != %d occurrences", k, dim, listed, tm.Rest, all)
			}
			if tm.RestBound() > tm.Rest {
				t.Errorf("k=%d %s: bound %d above rest %d", k, dim, tm.RestBound(), tm.Rest)
			}
		}
	}
}

func TestRestBound(t *testing.T) {
	for _, c := range []struct{ rest, max, want uint64 }{
		{0, 0, 0}, {10, 0, 10}, {10, 3, 3}, {10, 10, 10}, {10, 99, 10},
	} {
		tl := Tally{Rest: c.rest, RestMax: c.max}
		if got := tl.RestBound(); got != c.want {
			t.Errorf("Rest %d RestMax %d: bound %d, want %d", c.rest, c.max, got, c.want)
		}
	}
}

func TestPairCountsMergeEqualsCountingAll(t *testing.T) {
	g := newGen(3)
	ds := slices.Concat(g.traffic(t0, time.Hour, 2000), g.spike(t0, time.Hour, 100))
	vals := []Value{
		{decision.DimUAFamily, "python-requests"}, {decision.DimIP24, "203.0.113.0/24"},
		{decision.DimSignal, "new_device"}, {decision.DimSignal, "proxy_ip"},
		{decision.DimType, "$login"}, {decision.DimType, "$login"}, // a duplicate is dropped
	}
	want := CountPairs(ds, vals)
	if len(want.Values) != 5 || len(want.N) != 10 {
		t.Fatalf("%d values, %d pairs; want 5 and 10", len(want.Values), len(want.N))
	}
	// Brute force, pair by pair.
	for i, x := range want.Values {
		for _, y := range want.Values[i+1:] {
			var n uint64
			for j := range ds {
				if has(&ds[j], x) && has(&ds[j], y) {
					n++
				}
			}
			if got, ok := want.Count(y, x); !ok || got != n {
				t.Errorf("%v & %v: %d %v, want %d", x, y, got, ok, n)
			}
		}
	}
	got := NewPairCounts(vals)
	for _, part := range split(g.r, ds, 4) {
		p := CountPairs(part, vals)
		got.Merge(&p)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("merged pair counts differ from counting all at once")
	}
	// Merging with counts of other values keeps only the common ones.
	other := CountPairs(ds, vals[:2])
	got.Merge(&other)
	if n, ok := got.Count(vals[0], vals[1]); !ok || n != 2*mustCount(t, &want, vals[0], vals[1]) {
		t.Errorf("common pair after merge: %d %v", n, ok)
	}
	if _, ok := got.Count(vals[0], vals[2]); ok {
		t.Error("a pair one side did not count is still known")
	}
	if _, ok := got.Count(vals[0], vals[0]); ok {
		t.Error("a value paired with itself is known")
	}
	bad := PairCounts{Values: want.Values, N: want.N[:3]}
	if _, ok := bad.Count(vals[0], vals[1]); ok {
		t.Error("malformed pair counts are trusted")
	}
}

// has reports whether d has value v, as decision.Dimension.Values says.
func has(d *decision.Decision, v Value) bool {
	return slices.Contains(v.Dim.Values(d, nil), v.Value)
}

func mustCount(t *testing.T, p *PairCounts, x, y Value) uint64 {
	t.Helper()
	n, ok := p.Count(x, y)
	if !ok {
		t.Fatalf("%v & %v unknown", x, y)
	}
	return n
}
