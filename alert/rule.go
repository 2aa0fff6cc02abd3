package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Kind is what a rule measures.
type Kind string

// The kinds of rule.
const (
	// KindRate is the number of matching decisions per minute over the window.
	KindRate Kind = "rate"
	// KindShare is the fraction (0 to 1) of all decisions in the window
	// that match the filter.
	KindShare Kind = "share"
	// KindShift is the population stability index (see PSI) of the
	// window's distribution of one score against the baseline's, over the
	// decisions that match the filter.
	KindShift Kind = "shift"
)

// Rule is one alert rule. Rules that come from ParseRules or ParseFile are
// valid; a Rule built in code must pass Validate before it is evaluated
// (NewEvaluator and Backtest check). A Rule is not modified by evaluation
// and may be shared between goroutines.
//
// The condition of a rule with a fixed band holds when the value is above
// Above or below Below (either or both set). The condition of a rule with
// a Factor compares the value with the same measure over the Baseline
// window: value > Factor × baseline when Factor > 1 (a rise), value <
// Factor × baseline when Factor < 1 (a drop); with a factor, Above (for a
// rise) or Below (for a drop) is a floor or ceiling the value must cross
// as well, so SPEC's example (above = 100, factor = 3) reads "three times
// the baseline and more than 100 a minute". A shift rule compares its
// window with its Baseline by construction and fires when the PSI is above
// Above.
type Rule struct {
	// Name identifies the rule in events, state and notifications; unique
	// within a rule set.
	Name string
	// Filter selects the decisions counted (nil or empty: all). It has no
	// since: or until: terms: the window is the rule's.
	Filter *decision.Filter
	Kind   Kind
	// Score is the score whose distribution a shift rule compares.
	Score decision.Score
	// Window is the width of the measured window, a whole number of
	// minutes.
	Window time.Duration
	// Above and Below are the fixed band; nil when not set.
	Above, Below *float64
	// Factor is the baseline factor, 0 for a fixed band.
	Factor float64
	// Baseline is the window a factor or shift rule compares with.
	Baseline Baseline
	// For is how long the condition must hold before the rule fires, and
	// how long it must be false (at least a minute) before it resolves.
	For time.Duration
	// Cooldown is how long after a resolution the rule may not fire again.
	Cooldown time.Duration
	// MinEvents is the smallest sample an evaluation may decide on (see
	// Observation.Verdict); 0 for a rate rule with a fixed band, which has
	// no sample to be thin.
	MinEvents uint64
	// Notify lists where transitions are sent.
	Notify []Target
}

// Defaults for keys a rule may leave out.
const (
	// DefaultWindow is the window of rate and share rules.
	DefaultWindow = time.Minute
	// DefaultShiftWindow is the window of shift rules: a distribution
	// needs more decisions than a count.
	DefaultShiftWindow = 10 * time.Minute
	// DefaultCooldown keeps a rule that resolved from firing again at once.
	DefaultCooldown = 5 * time.Minute
	// DefaultMinEvents is the sample a rate (with a factor) or share
	// evaluation needs.
	DefaultMinEvents = 20
	// DefaultShiftMinEvents is the sample a shift evaluation needs. Two
	// samples of the same distribution have a PSI of about
	// (bins-1)·(1/n+1/m) (PSI); with 500 decisions on each side that is
	// 0.036, well under the customary 0.1 and 0.25 thresholds.
	DefaultShiftMinEvents = 500
)

// Limits on a rule's durations.
const (
	maxWindow     = 24 * time.Hour
	maxPrevious   = 24 * time.Hour
	maxSameDays   = 28
	maxFor        = 24 * time.Hour
	maxCooldown   = 7 * 24 * time.Hour
	maxNameLength = 100
)

// Baseline is the window a rule's window is compared with. The zero
// Baseline is none.
type Baseline struct {
	// Previous is the width of the period just before the window ("1h":
	// the hour before it); 0 when Days is used.
	Previous time.Duration
	// Days shifts the window back by whole days, keeping its width: 1 is
	// the same time yesterday, 7 the same time last week.
	Days int
}

// IsZero reports whether b is no baseline.
func (b Baseline) IsZero() bool { return b.Previous == 0 && b.Days == 0 }

// Of returns the baseline window of window w.
func (b Baseline) Of(w Window) Window {
	if b.Days > 0 {
		shift := time.Duration(b.Days) * 24 * time.Hour
		return Window{From: w.From.Add(-shift), To: w.To.Add(-shift)}
	}
	return Window{From: w.From.Add(-b.Previous), To: w.From}
}

// String returns the baseline as written in a rule: "1h", "1d", "7d".
func (b Baseline) String() string {
	switch {
	case b.Days > 0:
		return fmt.Sprintf("%dd", b.Days)
	case b.Previous > 0:
		return formatMinutes(b.Previous)
	}
	return ""
}

// Window is a half-open range of event time [From, To).
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// IsZero reports whether w is the zero window (no baseline).
func (w Window) IsZero() bool { return w.From.IsZero() && w.To.IsZero() }

// Minutes returns the width of w in minutes.
func (w Window) Minutes() float64 { return w.To.Sub(w.From).Minutes() }

// formatMinutes writes a duration without trailing zero units, as rules
// are written: "1h", "10m", "1h30m" (time.Duration prints "1h0m0s").
func formatMinutes(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
