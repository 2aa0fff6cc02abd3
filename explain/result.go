package explain

import (
	"slices"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Result is an explanation: the two sides compared and the drivers, the
// largest excess first. Its JSON is SPEC section 11's, with extra fields.
// No number in it is NaN or infinite.
type Result struct {
	Mode Mode `json:"mode"`
	// Window and Baseline are the sides compared; in ModeDeny they are the
	// window's denies and its allows, in ModeLabel its fraud and its legit
	// decisions, both over the window's period.
	Window   Span `json:"window"`
	Baseline Span `json:"baseline"`
	// Excess is the window's events beyond what the baseline rate predicts,
	// Window.Count - Baseline.Count × (window width / baseline width); in
	// the split modes it is zero by construction.
	Excess float64 `json:"excess"`
	// DenyRate is, in ModeDeny, the window's denies over its denies and
	// allows.
	DenyRate *float64 `json:"deny_rate,omitempty"`
	// FraudRate is, in ModeLabel, the window's fraud-labelled decisions
	// over its labelled ones.
	FraudRate *float64 `json:"fraud_rate,omitempty"`
	// Tests is the number of tests (single values and pairs) corrected
	// for together.
	Tests   int      `json:"tests"`
	Drivers []Driver `json:"drivers"`
}

// Span is one side of a comparison.
type Span struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Seconds is the time the side covers (see Period.Width).
	Seconds float64 `json:"seconds"`
	Count   uint64  `json:"count"`
}

// Driver is a value, or two values seen together, over-represented in the
// window. Window and Baseline count the decisions that have it (in
// ModeDeny: the denies and the allows that have it).
type Driver struct {
	Dimension decision.Dimension `json:"dimension"`
	Value     string             `json:"value"`
	Window    uint64             `json:"window"`
	Baseline  uint64             `json:"baseline"`
	// Ratio is WindowShare / BaselineShare, with half an event in the
	// baseline when it has none.
	Ratio float64 `json:"ratio"`
	// Excess is Window - Baseline × scale: in ModeVolume the events beyond
	// the baseline rate (scale = window width / baseline width), in ModeDeny
	// the denies beyond what the driver's allows predict at the window's
	// deny odds (scale = denies / allows).
	Excess float64 `json:"excess"`
	// P is the one-sided p-value of the G-test of over-representation, Q
	// the Benjamini-Hochberg adjusted one (over Result.Tests tests).
	P float64 `json:"p"`
	// With names the second value of a pair driver; it is empty (never
	// null) for a single value.
	With []Value `json:"with"`
	Q    float64 `json:"q"`
	// WindowShare and BaselineShare are Window and Baseline over their
	// sides' counts; ShareChange is their difference (0.02 is two points).
	WindowShare   float64 `json:"window_share"`
	BaselineShare float64 `json:"baseline_share"`
	ShareChange   float64 `json:"share_change"`
	// Remaining is the leave-one-out check of ModeVolume: the window's
	// excess once the driver's events are removed from both sides, as a
	// fraction of Result.Excess, (Result.Excess - Excess) / Result.Excess.
	// 0.1 means the driver accounts for 90% of the spike; below 0 means
	// the rest of the traffic fell. Absent when the window has no excess.
	Remaining *float64 `json:"remaining,omitempty"`
	// DenyRateWithout is the leave-one-out check of ModeDeny: the window's
	// deny rate once the driver's decisions are removed (compare
	// Result.DenyRate).
	DenyRateWithout *float64 `json:"deny_rate_without,omitempty"`
	// FraudRateWithout is the same check in ModeLabel: the fraud rate once
	// the driver's decisions are removed (compare Result.FraudRate).
	FraudRateWithout *float64 `json:"fraud_rate_without,omitempty"`
	// Term is the filter that selects the driver's decisions (its values'
	// terms joined by a space): ip:203.0.113.0/24 ua:python-requests.
	Term string `json:"term"`
	// Bound is set when counts were truncated (see Tally) or a pair's
	// counts were not given: Window is then a lower bound, Baseline an
	// upper bound, and the test and the floors are conservative.
	Bound bool `json:"bound,omitempty"`
}

// Values returns the driver's values: its own, then those it is with.
func (d *Driver) Values() []Value {
	return append([]Value{{Dim: d.Dimension, Value: d.Value}}, d.With...)
}

// Match reports whether dec has every value of the driver, as Count
// counts values (decision.Dimension.Values).
func (d *Driver) Match(dec *decision.Decision) bool {
	var buf []string
	for _, v := range d.Values() {
		buf = v.Dim.Values(dec, buf[:0])
		if !slices.Contains(buf, v.Value) {
			return false
		}
	}
	return true
}

// terms joins the filter terms of vals.
func terms(vals []Value) string {
	ts := make([]string, len(vals))
	for i, v := range vals {
		ts[i] = v.Term()
	}
	return strings.Join(ts, " ")
}
