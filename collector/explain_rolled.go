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
//     pair's from the decisions of the series span (see rolledSeries).
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
// values' from the rollups, the pairs' from the decisions of the series
// span, unless the window is wider than scanWindowMax (the span is six
// windows): a pair's sparkline is then, bin by bin, the smaller of its two
// values' from the rollups, an upper bound flagged SeriesBounded.
func (r *Reader) rolledSeries(ctx context.Context, q api.ExplainCountsQuery, plan api.ExplainPlan, out *api.ExplainCounts) error {
	wide := plan.Window.Duration() > scanWindowMax
	var vals []store.RollValue
	rolled := make([][]int, len(q.Series)) // indexes in vals of each series read from the rollups
	pq := q
	pq.Series = nil
	var scanned []int // the series counted from the decisions
	for i, d := range q.Series {
		if len(d) > 1 && !wide {
			pq.Series = append(pq.Series, d)
			scanned = append(scanned, i)
			continue
		}
		for _, v := range d {
			rolled[i] = append(rolled[i], len(vals))
			vals = append(vals, store.RollValue{Dim: v.Dim, Value: v.Value})
		}
	}
	out.Series = make([][]uint64, len(q.Series))
	if len(vals) > 0 {
		var actions []decision.Action
		if q.Mode == explain.ModeDeny {
			actions = []decision.Action{decision.ActionDeny}
		}
		s, bounded, err := r.db.ValueSeries(ctx, plan.SeriesFrom, plan.SeriesTo, api.SeriesBins, vals, actions...)
		if err != nil {
			return err
		}
		out.SeriesBounded = bounded
		for i, idx := range rolled {
			if len(idx) == 0 {
				continue
			}
			out.Series[i] = s[idx[0]]
			for _, k := range idx[1:] {
				out.SeriesBounded = true
				for b, n := range s[k] {
					out.Series[i][b] = min(out.Series[i][b], n)
				}
			}
		}
	}
	if len(pq.Series) > 0 {
		c := api.NewExplainCounter(pq, plan)
		if err := r.scanMatching(ctx, plan.SeriesFrom, plan.SeriesTo, nil, c.AddSeries); err != nil {
			return err
		}
		for k, s := range c.Counts().Series {
			out.Series[scanned[k]] = s
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
