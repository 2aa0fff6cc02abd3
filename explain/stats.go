package explain

import (
	"math"
	"slices"
)

// G returns the log-likelihood ratio statistic of independence of the 2x2
// contingency table
//
//	| a | b |
//	| c | d |
//
// G = 2 Σ O ln(O/E) over the four cells, with E = row total × column total
// / N the count independence predicts. A cell of zero contributes zero (the
// limit of O ln O). G is never negative and is 0 when a row or a column is
// empty (the table holds no information about independence).
func G(a, b, c, d uint64) float64 {
	fa, fb, fc, fd := float64(a), float64(b), float64(c), float64(d)
	n := fa + fb + fc + fd
	r1, r2, c1, c2 := fa+fb, fc+fd, fa+fc, fb+fd
	if r1 == 0 || r2 == 0 || c1 == 0 || c2 == 0 {
		return 0
	}
	g := 2 * (cell(fa, r1, c1, n) + cell(fb, r1, c2, n) + cell(fc, r2, c1, n) + cell(fd, r2, c2, n))
	return math.Max(g, 0)
}

// cell is one cell's term O ln(O/E) with E = r·c/n.
func cell(o, r, c, n float64) float64 {
	if o == 0 {
		return 0
	}
	return o * math.Log(o/r*n/c)
}

// Williams returns Williams' correction factor for G on the 2x2 table
// [[a, b], [c, d]] (Williams 1976; Sokal & Rohlf, Biometry, 3rd ed.,
// section 17.6):
//
//	q = 1 + (N/R1 + N/R2 - 1)(N/C1 + N/C2 - 1) / (6N)
//
// G/q follows chi-square(1) more closely than G when some expected counts
// are small; G alone rejects too often there. q >= 1, and q is 1 when a
// row or column is empty.
func Williams(a, b, c, d uint64) float64 {
	fa, fb, fc, fd := float64(a), float64(b), float64(c), float64(d)
	n := fa + fb + fc + fd
	r1, r2, c1, c2 := fa+fb, fc+fd, fa+fc, fb+fd
	if r1 == 0 || r2 == 0 || c1 == 0 || c2 == 0 {
		return 1
	}
	return 1 + (n/r1+n/r2-1)*(n/c1+n/c2-1)/(6*n)
}

// ChiSquare1SF returns the survival function of the chi-square
// distribution with one degree of freedom, P(X > x): for X = Z² with Z
// standard normal, P(|Z| > √x) = erfc(√(x/2)). It is 1 for x <= 0 (and
// for NaN) and 0 for +Inf; it underflows to 0 for x beyond about 1400.
func ChiSquare1SF(x float64) float64 {
	if !(x > 0) {
		return 1
	}
	return math.Erfc(math.Sqrt(x / 2))
}

// BH returns the Benjamini-Hochberg adjusted p-values (q-values) of ps, in
// the order of ps: for the i-th smallest of m p-values,
//
//	q(i) = min over j >= i of min(1, p(j) · m / j)
//
// so that rejecting every hypothesis with q <= α controls the false
// discovery rate at α (Benjamini & Hochberg 1995). Every q-value is at
// least its p-value; tied p-values get equal q-values; a NaN p-value
// counts as 1. ps is not modified.
func BH(ps []float64) []float64 {
	m := len(ps)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	p := func(i int) float64 {
		if math.IsNaN(ps[i]) {
			return 1
		}
		return ps[i]
	}
	slices.SortStableFunc(order, func(x, y int) int {
		switch px, py := p(x), p(y); {
		case px < py:
			return -1
		case px > py:
			return 1
		}
		return 0
	})
	qs := make([]float64, m)
	running := 1.0
	for rank := m; rank >= 1; rank-- {
		i := order[rank-1]
		running = math.Min(running, p(i)*float64(m)/float64(rank))
		// q >= p holds exactly; p·m/m may round below p.
		qs[i] = math.Max(running, p(i))
	}
	return qs
}
