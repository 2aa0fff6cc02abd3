package hist

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// result is one answer: the histogram of the window and, for a bounded
// window, of the one before it.
type result struct {
	score   decision.Score
	win     int
	cur     decision.Histogram
	prev    decision.Histogram
	hasPrev bool
	// fit is today's policy on the window: the thresholds that best
	// reproduce cur's actual actions.
	fit decision.Fit
	// err is why the last read failed; failed says the histograms are not
	// valid (no earlier answer of the same score and window to keep).
	err    error
	failed bool
}

// load reads the histograms of the current score and window; an answer to
// an earlier load is dropped when it arrives.
func (m *Model) load() tea.Cmd {
	now := m.c.Clock()
	m.refresh.Started(now)
	win := common.Windows[m.win]
	from, to := win.Bounds(now)
	pFrom, pTo, hasPrev := win.Previous(now)
	m.lastTo = to
	s, wi, data := m.score, m.win, m.c.Data
	return m.req.Go(m.c, func(ctx context.Context) (result, error) {
		r := result{score: s, win: wi, hasPrev: hasPrev}
		r.cur, r.err = data.Histogram(ctx, api.HistogramQuery{Score: s, From: from, To: to})
		if r.err == nil && hasPrev {
			r.prev, r.err = data.Histogram(ctx, api.HistogramQuery{Score: s, From: pFrom, To: pTo})
		}
		if r.err != nil {
			r.err = fmt.Errorf("histogram of %s over %s: %w", s, win.Describe(), r.err)
		}
		r.fit = decision.FitThresholds(&r.cur)
		return r, nil
	})
}

func (m *Model) onResult(msg common.Answer[result]) {
	if !m.req.Take(msg) {
		return
	}
	if res := msg.Value; res.err != nil && m.data != nil && m.data.score == res.score && m.data.win == res.win {
		// Keep the last good chart of the same score and window; say why
		// it is not fresh.
		m.data.err = res.err
	} else {
		res.failed = res.err != nil
		m.data = &res
	}
	m.version++
}

// windowMoved reports whether the window's minutes moved since the last
// read (a bounded window slides with the clock).
func (m Model) windowMoved() bool {
	_, to := common.Windows[m.win].Bounds(m.c.Clock())
	return !to.Equal(m.lastTo)
}

// rangeFilter is the filter expression of scores [lo, hi) of s in win; hi
// above 100 means no upper bound.
func rangeFilter(s decision.Score, win common.Window, lo, hi int) string {
	name := s.String()
	terms := []string{name + ">=" + strconv.Itoa(lo)}
	if hi <= 100 {
		terms = append(terms, name+"<"+strconv.Itoa(hi))
	}
	if lo == 0 {
		terms = append(terms, "-action:error")
	}
	if since := win.Since(); since != "" {
		terms = append(terms, since)
	}
	return strings.Join(terms, " ")
}
