package alert

import (
	"errors"
	"fmt"
	"math"
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

// Validate checks r as ParseRules does and returns every problem, one per
// line, each naming the rule and the key: `alert "deny spike": for: ...`.
func (r *Rule) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if msg := checkName(r.Name); msg != "" {
		bad("name", "%s", msg)
	}
	if msg := checkFilter(r.Filter); msg != "" {
		bad("filter", "%s", msg)
	}
	switch r.Kind {
	case KindRate, KindShare:
	case KindShift:
		if r.Score < 0 || r.Score >= decision.NumScores {
			bad("score", "want risk, ato, bot or abuse")
		}
	default:
		bad("kind", "want rate, share or shift, got %q", r.Kind)
	}
	if r.Kind == KindShare && r.Filter.Empty() {
		bad("filter", "a share of all decisions is always 1: name the decisions to count")
	}
	if r.Window < time.Minute || r.Window > maxWindow || r.Window%time.Minute != 0 {
		bad("window", "want whole minutes from 1m to 24h, got %s", r.Window)
	}
	errs = append(errs, r.checkCondition()...)
	if r.For < 0 || r.For > maxFor {
		bad("for", "want a duration from 0 to 24h, got %s", r.For)
	}
	if r.Cooldown < 0 || r.Cooldown > maxCooldown {
		bad("cooldown", "want a duration from 0 to 7d, got %s", r.Cooldown)
	}
	if r.Kind == KindRate && r.Factor == 0 && r.MinEvents > 0 {
		bad("min_events", "a rate with a fixed band is a count, never a thin sample: drop min_events or use a factor")
	}
	seen := make(map[string]bool, len(r.Notify))
	for i, t := range r.Notify {
		if err := t.validate(); err != nil {
			bad(fmt.Sprintf("notify[%d]", i), "%v", err)
		} else if seen[t.String()] {
			bad(fmt.Sprintf("notify[%d]", i), "%s is listed twice", t.Redacted())
		}
		seen[t.String()] = true
	}
	return under(r.label(-1), errs)
}

// under prefixes each error with label, one per line, so that every
// problem of a rule names it: `alert "x": for: ...`.
func under(label string, errs []error) error {
	for i, err := range errs {
		errs[i] = fmt.Errorf("%s: %w", label, err)
	}
	return errors.Join(errs...)
}

// checkCondition checks the band, factor and baseline against the kind.
func (r *Rule) checkCondition() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for _, b := range []struct {
		key string
		v   *float64
	}{{"above", r.Above}, {"below", r.Below}} {
		switch {
		case b.v == nil:
		case math.IsNaN(*b.v) || math.IsInf(*b.v, 0) || *b.v < 0:
			bad(b.key, "want a number >= 0, got %v", *b.v)
		case r.Kind == KindShare && *b.v > 1:
			bad(b.key, "a share is a fraction from 0 to 1 (0.2 = 20%%), got %v", *b.v)
		}
	}
	band := r.Above != nil || r.Below != nil
	factor := r.Factor != 0
	if math.IsNaN(r.Factor) || math.IsInf(r.Factor, 0) || r.Factor < 0 || r.Factor == 1 {
		bad("factor", "want a number > 0 other than 1 (3 = three times the baseline, 0.5 = half of it), got %v", r.Factor)
	}
	if r.Baseline.Days < 0 || r.Baseline.Days > maxSameDays || r.Baseline.Previous < 0 || r.Baseline.Previous > maxPrevious ||
		r.Baseline.Previous%time.Minute != 0 || (r.Baseline.Days > 0 && r.Baseline.Previous > 0) {
		bad("baseline", "want whole minutes up to 24h (the period before the window) or 1d to 28d (the same time that many days ago), got %+v", r.Baseline)
	}
	if r.Baseline.Days > 0 && time.Duration(r.Baseline.Days)*24*time.Hour < r.Window {
		bad("baseline", "%s is shorter than the window (%s)", r.Baseline, formatMinutes(r.Window))
	}
	if r.Kind == KindShift {
		switch {
		case r.Above == nil:
			bad("above", "a shift rule needs the PSI it fires above (0.25 is a customary significant shift)")
		case *r.Above == 0:
			bad("above", "a PSI is never below 0: want a number > 0")
		}
		if r.Below != nil {
			bad("below", "a shift rule fires above a PSI only")
		}
		if factor {
			bad("factor", "a shift rule compares with its baseline already: use above")
		}
		if r.Baseline.IsZero() {
			bad("baseline", "a shift rule needs a baseline to compare with (1h, 1d or 7d)")
		}
		return errs
	}
	switch {
	case factor && r.Factor > 1 && r.Below != nil:
		bad("below", "a rise (factor > 1) takes above as its floor, not below")
	case factor && r.Factor < 1 && r.Above != nil:
		bad("above", "a drop (factor < 1) takes below as its ceiling, not above")
	case !band && !factor:
		bad("above", "missing: set above or below (a fixed band) or factor and baseline")
	case factor && r.Baseline.IsZero():
		bad("baseline", "a factor needs a baseline (1h, 1d or 7d)")
	case !factor && !r.Baseline.IsZero():
		bad("baseline", "a fixed band has no baseline: drop it or use a factor")
	case r.Above != nil && r.Below != nil && *r.Below >= *r.Above:
		bad("below", "the band is empty: below (%v) must be less than above (%v)", *r.Below, *r.Above)
	}
	return errs
}

// label names the rule in errors: `alert "NAME"`, or `alert N` (1-based)
// when it has no usable name; index < 0 when unknown.
func (r *Rule) label(index int) string {
	if checkName(r.Name) == "" {
		return fmt.Sprintf("alert %q", r.Name)
	}
	if index >= 0 {
		return fmt.Sprintf("alert %d", index+1)
	}
	return "alert"
}

// checkName returns what is wrong with a rule name, "" when nothing is.
func checkName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "missing: every alert needs a name"
	case name != strings.TrimSpace(name):
		return fmt.Sprintf("%q has leading or trailing space", name)
	case len(name) > maxNameLength:
		return fmt.Sprintf("longer than %d bytes", maxNameLength)
	}
	for _, c := range name {
		if c < ' ' || c == 0x7f || c == '\uFFFD' {
			return fmt.Sprintf("%q has a control character or invalid UTF-8", name)
		}
	}
	return ""
}

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
