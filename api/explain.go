package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/explain"
)

// Explain (SPEC section 11) runs in three rounds of counting, each an
// ExplainCounts: the single values of the window and the baseline, then
// the pairs of the analysis' candidates, then the sparkline series of the
// drivers. Counts of disjoint sets add up exactly, so a federation sums
// each round over its collectors and analyses once (RunExplain with the
// federation's ExplainCounts): its answer is the answer of one collector
// holding every decision.

// The modes of an explanation, for readers that see only api.
const (
	ExplainVolume = explain.ModeVolume
	ExplainDeny   = explain.ModeDeny
	ExplainLabel  = explain.ModeLabel
)

// ExplainQuery asks what drives a window (SPEC section 11).
type ExplainQuery struct {
	// Window is the width of the window [until-window, until): a Go
	// duration (10m, 1h30m) or a number of days (1d).
	Window string `query:"window,default=10m"`
	// Baseline is the previous period of this width (1h, 24h), or, as Nd
	// (1d, 7d), the window's time of day on each of the N days before.
	Baseline string `query:"baseline,default=1h"`
	// Until ends the window: a duration ago (5m) or an RFC 3339 time; ""
	// is now.
	Until  string       `query:"until"`
	Filter string       `query:"filter"`
	Mode   explain.Mode `query:"mode"`
}

// ExplainCountsQuery asks one round of an explanation's counts, over the
// periods of an ExplainQuery whose end is fixed.
type ExplainCountsQuery struct {
	Window   string       `query:"window,default=10m"`
	Baseline string       `query:"baseline,default=1h"`
	Until    time.Time    `query:"until,required"`
	Filter   string       `query:"filter"`
	Mode     explain.Mode `query:"mode"`
	// Singles asks for the counts of every value on both sides.
	Singles bool `query:"singles"`
	// Pairs asks for the pair counts of these values on both sides.
	Pairs Values `query:"pairs"`
	// Series asks for the sparkline of each of these drivers (each a
	// value, or a value and the one it is with).
	Series Drivers `query:"series"`
}

// Values is a list of dimension values; it travels as JSON.
type Values []explain.Value

// MarshalText writes the list as JSON; an empty list is "".
func (v Values) MarshalText() ([]byte, error) {
	if len(v) == 0 {
		return nil, nil
	}
	return json.Marshal([]explain.Value(v))
}

// UnmarshalText reads what MarshalText writes.
func (v *Values) UnmarshalText(b []byte) error {
	*v = nil
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, (*[]explain.Value)(v))
}

// Drivers is a list of drivers, each its values; it travels as JSON.
type Drivers [][]explain.Value

// MarshalText writes the list as JSON; an empty list is "".
func (d Drivers) MarshalText() ([]byte, error) {
	if len(d) == 0 {
		return nil, nil
	}
	return json.Marshal([][]explain.Value(d))
}

// UnmarshalText reads what MarshalText writes.
func (d *Drivers) UnmarshalText(b []byte) error {
	*d = nil
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, (*[][]explain.Value)(d))
}

// ExplainCounts is one round's counts. In ModeDeny, Window counts the
// window's denies and Baseline its allows; in ModeLabel its fraud and its
// legit decisions, by the labels in force when counted.
type ExplainCounts struct {
	Window        explain.Counts     `json:"window"`
	Baseline      explain.Counts     `json:"baseline"`
	WindowPairs   explain.PairCounts `json:"window_pairs"`
	BaselinePairs explain.PairCounts `json:"baseline_pairs"`
	// Series holds one sparkline per driver asked, SeriesBins counts over
	// the plan's series span each: the driver's decisions (its denies in
	// ModeDeny, its fraud in ModeLabel).
	Series [][]uint64 `json:"series"`
	// SeriesBounded is set when a series was read from rollups in which
	// its value fell, for some period, into the "other" remainder (its
	// counts are then lower bounds), or, for a pair in a wide window, as
	// the smaller of its two values' series (an upper bound).
	SeriesBounded bool `json:"series_bounded,omitempty"`
}

// Explanation is the answer of Explain: SPEC section 11's JSON, with the
// extra fields of explain.Result and a sparkline per driver.
type Explanation struct {
	Mode     explain.Mode `json:"mode"`
	Window   explain.Span `json:"window"`
	Baseline explain.Span `json:"baseline"`
	Excess   float64      `json:"excess"`
	DenyRate *float64     `json:"deny_rate,omitempty"`
	// FraudRate is, in ModeLabel, the window's fraud over its labelled
	// decisions.
	FraudRate *float64 `json:"fraud_rate,omitempty"`
	Tests     int      `json:"tests"`
	Drivers   []Driver `json:"drivers"`
	// Bounded is set when some counts came from rollups that keep only
	// the top values of each minute or hour and counted a value in their
	// "other" remainder (long baselines and wide windows are read from
	// them): counts of such values are then lower bounds on the window's
	// side and upper bounds on the baseline's (a driver whose own counts
	// are bounds has Bound set), and the tests only more cautious. It is
	// set too when a sparkline is a bound (ExplainCounts.SeriesBounded).
	Bounded bool `json:"bounded,omitempty"`
	// SeriesFrom and SeriesTo are the span of every driver's Series.
	SeriesFrom time.Time `json:"series_from"`
	SeriesTo   time.Time `json:"series_to"`
}

