package collector

import (
	"context"

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
		return r.db.Scan(ctx, p.From, p.To, f, func(d *decision.Decision) error {
			c.Add(d, baseline)
			return nil
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
		err := r.db.Scan(ctx, plan.SeriesFrom, plan.SeriesTo, f, func(d *decision.Decision) error {
			c.AddSeries(d)
			return nil
		})
		if err != nil {
			return api.ExplainCounts{}, kinded(err)
		}
	}
	return c.Counts(), nil
}
