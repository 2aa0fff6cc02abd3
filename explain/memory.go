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
	return explainSplit(ModeDeny, window, ds, opt)
}

// Label explains a window's fraud-labelled decisions against its
// legit-labelled ones, from the window's decisions with their labels
// (decision.Decision.Label), by brute force as Volume does. Unlabelled
// decisions are in neither side.
func Label(window Period, ds []decision.Decision, opt Options) (Result, error) {
	return explainSplit(ModeLabel, window, ds, opt)
}

// explainSplit explains the two sides of ds in a split mode (Mode.Split).
func explainSplit(mode Mode, window Period, ds []decision.Decision, opt Options) (Result, error) {
	w, b := CountSides(mode, ds)
	in := Input{
		Mode:     mode,
		Window:   Side{Period: window, Counts: w},
		Baseline: Side{Period: window, Counts: b},
	}
	an, err := Prepare(in, opt)
	if err != nil {
		return Result{}, fmt.Errorf("explain %v: %w", mode, err)
	}
	c := an.Candidates()
	wp, bp := NewPairCounts(c), NewPairCounts(c)
	for i := range ds {
		if window, ok := mode.Side(&ds[i]); ok && window {
			wp.Add(&ds[i])
		} else if ok {
			bp.Add(&ds[i])
		}
	}
	return an.Explain(wp, bp), nil
}

// CountSides returns the exact counts of the two sides of ds in a split
// mode (Mode.Side): the denies and the allows, or the fraud and the legit
// decisions.
func CountSides(mode Mode, ds []decision.Decision) (window, baseline Counts) {
	var buf []string
	for i := range ds {
		if w, ok := mode.Side(&ds[i]); ok && w {
			buf = window.add(&ds[i], buf)
		} else if ok {
			buf = baseline.add(&ds[i], buf)
		}
	}
	return window, baseline
}
