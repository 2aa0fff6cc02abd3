package alert

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
)

// Values computed by hand (natural logarithms, ε = 0.0001).
func TestPSIKnownValues(t *testing.T) {
	for _, tc := range []struct {
		name             string
		expected, actual []uint64
		want             float64
	}{
		{"identical proportions", []uint64{1, 2, 3}, []uint64{2, 4, 6}, 0},
		// (0.25-0.5)·ln(0.25/0.5) + (0.75-0.5)·ln(0.75/0.5)
		// = 0.25·0.693147 + 0.25·0.405465 = 0.274653
		{"two bins", []uint64{50, 50}, []uint64{25, 75}, 0.274653},
		// a bin empty on both sides adds nothing
		{"empty on both sides", []uint64{50, 0, 50}, []uint64{25, 0, 75}, 0.274653},
		// e = (1, 0 → ε), a = (0.9, 0.1):
		// (0.9-1)·ln 0.9 + (0.1-0.0001)·ln(0.1/0.0001)
		// = 0.010536 + 0.0999·6.907755 = 0.700621
		{"empty expected bin", []uint64{100, 0}, []uint64{90, 10}, 0.700621},
		// ten bins of 0.1 against 0.05, 0.05, six of 0.1, 0.15, 0.15:
		// 2·(-0.05)·ln 0.5 + 2·0.05·ln 1.5 = 0.069315 + 0.040547 = 0.109861
		{"ten bins", []uint64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, []uint64{5, 5, 10, 10, 10, 10, 10, 10, 15, 15}, 0.109861},
		// everything moved from one bin to another: 2·(1-ε)·ln(1/ε)
		{"disjoint", []uint64{100, 0}, []uint64{0, 100}, 18.418839},
	} {
		if got := PSI(tc.expected, tc.actual); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%s: PSI = %.6f, want %.6f", tc.name, got, tc.want)
		}
	}
}

func TestPSIUndefined(t *testing.T) {
	for _, tc := range []struct{ e, a []uint64 }{
		{[]uint64{0, 0}, []uint64{1, 2}},
		{[]uint64{1, 2}, []uint64{0, 0}},
		{[]uint64{1, 2}, []uint64{1, 2, 3}},
		{nil, nil},
	} {
		if got := PSI(tc.e, tc.a); !math.IsNaN(got) {
			t.Errorf("PSI(%v, %v) = %v, want NaN", tc.e, tc.a, got)
		}
	}
}

// PSI is never negative and symmetric in its arguments.
func TestPSIIsSymmetricAndNonNegative(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		e, a := make([]uint64, ShiftBins), make([]uint64, ShiftBins)
		for i := range e {
			if rng.IntN(3) > 0 {
				e[i] = rng.Uint64N(1000)
			}
			if rng.IntN(3) > 0 {
				a[i] = rng.Uint64N(1000)
			}
		}
		p, q := PSI(e, a), PSI(a, e)
		if math.IsNaN(p) {
			continue
		}
		if p < 0 || math.Abs(p-q) > 1e-9*max(1, p) {
			t.Fatalf("PSI(%v, %v) = %v, reversed %v", e, a, p, q)
		}
	}
}

// The 101 buckets fall into ten bins of ten points, 100 in the last, every
// action counted.
func TestScoreBins(t *testing.T) {
	var h decision.Histogram
	h.Counts[0][0] = 1
	h.Counts[9][2] = 2
	h.Counts[10][1] = 4
	h.Counts[89][0] = 8
	h.Counts[90][3] = 16
	h.Counts[100][0] = 32
	h.Counts[100][2] = 64
	want := []uint64{3, 4, 0, 0, 0, 0, 0, 0, 8, 112}
	got := ScoreBins(&h)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ScoreBins = %v, want %v", got, want)
		}
	}
}
