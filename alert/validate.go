package alert

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

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
