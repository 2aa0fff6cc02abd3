package live

import (
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// history is how the rows page through the store: scrolling up past the
// oldest row read reads the page before it (api.LatestQuery.Before, in
// arrival order); when the rows would outgrow the ring size, the newest
// are given up a page at a time, and reading them again is remembered, so
// that scrolling back down reads them again and reaching the newest
// follows the stream again. The view never holds more than the ring size.
type history struct {
	// atOldest is set when the oldest row read is the oldest the filter
	// has.
	atOldest bool
	olderReq common.Request[[]decision.Decision]
	newerReq common.Request[[]decision.Decision]
	// dropped are the pages of newer rows given up while paging back; the
	// last is the one next to the rows held.
	dropped []droppedPage
}

// droppedPage is a page of rows given up: the n rows that arrived before
// the one with ID before (its next newer row), the oldest of them with ID
// oldest. A page with before "" held the newest rows: going back to it
// reads the newest rows and follows again.
type droppedPage struct {
	before, oldest string
	n              int
}

// reset forgets the paging state for a new set of rows.
func (h *history) reset(atOldest bool) {
	h.atOldest = atOldest
	h.olderReq.Drop()
	h.newerReq.Drop()
	h.dropped = h.dropped[:0]
}

// detached reports whether newer rows were given up: the rows are an older
// part of history, and new arrivals cannot be added to them.
func (h *history) detached() bool { return len(h.dropped) > 0 }

// move shifts the selection by delta rows; moving up leaves follow mode.
// Near either end of the rows held it reads the next page (pageIfNeeded).
func (m *Model) move(delta int) tea.Cmd {
	if m.rows.Len() == 0 {
		return nil
	}
	if delta < 0 {
		m.pause()
	}
	m.cursor = min(max(m.cursor+delta, m.rows.First()), m.rows.End()-1)
	m.snap()
	return m.pageIfNeeded()
}

// pageIfNeeded reads a page when the selection is within a screen of an
// end of the rows held that has more beyond it: an older page near the
// oldest row, the newer page given up last near the newest (or, when that
// page held the newest rows, the newest rows again, following).
func (m *Model) pageIfNeeded() tea.Cmd {
	if m.follow || m.rows.Len() == 0 || m.latestReq.Busy() {
		return nil
	}
	margin := max(m.tableH, 1)
	h := &m.hist
	if m.cursor-m.rows.First() < margin && !h.atOldest && !h.olderReq.Busy() {
		return m.loadPage(&h.olderReq, m.rows.Oldest().ID, m.pageRows())
	}
	if m.rows.End()-1-m.cursor < margin && len(h.dropped) > 0 && !h.newerReq.Busy() {
		p := h.dropped[len(h.dropped)-1]
		if p.before == "" {
			return m.resume()
		}
		return m.loadPage(&h.newerReq, p.before, p.n)
	}
	return nil
}

// onOlder puts an older page before the rows, giving up as many of the
// newest as the ring size demands.
func (m *Model) onOlder(msg common.Answer[[]decision.Decision]) tea.Cmd {
	if msg.Err != nil {
		m.loadErr = msg.Err
		return common.Status(common.Sanitize(msg.Err.Error()), common.LevelError)
	}
	m.loadErr = nil
	page := msg.Value
	if len(page) < m.pageRows() {
		m.hist.atOldest = true
	}
	oldest := m.rows.Oldest()
	if oldest == nil {
		return nil
	}
	oldestID := oldest.ID
	if over := m.rows.Len() + len(page) - m.rows.Cap(); over > 0 {
		m.dropNewest(over)
	}
	for i := range page {
		if page[i].ID < oldestID {
			m.rows.PushFront(&page[i])
		}
	}
	m.snap()
	return nil
}

// dropNewest gives up the k newest rows as one page, remembering how to
// read it again.
func (m *Model) dropNewest(k int) {
	k = min(k, m.rows.Len()-1)
	if k <= 0 {
		return
	}
	h := &m.hist
	before := ""
	if n := len(h.dropped); n > 0 {
		before = h.dropped[n-1].oldest
	}
	h.dropped = append(h.dropped, droppedPage{before: before, oldest: m.rows.At(m.rows.End() - k).ID, n: k})
	m.rows.DropNewest(k)
}

// onNewer puts the newer page given up last back after the rows, giving
// up as many of the oldest as the ring size demands.
func (m *Model) onNewer(msg common.Answer[[]decision.Decision]) tea.Cmd {
	if msg.Err != nil {
		m.loadErr = msg.Err
		return common.Status(common.Sanitize(msg.Err.Error()), common.LevelError)
	}
	m.loadErr = nil
	h := &m.hist
	newest := m.rows.Newest()
	if len(h.dropped) == 0 || newest == nil {
		return nil
	}
	h.dropped = h.dropped[:len(h.dropped)-1]
	page, newestID := msg.Value, newest.ID
	if over := m.rows.Len() + len(page) - m.rows.Cap(); over > 0 {
		m.rows.DropOldest(min(over, m.rows.Len()-1))
		h.atOldest = false
	}
	for i := len(page) - 1; i >= 0; i-- {
		if page[i].ID > newestID {
			m.push(&page[i])
		}
	}
	m.snap()
	return nil
}
