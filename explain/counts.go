package explain

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/riskwatch/riskwatch/decision"
)

// Value is one value of one dimension: ip24=203.0.113.0/24.
type Value struct {
	Dim   decision.Dimension `json:"dimension"`
	Value string             `json:"value"`
}

// String shows the value as dimension=value.
func (v Value) String() string { return v.Dim.String() + "=" + v.Value }

// Term returns the filter term that selects decisions with v (see
// decision.Dimension.Term).
func (v Value) Term() string { return v.Dim.Term(v.Value) }

// compareValues orders values by dimension, then by value.
func compareValues(x, y Value) int {
	if c := cmp.Compare(x.Dim, y.Dim); c != 0 {
		return c
	}
	return cmp.Compare(x.Value, y.Value)
}

// Tally counts, for one dimension, the decisions that have each value. A
// decision with several values (signals) is counted once under each.
//
// A Tally may be truncated, as rollups that keep only the top values of a
// minute or an hour are: the occurrences of values it does not list are
// counted in Rest, and RestMax bounds how many of them any single value
// can account for. For every value v the true count then lies in
// [Counts[v], Counts[v] + RestBound()]. A complete Tally has Rest zero and
// exact Counts.
type Tally struct {
	// Counts maps a value to its count (or, in a truncated Tally, to the
	// part of its count that is known).
	Counts map[string]uint64 `json:"counts"`
	// Rest is the number of occurrences not in Counts (the "other" row).
	Rest uint64 `json:"rest,omitempty"`
	// RestMax bounds the occurrences of any one value within Rest; zero
	// means that nothing better than Rest is known.
	RestMax uint64 `json:"rest_max,omitempty"`
}

// RestBound returns how many occurrences any single value may have beyond
// its listed count: RestMax when it is set and below Rest, else Rest.
func (t *Tally) RestBound() uint64 {
	if t.RestMax > 0 && t.RestMax < t.Rest {
		return t.RestMax
	}
	return t.Rest
}

// Bounds returns the range in which v's true count lies.
func (t *Tally) Bounds(v string) (lo, hi uint64) {
	lo = t.Counts[v]
	return lo, satAdd(lo, t.RestBound())
}

func (t *Tally) add(v string, n uint64) {
	if t.Counts == nil {
		t.Counts = make(map[string]uint64)
	}
	t.Counts[v] = satAdd(t.Counts[v], n)
}

// merge adds o to t. Bounds stay valid: a value's true count in the sum is
// at most its summed listed count plus both rest bounds.
func (t *Tally) merge(o *Tally) {
	if t.Counts == nil {
		t.Counts = maps.Clone(o.Counts) // much faster than adding one by one
	} else {
		for v, n := range o.Counts {
			t.add(v, n)
		}
	}
	bound := satAdd(t.RestBound(), o.RestBound())
	t.Rest = satAdd(t.Rest, o.Rest)
	t.RestMax = bound
}

// truncate keeps the k largest counts (ties broken by value) and moves the
// others into Rest. A dropped value's count is at most its listed count
// plus the old bound, so the new bound is the old one plus the largest
// dropped count.
func (t *Tally) truncate(k int) {
	if len(t.Counts) <= k {
		return
	}
	vals := slices.Collect(maps.Keys(t.Counts))
	slices.SortFunc(vals, func(x, y string) int {
		if c := cmp.Compare(t.Counts[y], t.Counts[x]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	bound := t.RestBound()
	var dropped, largest uint64
	for _, v := range vals[k:] {
		n := t.Counts[v]
		dropped = satAdd(dropped, n)
		largest = max(largest, n)
		delete(t.Counts, v)
	}
	t.Rest = satAdd(t.Rest, dropped)
	t.RestMax = satAdd(bound, largest)
	if len(t.Counts) == 0 {
		t.Counts = nil
	}
}

// Counts are the per-dimension value counts of one set of decisions: a
// window, a baseline, or a window's denies or allows. Counts of disjoint
// sets add up with Merge: merging the counts of several collectors or
// rollup periods gives exactly the counts of their union, truncated or not
// (a truncated part makes the sum truncated, with valid bounds).
type Counts struct {
	// Total is the number of decisions in the set (always exact).
	Total uint64 `json:"total"`
	// Dims holds one Tally per dimension, indexed by decision.Dimension.
	Dims [decision.NumDimensions]Tally `json:"dims"`
}

// Count returns the exact counts of ds.
func Count(ds []decision.Decision) Counts {
	var c Counts
	var buf []string
	for i := range ds {
		buf = c.add(&ds[i], buf)
	}
	return c
}

// Add counts one decision: Total and, for every dimension, each distinct
// value d has (decision.Dimension.Values).
func (c *Counts) Add(d *decision.Decision) { c.add(d, nil) }

func (c *Counts) add(d *decision.Decision, buf []string) []string {
	c.Total++
	for dim := range decision.NumDimensions {
		buf = distinctValues(dim, d, buf[:0])
		for _, v := range buf {
			c.Dims[dim].add(v, 1)
		}
	}
	return buf
}

// distinctValues appends to buf the values d has for dim, each once.
func distinctValues(dim decision.Dimension, d *decision.Decision, buf []string) []string {
	buf = dim.Values(d, buf)
	if len(buf) < 2 {
		return buf
	}
	out := buf[:0]
	for i, v := range buf {
		if !slices.Contains(buf[:i], v) {
			out = append(out, v)
		}
	}
	return out
}

// Merge adds the counts of a disjoint set of decisions to c.
func (c *Counts) Merge(o *Counts) {
	c.Total = satAdd(c.Total, o.Total)
	for dim := range c.Dims {
		c.Dims[dim].merge(&o.Dims[dim])
	}
}

// Truncate keeps, per dimension, the k values with the largest counts (ties
// broken by value) and moves the rest into the dimension's Rest, as a
// rollup that keeps the top k values of a period does. Bounds stay valid
// (see Tally). k < 0 is treated as 0.
func (c *Counts) Truncate(k int) {
	k = max(k, 0)
	for dim := range c.Dims {
		c.Dims[dim].truncate(k)
	}
}

// validate reports counts that cannot come from a set of decisions: an
// empty value, a value counted more often than there are decisions, or a
// single-valued dimension whose values add up to more than Total.
func (c *Counts) validate() error {
	for dim := range decision.NumDimensions {
		t := &c.Dims[dim]
		sum := t.Rest
		for v, n := range t.Counts {
			if v == "" {
				return fmt.Errorf("%s: empty value", dim)
			}
			if n > c.Total {
				return fmt.Errorf("%s=%q: count %d above the total %d", dim, v, n, c.Total)
			}
			sum = satAdd(sum, n)
		}
		if dim != decision.DimSignal && sum > c.Total {
			return fmt.Errorf("%s: values add up to %d, above the total %d", dim, sum, c.Total)
		}
	}
	return nil
}

// satAdd adds without wrapping around.
func satAdd(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint64(0)
}
