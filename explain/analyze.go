package explain

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/riskwatch/riskwatch/decision"
)

// Side is one side of a comparison: a period and the counts of its
// decisions.
type Side struct {
	Period
	Counts Counts
}

// Input is what Prepare analyses.
//
// In ModeVolume, Window and Baseline hold the decisions of the window and
// of the baseline (both matching the same filter), and both periods need a
// width.
//
// In ModeDeny, Window holds the window's denies and Baseline its allows
// (challenges and errors are in neither); both periods are the window's,
// and widths are not used. The action dimension, which makes the split, is
// not tested.
//
// ModeLabel is ModeDeny with the window's fraud-labelled decisions in
// Window and its legit-labelled ones in Baseline (unlabelled decisions
// are in neither); every dimension is tested, action included.
type Input struct {
	Mode     Mode
	Window   Side
	Baseline Side
}

// Analysis is an explanation half done: every single value tested, the
// candidates for pairs chosen. Explain finishes it once the candidates'
// pair counts are known. An Analysis is not modified by Explain and may be
// explained more than once.
type Analysis struct {
	in    *Input
	opt   Options
	scale float64
	// ps holds the p-value of every single-value test, in no particular
	// order.
	ps []float64
	// singles are the tests that pass every floor but significance: the
	// only ones that can become drivers.
	singles []stat
	// cands index singles: the pair candidates, largest excess first.
	cands []int
}

// stat is one test: of a value, or of a pair of values seen together.
type stat struct {
	// vals holds the value, or the pair; pair says which.
	vals [2]Value
	pair bool
	// a and b are the window and baseline counts the test uses: a lower
	// bound of the window's and an upper bound of the baseline's, equal to
	// the true counts unless bound is set. aHi and bHi are the upper bounds.
	a, b, aHi, bHi uint64
	bound          bool
	// ws and bs are the shares a/Nw and b/Nb.
	ws, bs, ratio, excess float64
	p, q                  float64
	// test is the index of p among all the p-values corrected together.
	test int
}

// Prepare validates in and tests every single value whose window and
// baseline counts together reach opt.MinCount. It fails on invalid options
// or input: an unknown mode, a volume-mode period without a positive width,
// or counts that no set of decisions has (see Counts). The Analysis keeps
// in's counts (maps included): do not modify them while it is in use.
func Prepare(in Input, opt Options) (*Analysis, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("explain options: %w", err)
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	an := &Analysis{in: &in, opt: opt, scale: in.scale()}
	for dim := range decision.NumDimensions {
		if in.Mode == ModeDeny && dim == decision.DimAction {
			continue
		}
		w, b := &in.Window.Counts.Dims[dim], &in.Baseline.Counts.Dims[dim]
		wBound, bBound := w.RestBound(), b.RestBound()
		for v, n := range w.Counts {
			bLo, bHi := b.Bounds(v)
			an.testSingle(Value{Dim: dim, Value: v}, n, satAdd(n, wBound), bLo, bHi)
		}
		for v, n := range b.Counts {
			// Values the window lists were tested above; a value it does not
			// list has at most wBound window events.
			bHi := satAdd(n, bBound)
			if satAdd(wBound, bHi) < opt.MinCount {
				continue
			}
			if _, seen := w.Counts[v]; !seen {
				an.testSingle(Value{Dim: dim, Value: v}, 0, wBound, n, bHi)
			}
		}
	}
	for i := range an.singles {
		if an.eligible(&an.singles[i], an.singles[i].p) {
			an.cands = append(an.cands, i)
		}
	}
	slices.SortFunc(an.cands, func(i, j int) int { return compareStats(&an.singles[i], &an.singles[j], false) })
	an.cands = an.cands[:min(len(an.cands), opt.Candidates)]
	return an, nil
}

func (in *Input) validate() error {
	if in.Mode > ModeLabel {
		return fmt.Errorf("explain: unknown mode %d", in.Mode)
	}
	if in.Mode == ModeVolume && (in.Window.Duration() <= 0 || in.Baseline.Duration() <= 0) {
		return fmt.Errorf("explain: window width %v and baseline width %v: both must be positive",
			in.Window.Duration(), in.Baseline.Duration())
	}
	if err := in.Window.Counts.validate(); err != nil {
		return fmt.Errorf("explain: window counts: %w", err)
	}
	if err := in.Baseline.Counts.validate(); err != nil {
		return fmt.Errorf("explain: baseline counts: %w", err)
	}
	return nil
}

