package explain

import (
	"math"
	"slices"
	"testing"
)

// near reports whether got is within rel (relative) of want.
func near(got, want, rel float64) bool {
	if want == 0 {
		return math.Abs(got) <= rel
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

// The reference values were computed with mpmath at 40 digits from the
// definitions: G = 2 Σ O ln(O·N/(R·C)) (checked against the equivalent
// 2[Σ O ln O + N ln N - Σ R ln R - Σ C ln C]), Williams' q = 1 +
// (N/R1 + N/R2 - 1)(N/C1 + N/C2 - 1)/(6N), and P(χ²₁ > x) = erfc(√(x/2)).
//
// By hand, for [[10, 20], [30, 40]]: N = 100, rows 30 and 70, columns 40
// and 60, so E = 12, 18, 28, 42 and G = 2[10 ln(10/12) + 20 ln(20/18) +
// 30 ln(30/28) + 40 ln(40/42)] = 2[-1.82322 + 2.10721 + 2.06977 -
// 1.95159] = 0.80435; q = 1 + (100/30 + 100/70 - 1)(100/40 + 100/60 -
// 1)/600 = 1 + 3.76190 × 3.16667 / 600 = 1.019854.
func TestGKnownTables(t *testing.T) {
	for _, c := range []struct {
		a, b, c, d uint64
		g, q, p    float64 // p = P(χ²₁ > G/q), two-sided
	}{
		{10, 20, 30, 40, 0.80434864609648637, 1.0198544973544974, 0.37449665287109408},
		{1, 9, 11, 3, 12.221169703393979, 1.0648809523809524, 0.00070479478336998134},
		{0, 10, 5, 5, 8.6304621735534278, 1.1083333333333333, 0.0052626906623487152},
		// Rows in exact proportion: no evidence at all.
		{10, 20, 20, 40, 0, 1.0226851851851852, 1},
		// A value with 12 of 1000 window events and 3 of 6000 baseline ones.
		{12, 988, 3, 5997, 32.72858884033461, 1.0796299960610984, 3.6734383411962957e-8},
		// A spike: p is far below the smallest float64 and underflows to 0.
		{500, 500, 100, 5900, 1691.6312889159508, 1.0020067377645503, 0},
	} {
		g, q := G(c.a, c.b, c.c, c.d), Williams(c.a, c.b, c.c, c.d)
		p := ChiSquare1SF(g / q)
		if !near(g, c.g, 1e-12) || !near(q, c.q, 1e-14) || !near(p, c.p, 1e-10) {
			t.Errorf("[[%d %d] [%d %d]]: G %.17g q %.17g p %.17g, want %.17g %.17g %.17g",
				c.a, c.b, c.c, c.d, g, q, p, c.g, c.q, c.p)
		}
		// G does not depend on which way the table is read.
		if gt := G(c.a, c.c, c.b, c.d); !near(gt, g, 1e-12) {
			t.Errorf("transposed G %v != %v", gt, g)
		}
	}
}

func TestGDegenerate(t *testing.T) {
	for _, c := range [][4]uint64{{0, 0, 5, 5}, {5, 5, 0, 0}, {0, 5, 0, 5}, {5, 0, 5, 0}, {0, 0, 0, 0}} {
		if g, q := G(c[0], c[1], c[2], c[3]), Williams(c[0], c[1], c[2], c[3]); g != 0 || q != 1 {
			t.Errorf("%v: G %v q %v, want 0 and 1 (an empty row or column)", c, g, q)
		}
	}
	// Huge counts stay finite.
	const big = math.MaxUint64 / 2
	if g := G(big, 1, 1, big); math.IsNaN(g) || math.IsInf(g, 0) || g <= 0 {
		t.Errorf("G of huge counts = %v", g)
	}
}

func TestChiSquare1SF(t *testing.T) {
	for _, c := range []struct{ x, p float64 }{
		{0, 1},
		{-1, 1},
		{math.NaN(), 1},
		{math.Inf(1), 0},
		// The textbook critical values of χ²₁.
		{3.841458820694124, 0.05},
		{6.634896601021214, 0.01},
		{10.827566170662733, 0.001},
		// x = z²: P(|Z| > 1), P(|Z| > 2), P(|Z| > 3).
		{1, 0.3173105078629141},
		{4, 0.045500263896358414},
		{9, 0.0026997960632601891},
		{0.5, 0.47950012218695346},
		{100, 1.5239706048321052e-23},
	} {
		if got := ChiSquare1SF(c.x); !near(got, c.p, 1e-13) {
			t.Errorf("ChiSquare1SF(%v) = %.17g, want %.17g", c.x, got, c.p)
		}
	}
}

// The example of Benjamini and Hochberg (1995, section 4): fifteen
// p-values from a clinical trial; at q = 0.05 the procedure rejects the
// four smallest. The q-values are min over j >= i of p(j)·15/j.
func TestBHPublishedExample(t *testing.T) {
	ps := []float64{0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
		0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000}
	want := []float64{0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.06385714285714286,
		0.06385714285714286, 0.0645, 0.0765, 0.486, 0.5811818181818182, 0.714875,
		0.7532307692307692, 0.8132142857142857, 1}
	// Shuffled input: q-values follow their p-values.
	perm := []int{7, 3, 14, 0, 11, 5, 9, 1, 12, 8, 2, 13, 6, 10, 4}
	in := make([]float64, len(ps))
	for i, j := range perm {
		in[i] = ps[j]
	}
	saved := slices.Clone(in)
	qs := BH(in)
	rejected := 0
	for i, j := range perm {
		if !near(qs[i], want[j], 1e-12) {
			t.Errorf("q of p=%v = %v, want %v", ps[j], qs[i], want[j])
		}
		if qs[i] <= 0.05 {
			rejected++
		}
	}
	if rejected != 4 {
		t.Errorf("rejected %d at 0.05, want 4", rejected)
	}
	if !slices.Equal(in, saved) {
		t.Error("BH modified its input")
	}
	if got := BH([]float64{math.NaN(), 0.01}); got[0] != 1 || got[1] != 0.02 {
		t.Errorf("BH with NaN = %v, want [1 0.02]", got)
	}
	if got := BH(nil); len(got) != 0 {
		t.Errorf("BH(nil) = %v", got)
	}
}
