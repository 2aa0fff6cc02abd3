package common

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// RefreshMsg is a view's own refresh tick. It is Routed to View, and it is
// ignored unless it belongs to the view's current visible period.
type RefreshMsg struct {
	View ViewID
	gen  int
}

// Target names the view the tick belongs to.
func (m RefreshMsg) Target() ViewID { return m.View }

// Refresher decides when a view showing aggregates reads them again: on a
// tick every Every while the view is visible, and soon after new decisions
// arrive, at most once per MinGap. Only one tick chain is alive per visible
// period: Hide (or a second Show) makes the old chain's ticks stale, so a
// hidden view stops ticking. The zero value is hidden and never ticks.
type Refresher struct {
	View   ViewID
	Every  time.Duration
	MinGap time.Duration

	visible bool
	gen     int
	dirty   bool
	last    time.Time
}

// Show marks the view visible and starts its tick chain.
func (r *Refresher) Show() tea.Cmd {
	r.visible = true
	r.gen++
	return r.tick()
}

// Hide marks the view hidden; its pending tick becomes stale.
func (r *Refresher) Hide() {
	r.visible = false
	r.gen++
}

// Visible reports whether the view is shown.
func (r *Refresher) Visible() bool { return r.visible }

// Dirty reports whether new decisions arrived since the last refresh.
func (r *Refresher) Dirty() bool { return r.dirty }

// MarkDirty records that the view's data may have changed.
func (r *Refresher) MarkDirty() { r.dirty = true }

// Tick handles a RefreshMsg: ok is true when the tick belongs to the
// current visible period, and next is the following tick then.
func (r *Refresher) Tick(msg RefreshMsg) (ok bool, next tea.Cmd) {
	if msg.gen != r.gen || !r.visible || r.Every <= 0 {
		return false, nil
	}
	return true, r.tick()
}

// Batch records new decisions and reports whether a refresh may start now:
// the view is visible and the last one started at least MinGap ago.
// Otherwise the next tick (or Show) picks the change up.
func (r *Refresher) Batch(now time.Time) bool {
	r.dirty = true
	return r.visible && (r.last.IsZero() || now.Sub(r.last) >= r.MinGap)
}

// Started records that a refresh started at now.
func (r *Refresher) Started(now time.Time) {
	r.dirty = false
	r.last = now
}

func (r *Refresher) tick() tea.Cmd {
	if r.Every <= 0 {
		return nil
	}
	msg := RefreshMsg{View: r.View, gen: r.gen}
	return tea.Tick(r.Every, func(time.Time) tea.Msg { return msg })
}
