package alert

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Source answers the aggregates a rule is evaluated on, by event time.
// Evaluation asks only for windows whose bounds are whole minutes, so a
// Source may answer from per-minute rollups or per-rule minute counters.
// It must be safe for concurrent use if the Evaluator and a Backtest share
// it.
type Source interface {
	// Count returns how many decisions match f (nil: all decisions) with
	// an event time in [from, to).
	Count(ctx context.Context, f *decision.Filter, from, to time.Time) (uint64, error)
	// Histogram returns the distribution of score s over the decisions
	// matching f with an event time in [from, to).
	Histogram(ctx context.Context, f *decision.Filter, s decision.Score, from, to time.Time) (decision.Histogram, error)
}

// Verdict is what an evaluation concluded.
type Verdict string

// The verdicts.
const (
	// VerdictTrue: the condition holds.
	VerdictTrue Verdict = "true"
	// VerdictFalse: the condition does not hold.
	VerdictFalse Verdict = "false"
	// VerdictThin: the sample is below the rule's MinEvents (in the window
	// or the baseline), or empty where a value needs one (a share of no
	// decisions, a factor of an empty baseline, a shift of no scores), so
	// the evaluation decides nothing: it neither fires nor resolves the
	// rule.
	VerdictThin Verdict = "thin"
)

// Observation is one evaluation of a rule at a minute end. It holds no NaN
// or infinity, so it marshals to JSON.
type Observation struct {
	// End is the minute end evaluated; Window is [End-Rule.Window, End).
	End    time.Time `json:"end"`
	Window Window    `json:"window"`
	// Baseline is the baseline window, zero for a fixed band.
	Baseline Window `json:"baseline,omitzero"`
	// Value is the measure: decisions per minute (rate), a fraction (share)
	// or a PSI (shift); 0 when the sample is empty.
	Value float64 `json:"value"`
	// Threshold is what Value is compared with: the band's limit nearest
	// to Value (the one crossed when the condition holds), or Factor times
	// the baseline's value (raised to Above for a rise, lowered to Below
	// for a drop).
	Threshold float64 `json:"threshold"`
	Verdict   Verdict `json:"verdict"`
	// Events and BaselineEvents are the samples MinEvents applies to (see
	// Observe).
	Events         uint64 `json:"events"`
	BaselineEvents uint64 `json:"baseline_events"`
}

// excess is how far Value lies beyond Threshold when the condition holds.
func (o *Observation) excess() float64 { return math.Abs(o.Value - o.Threshold) }

// Observe evaluates r at minute end end (a whole minute). The samples that
// MinEvents applies to are:
//
//   - rate with a fixed band: none (the count is the value; never thin);
//   - rate with a factor: the matching decisions in the baseline;
//   - share: all decisions in the window, and in the baseline with a factor;
//   - shift: the matching scored decisions in the window and the baseline.
func Observe(ctx context.Context, src Source, r *Rule, end time.Time) (Observation, error) {
	if !end.Equal(end.Truncate(time.Minute)) {
		return Observation{}, fmt.Errorf("alert %q: evaluated at %s, not a whole minute", r.Name, end.Format(time.RFC3339Nano))
	}
	o := Observation{End: end, Window: Window{From: end.Add(-r.Window), To: end}}
	if !r.Baseline.IsZero() {
		o.Baseline = r.Baseline.Of(o.Window)
	}
	var err error
	switch r.Kind {
	case KindRate, KindShare:
		err = observeCount(ctx, src, r, &o)
	case KindShift:
		err = observeShift(ctx, src, r, &o)
	default:
		err = fmt.Errorf("unknown kind %q", r.Kind)
	}
	if err != nil {
		return o, fmt.Errorf("alert %q at %s: %w", r.Name, end.UTC().Format(time.RFC3339), err)
	}
	return o, nil
}

// measure is one side's value and sample.
type measure struct {
	value  float64
	sample uint64
}

// countMeasure measures a rate or share over w.
func countMeasure(ctx context.Context, src Source, r *Rule, w Window) (measure, error) {
	n, err := src.Count(ctx, r.Filter, w.From, w.To)
	if err != nil {
		return measure{}, err
	}
	if r.Kind == KindRate {
		return measure{value: float64(n) / w.Minutes(), sample: n}, nil
	}
	all, err := src.Count(ctx, nil, w.From, w.To)
	if err != nil || all == 0 {
		return measure{}, err
	}
	return measure{value: float64(n) / float64(all), sample: all}, nil
}

// observeCount evaluates a rate or share rule.
func observeCount(ctx context.Context, src Source, r *Rule, o *Observation) error {
	win, err := countMeasure(ctx, src, r, o.Window)
	if err != nil {
		return err
	}
	o.Value = win.value
	if r.Factor == 0 {
		if r.Kind == KindShare {
			o.Events = win.sample
		}
		o.Verdict, o.Threshold = band(r, o.Value)
		if r.Kind == KindShare && o.Events < max(r.MinEvents, 1) {
			o.Verdict = VerdictThin
		}
		return nil
	}
	base, err := countMeasure(ctx, src, r, o.Baseline)
	if err != nil {
		return err
	}
	o.BaselineEvents = base.sample
	o.Threshold = r.Factor * base.value
	if r.Factor > 1 && r.Above != nil {
		o.Threshold = max(o.Threshold, *r.Above)
	}
	if r.Factor < 1 && r.Below != nil {
		o.Threshold = min(o.Threshold, *r.Below)
	}
	if r.Kind == KindShare {
		o.Events = win.sample
	}
	o.Verdict = verdict(r.Factor > 1 && o.Value > o.Threshold || r.Factor < 1 && o.Value < o.Threshold)
	if o.BaselineEvents < max(r.MinEvents, 1) || (r.Kind == KindShare && o.Events < max(r.MinEvents, 1)) {
		o.Verdict = VerdictThin
	}
	return nil
}

// observeShift evaluates a shift rule.
func observeShift(ctx context.Context, src Source, r *Rule, o *Observation) error {
	win, err := src.Histogram(ctx, r.Filter, r.Score, o.Window.From, o.Window.To)
	if err != nil {
		return err
	}
	base, err := src.Histogram(ctx, r.Filter, r.Score, o.Baseline.From, o.Baseline.To)
	if err != nil {
		return err
	}
	o.Threshold = *r.Above
	o.Events, o.BaselineEvents = win.Total, base.Total
	if o.Events < max(r.MinEvents, 1) || o.BaselineEvents < max(r.MinEvents, 1) {
		o.Verdict = VerdictThin
		return nil
	}
	o.Value = PSI(ScoreBins(&base), ScoreBins(&win))
	o.Verdict = verdict(o.Value > o.Threshold)
	return nil
}

// band applies a fixed band to v: the verdict, and the limit crossed or,
// when none is, the nearest one.
func band(r *Rule, v float64) (Verdict, float64) {
	switch {
	case r.Above != nil && v > *r.Above:
		return VerdictTrue, *r.Above
	case r.Below != nil && v < *r.Below:
		return VerdictTrue, *r.Below
	case r.Above == nil:
		return VerdictFalse, *r.Below
	case r.Below == nil || *r.Above-v < v-*r.Below:
		return VerdictFalse, *r.Above
	}
	return VerdictFalse, *r.Below
}

func verdict(b bool) Verdict {
	if b {
		return VerdictTrue
	}
	return VerdictFalse
}
