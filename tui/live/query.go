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

// InitialRows is how many decisions the Live view asks for when it starts
// or its filter changes.
const InitialRows = 500

// latestMsg answers a Latest query; seq says which one.
type latestMsg struct {
	seq  int
	rows []decision.Decision // newest first
	err  error
}

func (latestMsg) Target() common.ViewID { return common.ViewLive }

// ratesMsg answers a Rates query covering [from, to].
type ratesMsg struct {
	seq    int
	to     time.Time
	counts []decision.MinuteCounts
	err    error
}

func (ratesMsg) Target() common.ViewID { return common.ViewLive }

// loadLatest starts a Latest query for the current filter; the reply
// replaces the table's rows.
func (m *Model) loadLatest() tea.Cmd {
	m.latestSeq++
	m.loading = true
	m.early.Reset()
	c, seq, expr := m.c, m.latestSeq, m.filterExpr
	return c.Query(func(ctx context.Context) tea.Msg {
		rows, err := c.Data.Latest(ctx, api.LatestQuery{Filter: expr, N: InitialRows})
		if err != nil {
			err = fmt.Errorf("latest decisions: %w", err)
		}
		return latestMsg{seq: seq, rows: rows, err: err}
	})
}

// loadRates starts a Rates query over the last RateWindow minutes; until it
// answers, incoming decisions are kept aside so none is counted twice.
func (m *Model) loadRates() tea.Cmd {
	m.ratesSeq++
	m.ratesLoaded = false
	m.preRates = m.preRates[:0]
	now := m.c.Clock()
	from := now.Truncate(time.Minute).Add(-(RateWindow - 1) * time.Minute)
	c, seq := m.c, m.ratesSeq
	return c.Query(func(ctx context.Context) tea.Msg {
		counts, err := c.Data.Rates(ctx, api.RatesQuery{From: from, To: now})
		if err != nil {
			err = fmt.Errorf("rates: %w", err)
		}
		return ratesMsg{seq: seq, to: now, counts: counts, err: err}
	})
}
