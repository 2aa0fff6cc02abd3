package explain

import (
	"slices"

	"github.com/riskwatch/riskwatch/decision"
)

// Explain finishes the analysis: it tests the pairs of the candidates,
// corrects all tests together (Benjamini-Hochberg), and returns the
// drivers.
//
// window and baseline are the candidates' pair counts on the two sides.
// A pair they do not know is bounded from the single counts, the window's
// count from below (max(0, a_x + a_y - Nw)) and the baseline's from above
// (min(b_x, b_y)), so zero PairCounts are valid: pair tests are then only
// conservative, and a pair is found only when its two values together
// exceed the window (a_x + a_y > Nw).
//
// A driver is a single value or a pair whose q-value is at most Alpha,
// with at least MinCount window events, a share of the window above its
// share of the baseline by the effect floor, and a positive excess. A
// pair stands for its two values, which are then not reported alone, when
// both are drivers and the pair holds at least Cover of each one's
// excess: the two values are then mostly the same events, and the pair
// names them better than either alone. Pairs are taken greedily, the
// largest excess first, each value in at most one pair. Drivers are
// ordered by excess, largest first, then by q, then by value.
func (an *Analysis) Explain(window, baseline PairCounts) Result {
	var pairs []stat
	var members [][2]int // the singles each pair is made of
	for i, ci := range an.cands {
		for _, cj := range an.cands[i+1:] {
			if s, ok := an.testPair(&an.singles[ci], &an.singles[cj], &window, &baseline); ok {
				pairs = append(pairs, s)
				members = append(members, [2]int{ci, cj})
			}
		}
	}
	// One correction over every test: the singles, then the pairs.
	ps := slices.Grow(slices.Clone(an.ps), len(pairs))
	for i := range pairs {
		pairs[i].test = len(ps)
		ps = append(ps, pairs[i].p)
	}
	qs := BH(ps)
	single := func(i int) stat {
		s := an.singles[i]
		s.q = qs[s.test]
		return s
	}
	sig := func(s *stat) bool { return an.eligible(s, s.q) }

	// The significant pairs that stand for their two values.
	type pairDriver struct {
		stat
		of [2]int
	}
	var chosen []pairDriver
	for k := range pairs {
		s, x, y := pairs[k], single(members[k][0]), single(members[k][1])
		s.q = qs[s.test]
		if sig(&s) && sig(&x) && sig(&y) && s.excess >= an.opt.Cover*max(x.excess, y.excess) {
			chosen = append(chosen, pairDriver{s, members[k]})
		}
	}
	slices.SortFunc(chosen, func(x, y pairDriver) int { return compareStats(&x.stat, &y.stat, true) })
	used := make(map[int]bool)
	var drivers []stat
	for _, c := range chosen {
		if !used[c.of[0]] && !used[c.of[1]] {
			used[c.of[0]], used[c.of[1]] = true, true
			drivers = append(drivers, c.stat)
		}
	}
	for i := range an.singles {
		if s := single(i); !used[i] && sig(&s) {
			drivers = append(drivers, s)
		}
	}
	slices.SortFunc(drivers, func(x, y stat) int { return compareStats(&x, &y, true) })
	return an.result(drivers[:min(len(drivers), an.opt.MaxDrivers)], len(ps))
}

// testPair tests x and y seen together, if they can be (two values of a
// dimension other than signal never are) and their counts can reach the
// minimum count. The value with the larger ratio, the more specific to
// the window, comes first: ip24=203.0.113.0/24 with ua_family=curl.
func (an *Analysis) testPair(x, y *stat, window, baseline *PairCounts) (stat, bool) {
	vx, vy := x.vals[0], y.vals[0]
	if vx.Dim == vy.Dim && vx.Dim != decision.DimSignal {
		return stat{}, false
	}
	a, aok := window.Count(vx, vy)
	aHi := a
	if !aok {
		// Fréchet bounds: at least a_x + a_y - Nw decisions have both.
		nw := an.in.Window.Counts.Total
		a, aHi = 0, min(x.aHi, y.aHi)
		if sum := satAdd(x.a, y.a); sum > nw {
			a = sum - nw
		}
	}
	b, bok := baseline.Count(vx, vy)
	if !bok {
		b = min(x.bHi, y.bHi)
	}
	if satAdd(aHi, b) < an.opt.MinCount {
		return stat{}, false
	}
	vals := [2]Value{vx, vy}
	if y.ratio > x.ratio {
		vals = [2]Value{vy, vx}
	}
	// An unknown baseline count bounded by zero is known: zero.
	return an.test(vals, true, a, aHi, b, !aok || !bok && b > 0), true
}

// result builds the Result of the chosen drivers out of tests tests.
func (an *Analysis) result(drivers []stat, tests int) Result {
	in := an.in
	nw, nb := in.Window.Counts.Total, in.Baseline.Counts.Total
	r := Result{
		Mode:     in.Mode,
		Window:   span(&in.Window),
		Baseline: span(&in.Baseline),
		Tests:    tests,
		Drivers:  make([]Driver, len(drivers)),
	}
	switch in.Mode {
	case ModeVolume:
		r.Excess = float64(nw) - an.scale*float64(nb)
	case ModeDeny:
		r.DenyRate = ptr(share(nw, satAdd(nw, nb)))
	case ModeLabel:
		r.FraudRate = ptr(share(nw, satAdd(nw, nb)))
	}
	for i := range drivers {
		s := &drivers[i]
		d := Driver{
			Dimension:     s.vals[0].Dim,
			Value:         s.vals[0].Value,
			Window:        s.a,
			Baseline:      s.b,
			Ratio:         s.ratio,
			Excess:        s.excess,
			P:             s.p,
			Q:             s.q,
			With:          append([]Value{}, s.values()[1:]...),
			WindowShare:   s.ws,
			BaselineShare: s.bs,
			ShareChange:   s.ws - s.bs,
			Term:          terms(s.values()),
			Bound:         s.bound,
		}
		switch {
		case in.Mode == ModeVolume && r.Excess > 0:
			d.Remaining = ptr((r.Excess - s.excess) / r.Excess)
		case in.Mode == ModeDeny:
			d.DenyRateWithout = ptr(share(nw-s.a, satAdd(nw-s.a, nb-s.b)))
		case in.Mode == ModeLabel:
			d.FraudRateWithout = ptr(share(nw-s.a, satAdd(nw-s.a, nb-s.b)))
		}
		r.Drivers[i] = d
	}
	return r
}

func span(s *Side) Span {
	return Span{From: s.From, To: s.To, Seconds: s.Duration().Seconds(), Count: s.Counts.Total}
}

func ptr(f float64) *float64 { return &f }