// Driver is one driver and its sparkline: SeriesBins counts of its
// decisions (its denies in ModeDeny, its fraud in ModeLabel) over
// [SeriesFrom, SeriesTo), oldest first.
type Driver struct {
	explain.Driver
	Series []uint64 `json:"series"`
}

// SeriesBins is the length of a driver's sparkline; it spans
// seriesWindows windows, the last one the window explained.
const (
	SeriesBins    = 30
	seriesWindows = 6
)

// maxExplainValues bounds the values a counts round takes: the analysis
// asks for at most its candidates' pairs and its drivers' series.
const maxExplainValues = 64

// ExplainPlan is what an explanation counts: the window, the baseline's
// periods and the span of the sparklines.
type ExplainPlan struct {
	Mode   explain.Mode
	Window explain.Period
	// Baseline is the whole baseline; Periods are its parts (one for a
	// previous period, one per day for the same time of day), in ModeVolume
	// only.
	Baseline explain.Period
	Periods  []explain.Period
	// SeriesFrom and SeriesTo are the span of the sparklines.
	SeriesFrom, SeriesTo time.Time
}

// Longest window and baseline an explanation takes.
const (
	maxExplainSpan = 31 * 24 * time.Hour
	maxExplainDays = 28
)

// parseSpan reads a positive Go duration or a whole number of days (7d):
// days is set for the latter.
func parseSpan(s string) (d time.Duration, days int, err error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err = strconv.Atoi(n)
		if err != nil || days <= 0 || days > maxExplainDays {
			return 0, 0, fmt.Errorf("%q: want a number of days from 1 to %d, as in 7d", s, maxExplainDays)
		}
		return time.Duration(days) * 24 * time.Hour, days, nil
	}
	d, err = time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("%q: want a positive duration (10m, 1h, 24h) or days (7d)", s)
	}
	if d > maxExplainSpan {
		return 0, 0, fmt.Errorf("%q: want at most %v", s, maxExplainSpan)
	}
	return d, 0, nil
}

// ParseUntil reads the end of an explained window: "" is now, else a
// duration ago (5m, 1d) or an RFC 3339 time. Its errors wrap ErrInvalid.
func ParseUntil(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, _, err := parseSpan(s)
	if err != nil {
		return time.Time{}, Invalid(fmt.Errorf("until: %q is neither a duration ago (15m, 2h, 7d) nor an RFC 3339 time (2026-11-25T02:00:00Z)", s))
	}
	return now.Add(-d).UTC(), nil
}

// Defaults of an ExplainQuery's empty Window and Baseline.
const (
	DefaultExplainWindow   = "10m"
	DefaultExplainBaseline = "1h"
)

// PlanExplain checks q and returns its plan; an empty Window or Baseline
// is the default. Its errors wrap ErrInvalid and name the parameter.
func PlanExplain(q ExplainCountsQuery) (ExplainPlan, error) {
	q.Window = cmp.Or(q.Window, DefaultExplainWindow)
	q.Baseline = cmp.Or(q.Baseline, DefaultExplainBaseline)
	if q.Mode > explain.ModeLabel {
		return ExplainPlan{}, Invalid(fmt.Errorf("mode: unknown mode %d (want volume, deny or label)", q.Mode))
	}
	if q.Until.IsZero() {
		return ExplainPlan{}, Invalid(fmt.Errorf("until: required"))
	}
	w, _, err := parseSpan(q.Window)
	if err != nil {
		return ExplainPlan{}, Invalid(fmt.Errorf("window: %w", err))
	}
	b, days, err := parseSpan(q.Baseline)
	if err != nil {
		return ExplainPlan{}, Invalid(fmt.Errorf("baseline: %w", err))
	}
	if days > 0 && w > 24*time.Hour {
		return ExplainPlan{}, Invalid(fmt.Errorf("baseline: %s compares the same time of day, which needs a window of at most a day, not %s", q.Baseline, q.Window))
	}
	if n := len(q.Pairs) + len(q.Series); n > maxExplainValues {
		return ExplainPlan{}, Invalid(fmt.Errorf("pairs and series: %d values, want at most %d", n, maxExplainValues))
	}
	for _, d := range q.Series {
		if len(d) == 0 || len(d) > 2 {
			return ExplainPlan{}, Invalid(fmt.Errorf("series: a driver has %d values, want 1 or 2", len(d)))
		}
	}
	until := q.Until.UTC()
	p := ExplainPlan{
		Mode:       q.Mode,
		Window:     explain.Period{From: until.Add(-w), To: until},
		SeriesFrom: until.Add(-seriesWindows * w),
		SeriesTo:   until,
	}
	switch {
	case q.Mode.Split():
		p.Baseline = p.Window
	case days > 0:
		for k := days; k >= 1; k-- {
			day := time.Duration(k) * 24 * time.Hour
			p.Periods = append(p.Periods, explain.Period{From: p.Window.From.Add(-day), To: until.Add(-day)})
		}
		p.Baseline = explain.Period{From: p.Periods[0].From, To: p.Periods[len(p.Periods)-1].To, Width: time.Duration(days) * w}
	default:
		p.Baseline = explain.Period{From: p.Window.From.Add(-b), To: p.Window.From}
		p.Periods = []explain.Period{p.Baseline}
	}
	return p, nil
}

