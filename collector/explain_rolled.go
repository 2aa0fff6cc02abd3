package collector

import (
	"context"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/explain"
	"github.com/riskwatch/riskwatch/store"
)

// scanWindowMax is the widest window an unfiltered explanation reads
// decision by decision; a wider one is read from the dimension rollups,
// as baselines always are.
const scanWindowMax = time.Hour

// rolledExplainCounts counts a round of an unfiltered explanation in
// volume or deny mode, reading the dimension rollups (store.ValueCounts)
// instead of the decisions wherever the round allows:
//
//   - singles: the baseline's periods always; the window when it is wider
//     than scanWindowMax, else its decisions, which are then exact (a
//     minute's rollup lists only its top addresses);
//   - pairs need decisions seen together, which rollups do not keep: they
//     are counted in a scanned window only, and left unknown on the
//     rolled sides (explain then bounds them from the single counts,
//     which only makes the pair tests cautious);
//   - series: a single value's from the rollups (store.ValueSeries), a
//     pair's from the decisions of the series span.
//
// Counts read from a rollup that moved values into its rest are bounds
// (explain.Tally); a series that read one is flagged SeriesBounded. The
// counts of several collectors still add up: each is a sum over disjoint
// decisions.
func (r *Reader) rolledExplainCounts(ctx context.Context, q api.ExplainCountsQuery, plan api.ExplainPlan) (api.ExplainCounts, error) {
	wide := plan.Window.Duration() > scanWindowMax
	c := api.NewExplainCounter(q, plan)
	if !wide && (q.Singles || len(q.Pairs) > 0) {
		err := r.scanMatching(ctx, plan.Window.From, plan.Window.To, nil, func(d *decision.Decision) { c.Add(d, false) })
		if err != nil {
			return api.ExplainCounts{}, err
		}
	}
	out := c.Counts()
	rolled := func(p explain.Period, actions ...decision.Action) (explain.Counts, error) {
		v, err := r.db.ValueCounts(ctx, p.From, p.To, actions...)
		return countsOf(&v), err
	}
	var err error
	switch {
	case q.Mode == explain.ModeVolume:
		if wide && q.Singles {
			if out.Window, err = rolled(plan.Window); err != nil {
				return api.ExplainCounts{}, err
			}
		}
		if q.Singles {
			for _, p := range plan.Periods {
				b, err := rolled(p)
				if err != nil {
					return api.ExplainCounts{}, err
				}
				out.Baseline.Merge(&b)
			}
		}
		out.BaselinePairs = explain.PairCounts{}
		if wide {
			out.WindowPairs = explain.PairCounts{}
		}
	case wide:
		if q.Singles {
			if out.Window, err = rolled(plan.Window, decision.ActionDeny); err != nil {
				return api.ExplainCounts{}, err
			}
			if out.Baseline, err = rolled(plan.Window, decision.ActionAllow); err != nil {
				return api.ExplainCounts{}, err
			}
		}
		out.WindowPairs, out.BaselinePairs = explain.PairCounts{}, explain.PairCounts{}
	}
	if len(q.Series) > 0 {
		if err := r.rolledSeries(ctx, q, plan, &out); err != nil {
			return api.ExplainCounts{}, err
		}
	}
	return out, nil
}

// rolledSeries counts the sparklines q asks for into out: the single
// values' from the rollups, the pairs' from the decisions.
func (r *Reader) rolledSeries(ctx context.Context, q api.ExplainCountsQuery, plan api.ExplainPlan, out *api.ExplainCounts) error {
	var singles []store.RollValue
	var at []int // the series of each single
	pq := q
	pq.Series = nil
	var pairAt []int
	for i, vals := range q.Series {
		if len(vals) == 1 {
			singles = append(singles, store.RollValue{Dim: vals[0].Dim, Value: vals[0].Value})
			at = append(at, i)
		} else {
			pq.Series = append(pq.Series, vals)
			pairAt = append(pairAt, i)
		}
	}
	out.Series = make([][]uint64, len(q.Series))
	if len(singles) > 0 {
		var actions []decision.Action
		if q.Mode == explain.ModeDeny {
			actions = []decision.Action{decision.ActionDeny}
		}
		s, bounded, err := r.db.ValueSeries(ctx, plan.SeriesFrom, plan.SeriesTo, api.SeriesBins, singles, actions...)
		if err != nil {
			return err
		}
		for k, i := range at {
			out.Series[i] = s[k]
		}
		out.SeriesBounded = bounded
	}
	if len(pq.Series) > 0 {
		c := api.NewExplainCounter(pq, plan)
		if err := r.scanMatching(ctx, plan.SeriesFrom, plan.SeriesTo, nil, c.AddSeries); err != nil {
			return err
		}
		for k, s := range c.Counts().Series {
			out.Series[pairAt[k]] = s
		}
	}
	return nil
}

// countsOf converts the store's counts to explain's; the maps are shared.
func countsOf(v *store.ValueCounts) explain.Counts {
	c := explain.Counts{Total: v.Total}
	for i := range v.Dims {
		t := &v.Dims[i]
		c.Dims[i] = explain.Tally{Counts: t.Counts, Rest: t.Rest, RestMax: t.RestMax}
	}
	return c
}
