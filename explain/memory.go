package explain

import (
	"fmt"

	"github.com/riskwatch/riskwatch/decision"
)

// Volume explains a window against a baseline from their decisions, by
// brute force: it counts both sides, tests, counts the candidates' pairs
// exactly and explains. window and baseline are the decisions of the two
// periods that match the filter; the caller selects them (by event time),
// Volume does not look at their times. For a long baseline, build its
// Counts from rollups and call Prepare and Explain instead.
func Volume(window Period, wds []decision.Decision, baseline Period, bds []decision.Decision, opt Options) (Result, error) {
	in := Input{
		Mode:     ModeVolume,
		Window:   Side{Period: window, Counts: Count(wds)},
		Baseline: Side{Period: baseline, Counts: Count(bds)},
	}
	an, err := Prepare(in, opt)
	if err != nil {
		return Result{}, fmt.Errorf("explain volume: %w", err)
	}
	c := an.Candidates()
	return an.Explain(CountPairs(wds, c), CountPairs(bds, c)), nil
}

// Deny explains a window's denies against its allows, from the window's
// decisions (those that match the filter), by brute force as Volume does.
// Challenges and errors are in neither side.
func Deny(window Period, ds []decision.Decision, opt Options) (Result, error) {
	denies, allows := CountDeny(ds)
	in := Input{
		Mode:     ModeDeny,
		Window:   Side{Period: window, Counts: denies},
		Baseline: Side{Period: window, Counts: allows},
	}
	an, err := Prepare(in, opt)
	if err != nil {
		return Result{}, fmt.Errorf("explain deny: %w", err)
	}
	c := an.Candidates()
	dp, ap := NewPairCounts(c), NewPairCounts(c)
	for i := range ds {
		switch ds[i].Action {
		case decision.ActionDeny:
			dp.Add(&ds[i])
		case decision.ActionAllow:
			ap.Add(&ds[i])
		}
	}
	return an.Explain(dp, ap), nil
}

// CountDeny returns the exact counts of the denies and of the allows among
// ds (the two sides of ModeDeny).
func CountDeny(ds []decision.Decision) (denies, allows Counts) {
	var buf []string
	for i := range ds {
		switch ds[i].Action {
		case decision.ActionDeny:
			buf = denies.add(&ds[i], buf)
		case decision.ActionAllow:
			buf = allows.add(&ds[i], buf)
		}
	}
	return denies, allows
}