// RunExplain answers q from counts, which answers each round of counting
// (a collector's store, or the sum over a federation's collectors); now
// ends a window with no until.
func RunExplain(ctx context.Context, q ExplainQuery, now time.Time, counts func(context.Context, ExplainCountsQuery) (ExplainCounts, error)) (Explanation, error) {
	until, err := ParseUntil(q.Until, now)
	if err != nil {
		return Explanation{}, err
	}
	cq := ExplainCountsQuery{Window: q.Window, Baseline: q.Baseline, Until: until, Filter: q.Filter, Mode: q.Mode}
	plan, err := PlanExplain(cq)
	if err != nil {
		return Explanation{}, err
	}
	round := cq
	round.Singles = true
	singles, err := counts(ctx, round)
	if err != nil {
		return Explanation{}, err
	}
	an, err := explain.Prepare(explain.Input{
		Mode:     plan.Mode,
		Window:   explain.Side{Period: plan.Window, Counts: singles.Window},
		Baseline: explain.Side{Period: plan.Baseline, Counts: singles.Baseline},
	}, explain.Options{})
	if err != nil {
		return Explanation{}, fmt.Errorf("explain: %w", err)
	}
	var pairs ExplainCounts
	if cands := an.Candidates(); len(cands) > 1 {
		round = cq
		round.Pairs = cands
		if pairs, err = counts(ctx, round); err != nil {
			return Explanation{}, err
		}
	}
	res := an.Explain(pairs.WindowPairs, pairs.BaselinePairs)
	out := Explanation{
		Mode: res.Mode, Window: res.Window, Baseline: res.Baseline, Excess: res.Excess,
		DenyRate: res.DenyRate, FraudRate: res.FraudRate, Tests: res.Tests, Drivers: make([]Driver, len(res.Drivers)),
		Bounded:    truncated(&singles.Window) || truncated(&singles.Baseline),
		SeriesFrom: plan.SeriesFrom, SeriesTo: plan.SeriesTo,
	}
	if len(res.Drivers) == 0 {
		return out, nil
	}
	round = cq
	for i := range res.Drivers {
		out.Drivers[i].Driver = res.Drivers[i]
		round.Series = append(round.Series, res.Drivers[i].Values())
	}
	series, err := counts(ctx, round)
	if err != nil {
		return Explanation{}, err
	}
	for i := range out.Drivers {
		if i < len(series.Series) {
			out.Drivers[i].Series = series.Series[i]
		}
	}
	out.Bounded = out.Bounded || series.SeriesBounded
	return out, nil
}

// truncated reports whether c counted a value in a rest (explain.Tally).
func truncated(c *explain.Counts) bool {
	for i := range c.Dims {
		if c.Dims[i].Rest > 0 {
			return true
		}
	}
	return false
}

// mergeExplainCounts adds the members' counts: the sets they count are
// disjoint (each decision is stored by one collector).
func mergeExplainCounts(_ ExplainCountsQuery, parts []part[ExplainCounts]) (ExplainCounts, error) {
	cs := answers(parts)
	out := cs[0]
	for i := range cs[1:] {
		c := &cs[i+1]
		out.Window.Merge(&c.Window)
		out.Baseline.Merge(&c.Baseline)
		out.WindowPairs.Merge(&c.WindowPairs)
		out.BaselinePairs.Merge(&c.BaselinePairs)
		out.SeriesBounded = out.SeriesBounded || c.SeriesBounded
		if len(c.Series) != len(out.Series) {
			return ExplainCounts{}, fmt.Errorf("explain counts: a collector answered %d series, another %d", len(c.Series), len(out.Series))
		}
		for j, s := range c.Series {
			if len(s) != len(out.Series[j]) {
				return ExplainCounts{}, fmt.Errorf("explain counts: a collector answered a series of %d bins, another of %d", len(s), len(out.Series[j]))
			}
			for k, n := range s {
				out.Series[j][k] += n
			}
		}
	}
	return out, nil
}

