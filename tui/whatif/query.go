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

// whatIfMsg answers matrix query seq; refresh marks a periodic re-read.
type whatIfMsg struct {
	seq     int
	refresh bool
	q       query
	w       decision.WhatIf
	err     error
}

// Target routes the answer to this view whichever view has focus.
func (whatIfMsg) Target() common.ViewID { return common.ViewWhatIf }

// flipsMsg answers list query seq.
type flipsMsg struct {
	seq   int
	q     query
	flips []decision.Decision
	err   error
}

// Target routes the answer to this view whichever view has focus.
func (flipsMsg) Target() common.ViewID { return common.ViewWhatIf }

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
	return tea.Batch(m.loadWhatIf(false), m.loadFlips(false))
}

func (m *Model) current() query { return query{th: m.th, win: m.win} }

// loadWhatIf reads the matrix; answers to earlier reads are dropped.
func (m *Model) loadWhatIf(refresh bool) tea.Cmd {
	m.wiSeq++
	m.wiBusy = true
	now := m.c.Clock()
	m.refresh.Started(now)
	q := m.current()
	from, to := common.Windows[q.win].Bounds(now)
	seq, data := m.wiSeq, m.c.Data
	return m.c.Query(func(ctx context.Context) tea.Msg {
		w, err := data.WhatIf(ctx, api.WhatIfQuery{Thresholds: q.th, From: from, To: to})
		if err != nil {
			err = fmt.Errorf("what-if on %s: %w", q.th.Score, err)
		}
		return whatIfMsg{seq: seq, refresh: refresh, q: q, w: w, err: err}
	})
}

// loadFlips reads the list, cancelling a read still under way: a scan for
// thresholds the user has already moved past is wasted work. A refresh
// (keep) keeps the selected decision selected; new thresholds or a new
// window start at the top.
func (m *Model) loadFlips(keep bool) tea.Cmd {
	if m.flCancel != nil {
		m.flCancel()
	}
	m.flKeepID = ""
	if keep && m.cursor >= 0 && m.cursor < len(m.flips) {
		m.flKeepID = m.flips[m.cursor].ID
	}
	m.flSeq++
	m.flBusy = true
	q := m.current()
	from, to := common.Windows[q.win].Bounds(m.c.Clock())
	ctx, cancel := context.WithCancel(m.c.Context())
	m.flCancel = cancel
	seq, data := m.flSeq, m.c.Data
	return func() tea.Msg {
		defer cancel()
		ctx, stop := context.WithTimeout(ctx, common.QueryTimeout)
		defer stop()
		ds, err := data.Flips(ctx, api.FlipsQuery{Thresholds: q.th, From: from, To: to, Limit: FlipsLimit})
		if err != nil {
			err = fmt.Errorf("decisions that would change: %w", err)
		}
		return flipsMsg{seq: seq, q: q, flips: ds, err: err}
	}
}

// onWhatIf takes a matrix. After a periodic re-read, the list is read
// again only when the number of changing decisions moved.
func (m *Model) onWhatIf(msg whatIfMsg) tea.Cmd {
	if msg.seq != m.wiSeq {
		return nil
	}
	m.wiBusy = false
	m.wiErr = msg.err
	if msg.err != nil {
		return nil
	}
	before := m.wi
	m.wi = newAnswer(msg.w, msg.q)
	m.scroll() // the per-type block may have grown or shrunk the list
	if msg.refresh && !m.flBusy && (before == nil || before.q != msg.q || before.flips != m.wi.flips) {
		return m.loadFlips(true)
	}
	return nil
}

// onFlips takes the list; after a refresh the selected decision stays
// selected while still listed, otherwise the list starts at its top.
func (m *Model) onFlips(msg flipsMsg) {
	if msg.seq != m.flSeq {
		return
	}
	m.flBusy = false
	m.flErr = msg.err
	if msg.err != nil {
		return
	}
	m.flips, m.flFor, m.flLoaded = msg.flips, msg.q, true
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