// scale turns a baseline count into the window count it predicts: the
// ratio of the widths in volume mode (the baseline rate, per unit of time,
// over the window's width), the ratio of the two sides in the split modes
// (the value's allows at the window's deny odds, its legit decisions at
// the window's fraud odds).
func (in *Input) scale() float64 {
	if in.Mode == ModeVolume {
		return float64(in.Window.Duration()) / float64(in.Baseline.Duration())
	}
	if in.Baseline.Counts.Total == 0 {
		return 0
	}
	return float64(in.Window.Counts.Total) / float64(in.Baseline.Counts.Total)
}

// testSingle tests v, whose window count lies in [aLo, aHi] and baseline
// count in [bLo, bHi], if those can reach the minimum count. It keeps the
// test's p-value, and the test itself if it passes every floor.
func (an *Analysis) testSingle(v Value, aLo, aHi, bLo, bHi uint64) {
	if satAdd(aHi, bHi) < an.opt.MinCount {
		return
	}
	s := an.test([2]Value{v}, false, aLo, aHi, bHi, aLo != aHi || bLo != bHi)
	s.test = len(an.ps)
	an.ps = append(an.ps, s.p)
	if an.floors(&s) {
		an.singles = append(an.singles, s)
	}
}

// test builds the 2x2 table of a value (or pair) with window count a and
// baseline count b and computes its statistics:
//
//	            has it     has not
//	window      a          Nw - a
//	baseline    b          Nb - b
//
// The G-test with Williams' correction asks whether the value's share of
// the window, a/Nw, differs from its share of the baseline, b/Nb; p is
// one-sided, for over-representation: half the chi-square(1) tail of G/q
// when a/Nw > b/Nb (the signed square root of G is then a standard normal
// tail), and 1 otherwise. (The exact one-sided p of an under-represented
// value is at least 1/2; 1 is larger, which keeps the correction valid,
// and changes no q-value at or below 1/2, so no driver's.)
func (an *Analysis) test(vals [2]Value, pair bool, a, aHi, bHi uint64, bound bool) stat {
	nw, nb := an.in.Window.Counts.Total, an.in.Baseline.Counts.Total
	a, aHi, b := min(a, nw), min(aHi, nw), min(bHi, nb)
	s := stat{vals: vals, pair: pair, a: a, b: b, aHi: aHi, bHi: b, bound: bound, p: 1}
	s.ws, s.bs = share(a, nw), share(b, nb)
	// A value the baseline never saw gets half an event there, so that its
	// ratio is finite and reads "at least this much".
	s.ratio = s.ws / math.Max(s.bs, 0.5/math.Max(float64(nb), 1))
	s.excess = float64(a) - an.scale*float64(b)
	if s.ws > s.bs {
		s.p = ChiSquare1SF(G(a, nw-a, b, nb-b)/Williams(a, nw-a, b, nb-b)) / 2
	}
	return s
}

// values returns the value, or the pair.
func (s *stat) values() []Value {
	if s.pair {
		return s.vals[:2]
	}
	return s.vals[:1]
}

// share returns n/total, 0 for an empty total.
func share(n, total uint64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// floors reports whether s passes every floor but significance: the
// minimum count, over-representation with a positive excess, and the
// effect floor.
func (an *Analysis) floors(s *stat) bool {
	o := &an.opt
	return s.a >= o.MinCount && s.ws > s.bs && s.excess > 0 && (s.ratio >= o.MinRatio || s.ws-s.bs >= o.MinShare)
}

// eligible reports whether s passes every floor with significance level p
// (its raw p-value for choosing candidates, its q-value for drivers):
// floors and p <= Alpha.
func (an *Analysis) eligible(s *stat, p float64) bool {
	return an.floors(s) && p <= an.opt.Alpha
}

// compareStats orders by excess, largest first, then by p (or q), then by
// values, so that every order the analysis uses is deterministic.
func compareStats(x, y *stat, byQ bool) int {
	if c := cmp.Compare(y.excess, x.excess); c != 0 {
		return c
	}
	px, py := x.p, y.p
	if byQ {
		px, py = x.q, y.q
	}
	if c := cmp.Compare(px, py); c != 0 {
		return c
	}
	return slices.CompareFunc(x.values(), y.values(), compareValues)
}

// Candidates returns the values whose pairs Explain tests: up to
// Options.Candidates single values that pass every floor at their raw
// p-value, largest excess first. Counting their pairs (CountPairs, or
// PairCounts.Add) in the window and the baseline makes the pair tests
// exact.
func (an *Analysis) Candidates() []Value {
	vals := make([]Value, len(an.cands))
	for i, c := range an.cands {
		vals[i] = an.singles[c].vals[0]
	}
	return vals
}
