package explain

import (
	"slices"

	"github.com/riskwatch/riskwatch/decision"
)

// PairCounts count co-occurrences: for every two of Values, how many
// decisions of a set have both. Pairs of values outside Values are
// unknown, and the analysis then bounds them from the single counts.
//
// Counting pairs of every value would cost a few dozen map updates per
// decision; explain needs only the pairs of its few candidates (see
// Analysis.Candidates), so pairs are counted for a given list of values.
// PairCounts of disjoint sets over the same Values add up with Merge.
type PairCounts struct {
	// Values are the values whose pairs are counted, sorted and distinct.
	Values []Value `json:"values"`
	// N holds the count of the pair (Values[i], Values[j]), i < j, at
	// index pairIndex(i, j): row by row of the upper triangle.
	N []uint64 `json:"n"`
}

// NewPairCounts returns zero counts for the pairs of vals (sorted and
// made distinct; vals is not modified).
func NewPairCounts(vals []Value) PairCounts {
	vs := slices.Clone(vals)
	slices.SortFunc(vs, compareValues)
	vs = slices.Compact(vs)
	k := len(vs)
	return PairCounts{Values: vs, N: make([]uint64, k*(k-1)/2)}
}

// CountPairs returns the pair counts of ds for the pairs of vals.
func CountPairs(ds []decision.Decision, vals []Value) PairCounts {
	p := NewPairCounts(vals)
	var c pairCounter
	for i := range ds {
		c.add(&p, &ds[i])
	}
	return p
}

// Add counts the pairs of p.Values that d has.
func (p *PairCounts) Add(d *decision.Decision) {
	var c pairCounter
	c.add(p, d)
}

// pairCounter holds the scratch space of counting pairs.
type pairCounter struct {
	buf []string
	has []int
}

func (c *pairCounter) add(p *PairCounts, d *decision.Decision) {
	c.has = c.has[:0]
	for i := 0; i < len(p.Values); {
		// Values are sorted by dimension: compute each dimension's values once.
		dim := p.Values[i].Dim
		c.buf = dim.Values(d, c.buf[:0])
		for ; i < len(p.Values) && p.Values[i].Dim == dim; i++ {
			if slices.Contains(c.buf, p.Values[i].Value) {
				c.has = append(c.has, i)
			}
		}
	}
	for x, i := range c.has {
		for _, j := range c.has[x+1:] {
			p.N[pairIndex(len(p.Values), i, j)]++
		}
	}
}

// Count returns the number of decisions with both x and y, and whether
// that number is known: x and y are distinct values among p.Values, and p
// is well formed (as NewPairCounts makes it).
func (p *PairCounts) Count(x, y Value) (uint64, bool) {
	i, okx := slices.BinarySearchFunc(p.Values, x, compareValues)
	j, oky := slices.BinarySearchFunc(p.Values, y, compareValues)
	if !okx || !oky || i == j || !p.wellFormed() {
		return 0, false
	}
	return p.N[pairIndex(len(p.Values), min(i, j), max(i, j))], true
}

// wellFormed reports whether Values are sorted and distinct and N has one
// count per pair, as NewPairCounts makes them; counts received from
// elsewhere that are not are treated as unknown.
func (p *PairCounts) wellFormed() bool {
	k := len(p.Values)
	if len(p.N) != k*(k-1)/2 {
		return false
	}
	for i := 1; i < k; i++ {
		if compareValues(p.Values[i-1], p.Values[i]) >= 0 {
			return false
		}
	}
	return true
}

// Merge adds the pair counts of a disjoint set of decisions. Only the pairs
// known on both sides stay known: Values becomes the values both list
// (none when either side is not well formed).
func (p *PairCounts) Merge(o *PairCounts) {
	if !p.wellFormed() || !o.wellFormed() {
		*p = PairCounts{}
		return
	}
	var both []Value
	for _, v := range p.Values {
		if _, ok := slices.BinarySearchFunc(o.Values, v, compareValues); ok {
			both = append(both, v)
		}
	}
	sum := NewPairCounts(both)
	for i, x := range sum.Values {
		for j := i + 1; j < len(sum.Values); j++ {
			y := sum.Values[j]
			a, _ := p.Count(x, y)
			b, _ := o.Count(x, y)
			sum.N[pairIndex(len(sum.Values), i, j)] = satAdd(a, b)
		}
	}
	*p = sum
}

// pairIndex is the position of pair (i, j), i < j < k, in the upper
// triangle of a k×k matrix stored row by row.
func pairIndex(k, i, j int) int {
	return i*(2*k-i-1)/2 + j - i - 1
}
