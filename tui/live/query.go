package live

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// Sizes of what the Live view reads.
const (
	// PageRows is how many decisions the view reads at a time (at most
	// half the ring size): the newest when it starts or its filter
	// changes, and each older page.
	PageRows = 500
	// SeedRows is how many of the newest decisions seed the 10-second
	// rate buckets at start.
	SeedRows = 5000
)

// CountEvery is how often the row count is read again while the filter
// has a time bound (since: or until: a duration ago), which moves with
// the clock; otherwise arriving decisions keep it up to date.
const CountEvery = 30 * time.Second

// ratesRead is the answer to loadRates: the per-minute rollup up to `to`
// and the newest decisions that seed the fine buckets.
type ratesRead struct {
	to     time.Time
	counts []decision.MinuteCounts
	seed   []decision.Decision
}

// loadLatest starts a Latest query for the current filter; the reply
// replaces the table's rows.
func (m *Model) loadLatest() tea.Cmd {
	m.early.Reset()
	m.hist.olderReq.Drop()
	m.hist.newerReq.Drop()
	data, expr, n := m.c.Data, m.filterExpr, m.newestRows()
	return m.latestReq.Go(m.c, func(ctx context.Context) ([]decision.Decision, error) {
		rows, err := data.Latest(ctx, api.LatestQuery{Filter: expr, N: n, Brief: true})
		if err != nil {
			err = fmt.Errorf("latest decisions: %w", err)
		}
		return rows, err
	})
}

// newestRows is how many of the newest rows the view reads: PageRows, or
// the ring size when that is smaller.
func (m *Model) newestRows() int { return min(PageRows, m.rows.Cap()) }

// pageRows is how many rows an older page holds: PageRows, or half the
// ring when that is smaller, so that a page read always fits beside the
// rows near the selection.
func (m *Model) pageRows() int { return min(PageRows, max(m.rows.Cap()/2, 1)) }

// loadPage reads up to n decisions of the filter that arrived before the
// one with ID before, newest first: an older page, or a newer page that
// was dropped while paging back.
func (m *Model) loadPage(req *common.Request[[]decision.Decision], before string, n int) tea.Cmd {
	data, expr := m.c.Data, m.filterExpr
	return req.Go(m.c, func(ctx context.Context) ([]decision.Decision, error) {
		rows, err := data.Latest(ctx, api.LatestQuery{Filter: expr, N: n, Before: before, Brief: true})
		if err != nil {
			err = fmt.Errorf("decisions before %s: %w", before, err)
		}
		return rows, err
	})
}

// loadRates reads the per-minute rollup of the last RateWindow minutes
// and the SeedRows newest decisions; until they answer, incoming
// decisions are kept aside so none is counted twice.
func (m *Model) loadRates() tea.Cmd {
	m.ratesLoaded = false
	m.preRates = m.preRates[:0]
	now := m.c.Clock()
	from := now.Truncate(time.Minute).Add(-(RateWindow - 1) * time.Minute)
	data := m.c.Data
	return m.ratesReq.Go(m.c, func(ctx context.Context) (ratesRead, error) {
		counts, err := data.Rates(ctx, api.RatesQuery{From: from, To: now})
		if err != nil {
			return ratesRead{}, fmt.Errorf("rates: %w", err)
		}
		seed, err := data.Latest(ctx, api.LatestQuery{N: SeedRows, Brief: true})
		if err != nil {
			return ratesRead{}, fmt.Errorf("recent decisions: %w", err)
		}
		return ratesRead{to: now, counts: counts, seed: seed}, nil
	})
}

// loadCounts reads how many decisions match the filter and how many are
// stored, then the newest stored, so that the arrivals the count already
// holds are not counted again (see counter).
func (m *Model) loadCounts() tea.Cmd {
	m.countedAt = m.c.Clock()
	m.counter.start()
	data, expr := m.c.Data, m.filterExpr
	return m.countReq.Go(m.c, func(ctx context.Context) (countRead, error) {
		all, err := data.Stats(ctx, api.StatsQuery{})
		if err != nil {
			return countRead{}, fmt.Errorf("count decisions: %w", err)
		}
		r := countRead{counts: counts{matching: all.Decisions, total: all.Decisions}}
		if expr != "" {
			f, err := data.Stats(ctx, api.StatsQuery{Filter: expr})
			if err != nil {
				return countRead{}, fmt.Errorf("count decisions matching the filter: %w", err)
			}
			r.counts.matching = f.Decisions
		}
		newest, err := data.Latest(ctx, api.LatestQuery{N: 1, Brief: true})
		if err != nil {
			return countRead{}, fmt.Errorf("count decisions: %w", err)
		}
		if len(newest) > 0 {
			r.newest = newest[0].ID
		}
		return r, nil
	})
}

// loadBaseline reads the counts the baseline line compares with: the
// BaselineMinutes ending with now's minute, an hour and a day earlier.
func (m *Model) loadBaseline() tea.Cmd {
	now := m.c.Clock()
	minute := unixMinute(now)
	data := m.c.Data
	m.baseMinute = minute
	return m.baseReq.Go(m.c, func(ctx context.Context) (baseline, error) {
		b := baseline{minute: minute}
		for _, w := range []struct {
			back time.Duration
			into *[decision.NumActions]uint64
		}{{time.Hour, &b.hour}, {24 * time.Hour, &b.day}} {
			last := time.Unix(minute*60, 0).Add(-w.back)
			ms, err := data.Rates(ctx, api.RatesQuery{From: last.Add(-(BaselineMinutes - 1) * time.Minute), To: last})
			if err != nil {
				return baseline{}, fmt.Errorf("rates %s ago: %w", w.back, err)
			}
			for _, mc := range ms {
				for i, n := range mc.ByAction {
					w.into[i] += n
				}
			}
		}
		return b, nil
	})
}