// federateExplain analyses once over the sum of the members' counts. The
// members whose single values the first round added are the ones every
// later round asks, and a later round fails if one of them does: pair
// counts or series from another set of collectors would not add up with
// the singles. A member that failed the first round is left out (and named,
// as in every federated read) and not asked again.
func federateExplain(ctx context.Context, f *Federation, q ExplainQuery) (Explanation, error) {
	var pinned []bool
	counts := func(ctx context.Context, cq ExplainCountsQuery) (ExplainCounts, error) {
		parts := each(ctx, f, func(ctx context.Context, i int, r Reader) (ExplainCounts, error) {
			if pinned != nil && !pinned[i] {
				return ExplainCounts{}, errNotAsked
			}
			return r.ExplainCounts(ctx, cq)
		})
		if pinned == nil {
			if err := settle(ctx, f, parts); err != nil {
				return ExplainCounts{}, err
			}
			pinned = make([]bool, len(parts))
			for i, p := range parts {
				pinned[i] = p.err == nil
			}
			return mergeExplainCounts(cq, parts)
		}
		var kept []part[ExplainCounts]
		for i, p := range parts {
			if !pinned[i] {
				continue
			}
			f.members[i].record(p.err)
			if p.err != nil {
				return ExplainCounts{}, fmt.Errorf("explain: %w; its first counts were added already, so the rest would not add up",
					memberError(p.member, p.err))
			}
			kept = append(kept, p)
		}
		return mergeExplainCounts(cq, kept)
	}
	return RunExplain(ctx, q, time.Now(), counts)
}

// errNotAsked stands for the answer of a member a round did not ask.
var errNotAsked = errors.New("not asked")

// ExplainCounter counts one round of an explanation from decisions, as a
// reader does that holds them: the decisions of the plan's window and
// baseline periods (Add), and of its series span (AddSeries), each that
// matches the query's filter, each once.
type ExplainCounter struct {
	q    ExplainCountsQuery
	plan ExplainPlan
	out  ExplainCounts
	// series holds each driver asked, as explain.Driver matches them.
	series []explain.Driver
}

// NewExplainCounter returns a counter for q, whose plan is plan.
func NewExplainCounter(q ExplainCountsQuery, plan ExplainPlan) *ExplainCounter {
	c := &ExplainCounter{q: q, plan: plan}
	if len(q.Pairs) > 0 {
		c.out.WindowPairs = explain.NewPairCounts(q.Pairs)
		c.out.BaselinePairs = explain.NewPairCounts(q.Pairs)
	}
	for _, vals := range q.Series {
		c.series = append(c.series, explain.Driver{Dimension: vals[0].Dim, Value: vals[0].Value, With: vals[1:]})
		c.out.Series = append(c.out.Series, make([]uint64, SeriesBins))
	}
	return c
}

// Add counts d, a decision of the window or (baseline set) of a baseline
// period, as the round asks. In a split mode (explain.Mode.Split) d is a
// decision of the window, counted on the side explain.Mode.Side puts it:
// among the denies or the allows (a challenge or an error in neither), or
// among the fraud or the legit decisions by d.Label (an unlabelled
// decision in neither).
func (c *ExplainCounter) Add(d *decision.Decision, baseline bool) {
	if c.q.Mode.Split() {
		window, ok := c.q.Mode.Side(d)
		if !ok {
			return
		}
		baseline = !window
	}
	counts, pairs := &c.out.Window, &c.out.WindowPairs
	if baseline {
		counts, pairs = &c.out.Baseline, &c.out.BaselinePairs
	}
	if c.q.Singles {
		counts.Add(d)
	}
	if len(c.q.Pairs) > 0 {
		pairs.Add(d)
	}
}

// AddSeries counts d, a decision of the series span, in the bin of its
// event time of every driver asked that it matches (only a deny in
// ModeDeny, only a fraud in ModeLabel: a decision on the window side).
func (c *ExplainCounter) AddSeries(d *decision.Decision) {
	if len(c.series) == 0 {
		return
	}
	if window, _ := c.q.Mode.Side(d); c.q.Mode.Split() && !window {
		return
	}
	off, span := d.EventTime.Sub(c.plan.SeriesFrom), c.plan.SeriesTo.Sub(c.plan.SeriesFrom)
	if off < 0 || off >= span {
		return
	}
	hi, lo := bits.Mul64(uint64(off), SeriesBins)
	b, _ := bits.Div64(hi, lo, uint64(span))
	for i := range c.series {
		if c.series[i].Match(d) {
			c.out.Series[i][b]++
		}
	}
}

// Counts returns what the counter counted.
func (c *ExplainCounter) Counts() ExplainCounts { return c.out }
