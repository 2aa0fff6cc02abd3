package alert

import (
	"math"

	"github.com/riskwatch/riskwatch/decision"
)

// PSIEpsilon is the proportion PSI gives an empty bin: 0.0001 (0.01%), so
// that ln(a/e) stays finite. A bin that is empty on both sides contributes
// 0; a bin empty on one side only contributes (p-ε)·ln(p/ε), at most
// about 9.2 for p = 1.
const PSIEpsilon = 1e-4

// PSI returns the population stability index of actual against expected,
// two counts over the same bins:
//
//	PSI = Σᵢ (aᵢ - eᵢ) · ln(aᵢ / eᵢ)
//
// where aᵢ and eᵢ are bin i's proportions of its side's total, each raised
// to PSIEpsilon when smaller (proportions are not renormalised after).
// PSI is 0 for identical proportions, never negative, and symmetric in its
// arguments. It is NaN when the slices differ in length or either total is
// zero: there is no distribution to compare.
//
// Customary reading: below 0.1 no shift, 0.1 to 0.25 a moderate shift,
// above 0.25 a significant one. Two samples of n and m decisions from the
// same distribution over k bins score about (k-1)·(1/n + 1/m) by chance
// alone, which is why a shift rule needs MinEvents on both sides.
func PSI(expected, actual []uint64) float64 {
	if len(expected) != len(actual) {
		return math.NaN()
	}
	var te, ta uint64
	for i := range expected {
		te += expected[i]
		ta += actual[i]
	}
	if te == 0 || ta == 0 {
		return math.NaN()
	}
	psi := 0.0
	for i := range expected {
		if expected[i] == 0 && actual[i] == 0 {
			continue
		}
		e := max(float64(expected[i])/float64(te), PSIEpsilon)
		a := max(float64(actual[i])/float64(ta), PSIEpsilon)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// ShiftBins is the number of bins a shift rule compares: the 101 score
// buckets grouped ten points to a bin (0-9, 10-19, ..., 90-100). On the
// 101 buckets themselves, chance alone would give two samples of 1,000
// decisions from one distribution a PSI near 0.2 ((k-1)·(1/n+1/m) with
// k = 101), the customary alarm level.
const ShiftBins = 10

// ScoreBins groups a histogram's 101 buckets into ShiftBins bins of ten
// points, the last bin holding 90 to 100, summing every action.
func ScoreBins(h *decision.Histogram) []uint64 {
	bins := make([]uint64, ShiftBins)
	for b := range h.Counts {
		i := min(b/10, ShiftBins-1)
		for _, n := range h.Counts[b] {
			bins[i] += n
		}
	}
	return bins
}
