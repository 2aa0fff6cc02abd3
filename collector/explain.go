package collector

import (
	"context"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/explain"
)

// Explain says what drives q's window, from this collector's store.
func (r *Reader) Explain(ctx context.Context, q api.ExplainQuery) (api.Explanation, error) {
	e, err := api.RunExplain(ctx, q, r.now(), r.ExplainCounts)
	return e, kinded(err)
}

// ExplainCounts counts one round of an explanation. Without a filter, in
// volume and deny mode, it reads the dimension rollups where it can
// (rolledExplainCounts); with a filter, or in label mode (labels change
// after the fact), it reads the decisions of every period (store.Scan).
// In label mode each decision carries its label in force, as every
// decision the Reader returns does: the labels are read once per round
// and looked up per decision.
func (r *Reader) ExplainCounts(ctx context.Context, q api.ExplainCountsQuery) (api.ExplainCounts, error) {
	plan, err := api.PlanExplain(q)
	if err != nil {
		return api.ExplainCounts{}, err
	}
	f, err := r.filter(q.Filter)
	if err != nil {
		return api.ExplainCounts{}, err
	}
	if f == nil && q.Mode != explain.ModeLabel {
		c, err := r.rolledExplainCounts(ctx, q, plan)
		return c, kinded(err)
	}
	return r.scannedExplainCounts(ctx, q, plan, f)
}

// scannedExplainCounts counts a round from the decisions of its periods
// that f matches (nil matches all).
func (r *Reader) scannedExplainCounts(ctx context.Context, q api.ExplainCountsQuery, plan api.ExplainPlan, f *decision.Filter) (api.ExplainCounts, error) {
	label, err := r.explainLabels(ctx, q.Mode)
	if err != nil {
		return api.ExplainCounts{}, err
	}
	c := api.NewExplainCounter(q, plan)
	scan := func(p explain.Period, baseline bool) error {
		return r.scanMatching(ctx, p.From, p.To, f, func(d *decision.Decision) {
			label(d)
			c.Add(d, baseline)
		})
	}
	if q.Singles || len(q.Pairs) > 0 {
		if err := scan(plan.Window, false); err != nil {
			return api.ExplainCounts{}, kinded(err)
		}
		for _, p := range plan.Periods {
			if err := scan(p, true); err != nil {
				return api.ExplainCounts{}, kinded(err)
			}
		}
	}
	if len(q.Series) > 0 {
		err := r.scanMatching(ctx, plan.SeriesFrom, plan.SeriesTo, f, func(d *decision.Decision) {
			label(d)
			c.AddSeries(d)
		})
		if err != nil {
			return api.ExplainCounts{}, kinded(err)
		}
	}
	return c.Counts(), nil
}

// explainLabels returns what sets a scanned decision's label before it is
// counted: its label in force in label mode, nothing in the other modes,
// which do not look at labels.
func (r *Reader) explainLabels(ctx context.Context, mode explain.Mode) (func(*decision.Decision), error) {
	if mode != explain.ModeLabel {
		return func(*decision.Decision) {}, nil
	}
	book, err := r.db.LabelBook(ctx, time.Time{})
	if err != nil {
		return nil, kinded(err)
	}
	return func(d *decision.Decision) {
		d.Label = ""
		if e, ok := book.Of(d); ok {
			d.Label = e.Class
		}
	}, nil
}

// scanMatching calls fn with each stored decision of [from, to) that f
// matches (nil matches all), in event-time order.
func (r *Reader) scanMatching(ctx context.Context, from, to time.Time, f *decision.Filter, fn func(*decision.Decision)) error {
	for d, err := range r.db.Scan(ctx, from, to) {
		if err != nil {
			return err
		}
		if f.Match(d) {
			fn(d)
		}
	}
	return nil
}
