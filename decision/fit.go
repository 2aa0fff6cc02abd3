package decision

// Fit is the threshold policy on one score that best reproduces the
// actions Safe-e actually took over a histogram's decisions: what
// "today's policy" is, as far as thresholds can say it.
type Fit struct {
	Thresholds Thresholds
	// Agree counts the scored decisions whose actual action the
	// thresholds give; Total counts the scored decisions.
	Agree, Total uint64
}

// Share is the fraction of scored decisions the fit reproduces, 0 when
// there are none.
func (f Fit) Share() float64 {
	if f.Total == 0 {
		return 0
	}
	return float64(f.Agree) / float64(f.Total)
}

// FitThresholds returns the whole-point thresholds on h.Score that
// reproduce the most actual actions of h: it counts, for every pair
// (challenge, deny) with 0 <= challenge <= deny <= 100, the decisions
// whose bucket Thresholds.SimulateBucket maps to their actual action, and
// keeps the best. A pair with challenge above deny acts as challenge =
// deny (nothing is challenged), so the search covers every pair of the
// 101 x 101. The count is exact, from h's per-bucket counts by action
// (errors carry no scores and are not in h).
//
// Where several pairs reproduce as many, the highest challenge and then
// the highest deny win: each threshold sits on the lowest score that
// actually got its action, and a policy that never challenges comes out
// as challenge = deny. With no scored decision the fit is 0/0 and says
// nothing.
func FitThresholds(h *Histogram) Fit {
	const n = len(h.Counts)
	// below[a][b] counts the decisions of action a in buckets < b.
	var below [3][n + 1]uint64
	var total uint64
	for b := range n {
		for a := range 3 {
			below[a][b+1] = below[a][b] + h.Counts[b][a]
		}
		total += h.Counts[b][0] + h.Counts[b][1] + h.Counts[b][2]
	}
	allow, challenge, deny := &below[0], &below[1], &below[2]
	best := Fit{Thresholds: Thresholds{Score: h.Score}, Total: total}
	first := true
	for c := n - 1; c >= 0; c-- {
		for d := n - 1; d >= c; d-- {
			// Allowed below c, challenged from c to d, denied from d.
			agree := allow[c] + (challenge[d] - challenge[c]) + (deny[n] - deny[d])
			if first || agree > best.Agree {
				best.Agree, best.Thresholds.Challenge, best.Thresholds.Deny = agree, float64(c), float64(d)
				first = false
			}
		}
	}
	return best
}
