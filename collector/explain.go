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

// ExplainCounts counts one round of an explanation by reading the
// decisions of its periods (store.Scan).
func (r *Reader) ExplainCounts(ctx context.Context, q api.ExplainCountsQuery) (api.ExplainCounts, error) {
	plan, err := api.PlanExplain(q)
	if err != nil {
		return api.ExplainCounts{}, err
	}
	f, err := r.filter(q.Filter)
	if err != nil {
		return api.ExplainCounts{}, err
	}
	c := api.NewExplainCounter(q, plan)
	scan := func(p explain.Period, baseline bool) error {
		return r.scanMatching(ctx, p.From, p.To, f, func(d *decision.Decision) { c.Add(d, baseline) })
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
		err := r.scanMatching(ctx, plan.SeriesFrom, plan.SeriesTo, f, c.AddSeries)
		if err != nil {
			return api.ExplainCounts{}, kinded(err)
		}
	}
	return c.Counts(), nil
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
