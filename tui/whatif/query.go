package whatif

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// answer is a matrix, what it was read for, and what the view shows of
// it, derived once when it arrives rather than on every View.
type answer struct {
	w      decision.WhatIf
	q      query
	scored uint64    // decisions in the matrix
	flips  uint64    // decisions whose action would change
	types  []typeRow // per-type matrices, most events first
}

// newAnswer takes ownership of w.
func newAnswer(w decision.WhatIf, q query) *answer {
	a := &answer{w: w, q: q, types: typeRows(w.ByType)}
	for act := range 3 {
		for sim := range 3 {
			c := w.Matrix[act][sim]
			a.scored += c
			if act != sim {
				a.flips += c
			}
		}
	}
	return a
}

// matrixRead is a matrix as read for q; refresh marks a periodic re-read.
type matrixRead struct {
	refresh bool
	q       query
	w       decision.WhatIf
}

// flipsRead is the list of changing decisions as read for q, limit at
// most.
type flipsRead struct {
	q     query
	limit int
	flips []decision.Decision
}

// fitRead is today's policy as fitted for q (whose thresholds hold only
// the score).
type fitRead struct {
	q   query
	fit decision.Fit
}

// savedMsg says whether the thresholds were saved, and where.
type savedMsg struct {
	th   decision.Thresholds
	path string
	err  error
}

// Target routes the answer to this view whichever view has focus.
func (savedMsg) Target() common.ViewID { return common.ViewWhatIf }

// recompute reads the matrix and the list for the current thresholds and
// window.
func (m *Model) recompute() tea.Cmd {
	return tea.Batch(m.loadWhatIf(false), m.loadFlips(false), m.loadLabels())
}

func (m *Model) current() query { return query{th: m.th, win: m.win} }

// loadWhatIf reads the matrix; answers to earlier reads are dropped.
func (m *Model) loadWhatIf(refresh bool) tea.Cmd {
	now := m.c.Clock()
	m.refresh.Started(now)
	q := m.current()
	from, to := common.Windows[q.win].Bounds(now)
	data := m.c.Data
	return m.wiReq.Go(m.c, func(ctx context.Context) (matrixRead, error) {
		w, err := data.WhatIf(ctx, api.WhatIfQuery{Thresholds: q.th, From: from, To: to})
		if err != nil {
			err = fmt.Errorf("what-if on %s: %w", q.th.Score, err)
		}
		return matrixRead{refresh: refresh, q: q, w: w}, err
	})
}

// loadFlips reads the list, cancelling a read still under way: a scan for
// thresholds the user has already moved past is wasted work. A refresh
// (keep) keeps the selected decision selected; new thresholds or a new
// window start at the top.
func (m *Model) loadFlips(keep bool) tea.Cmd {
	m.flKeepID = ""
	if keep && m.cursor >= 0 && m.cursor < len(m.flips) {
		m.flKeepID = m.flips[m.cursor].ID
	}
	q, limit := m.current(), m.flLimit
	from, to := common.Windows[q.win].Bounds(m.c.Clock())
	data := m.c.Data
	return m.flReq.Go(m.c, func(ctx context.Context) (flipsRead, error) {
		ds, err := data.Flips(ctx, api.FlipsQuery{Thresholds: q.th, From: from, To: to, Limit: limit, Brief: true})
		if err != nil {
			err = fmt.Errorf("decisions that would change: %w", err)
		}
		return flipsRead{q: q, limit: limit, flips: ds}, err
	})
}

// moreFlips reads the next page of the list when the selection reached
// its last row and more decisions would change than it holds.
func (m *Model) moreFlips() tea.Cmd {
	if m.flReq.Busy() || m.wi == nil || len(m.flips) == 0 || m.cursor < len(m.flips)-1 ||
		uint64(len(m.flips)) >= m.wi.flips || len(m.flips) < m.flLimit || m.flLimit >= MaxFlips {
		return nil
	}
	m.flLimit = min(m.flLimit+FlipsPage, MaxFlips)
	return m.loadFlips(true)
}

// loadFit reads the histogram of the current score and window and fits
// today's policy to it in the command.
func (m *Model) loadFit() tea.Cmd {
	q := query{th: decision.Thresholds{Score: m.th.Score}, win: m.win}
	from, to := common.Windows[q.win].Bounds(m.c.Clock())
	data := m.c.Data
	return m.fitReq.Go(m.c, func(ctx context.Context) (fitRead, error) {
		h, err := data.Histogram(ctx, api.HistogramQuery{Score: q.th.Score, From: from, To: to})
		if err != nil {
			return fitRead{q: q}, fmt.Errorf("today's policy on %s: %w", q.th.Score, err)
		}
		return fitRead{q: q, fit: decision.FitThresholds(&h)}, nil
	})
}

// onFit takes today's policy. The first one is where the view starts:
// the simulated thresholds become today's (when there were scored
// decisions to fit) and the matrix and the list are read.
func (m *Model) onFit(msg common.Answer[fitRead]) tea.Cmd {
	if !m.fitReq.Take(msg) {
		return nil
	}
	if msg.Err == nil {
		f := msg.Value
		m.fit = &f
	}
	if m.started {
		return nil
	}
	m.started = true
	if msg.Err == nil && msg.Value.fit.Total > 0 && msg.Value.fit.Thresholds != m.th {
		var cmd tea.Cmd
		*m, cmd = m.setThresholds(msg.Value.fit.Thresholds)
		return cmd
	}
	return m.recompute()
}

// onWhatIf takes a matrix. After a periodic re-read, the list is read
// again only when the number of changing decisions moved.
func (m *Model) onWhatIf(msg common.Answer[matrixRead]) tea.Cmd {
	if !m.wiReq.Take(msg) {
		return nil
	}
	m.wiErr = msg.Err
	if msg.Err != nil {
		return nil
	}
	before, r := m.wi, msg.Value
	m.wi = newAnswer(r.w, r.q)
	m.scroll() // the per-type block may have grown or shrunk the list
	if r.refresh && !m.flReq.Busy() && (before == nil || before.q != r.q || before.flips != m.wi.flips) {
		return m.loadFlips(true)
	}
	return nil
}

// onFlips takes the list; after a refresh the selected decision stays
// selected while still listed, otherwise the list starts at its top.
func (m *Model) onFlips(msg common.Answer[flipsRead]) {
	if !m.flReq.Take(msg) {
		return
	}
	m.flErr = msg.Err
	if msg.Err != nil {
		return
	}
	m.flips, m.flFor, m.flLoaded = msg.Value.flips, msg.Value.q, true
	m.flLimit = msg.Value.limit
	m.cursor, m.top = 0, 0
	for i := range m.flips {
		if m.flKeepID != "" && m.flips[i].ID == m.flKeepID {
			m.cursor = i
			break
		}
	}
	m.scroll()
}

// saveCmd writes the simulated thresholds to the configuration in a
// command.
func (m Model) saveCmd() tea.Cmd {
	if m.save == nil {
		return common.Status("nowhere to save: no configuration file is known", common.LevelWarn)
	}
	save, th := m.save, m.th
	return func() tea.Msg {
		path, err := save(th)
		return savedMsg{th: th, path: path, err: err}
	}
}

func (m *Model) onSaved(msg savedMsg) tea.Cmd {
	if msg.err != nil {
		return common.Status("save thresholds: "+common.Sanitize(msg.err.Error()), common.LevelError)
	}
	m.saved = msg.th
	return common.Status("thresholds saved to "+common.Sanitize(msg.path), common.LevelInfo)
}
