// Package live is the Live view: per-minute rates with sparklines, and a
// table of the newest decisions that follows new events, pauses, filters
// and opens a decision's detail.
package live

import (
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// DefaultRingSize is how many recent rows the view keeps by default.
const DefaultRingSize = 10_000

// maxPreRates bounds the decisions kept aside while the rates query runs.
const maxPreRates = 100_000

// KeyMap holds the Live view's own bindings.
type KeyMap struct {
	Pause   key.Binding
	Filter  key.Binding
	Open    key.Binding
	Copy    key.Binding
	Journey key.Binding
	Follow  key.Binding
}

func defaultKeyMap() KeyMap {
	return KeyMap{
		Pause:   key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "pause/resume")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Copy:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy JSON")),
		Journey: key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "user journey")),
		Follow:  key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "follow")),
	}
}

// stamp is a decision counted while the rates query is in flight: when it
// was stored (which tells whether the query saw it) and its event time and
// action (what the rates count).
type stamp struct {
	stored, event time.Time
	a             decision.Action
}

// Model is the Live view. Rows matching the filter are kept in a bounded
// ring, in arrival order; while the display is paused new rows wait in a
// second ring and are counted as "N new". Rates are counted from every
// decision, filter or not, by event time; "last event" is the newest
// arrival.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int
	tableH int // rows of the table body at the current size
	// fullHeader is set when the rates header fits with its sparklines.
	fullHeader bool

	ring    *Ring // what the table shows
	pending *Ring // rows that arrived while paused
	rates   *Rates
	table   *widget.Table
	bar     widget.FilterBar
	header  *headerCache

	filterExpr string
	// drilled is set while the filter is one another view set (a
	// histogram bar): esc then goes back to that view rather than
	// clearing it.
	drilled bool
	filter  *decision.Filter

	follow       bool
	cursor       uint64 // ring position of the selected row
	top          uint64 // ring position of the first visible row
	reloadResume bool   // rows were missed while paused: reload on resume

	latestSeq int
	loading   bool
	early     *Ring // rows that arrived while Latest was in flight
	loadErr   error

	ratesSeq    int
	ratesLoaded bool
	preRates    []stamp

	health     api.Health
	haveHealth bool
	lastEvent  time.Time
	missed     int
}

// New returns the Live view keeping up to ringSize rows (DefaultRingSize
// when ringSize <= 0).
func New(c *common.Common, ringSize int) Model {
	if ringSize <= 0 {
		ringSize = DefaultRingSize
	}
	m := Model{
		c:       c,
		keys:    defaultKeyMap(),
		ring:    NewRing(ringSize),
		pending: NewRing(ringSize),
		early:   NewRing(ringSize),
		rates:   &Rates{},
		table:   newTable(),
		header:  &headerCache{},
		follow:  true,
		loading: true,
	}
	m.bar = widget.NewFilterBar(func(expr string) error {
		_, err := decision.ParseFilter(expr, c.Clock())
		return err
	})
	return m
}

// Init starts the first queries: the newest rows and the last hour's rates.
func (m *Model) Init() tea.Cmd { return m.Reload() }

// Reload asks again for the newest rows and the rates, after a gap in the
// subscription (a reconnect). While the display is paused the rows are
// reloaded on resume instead, so the rows being read do not move.
func (m *Model) Reload() tea.Cmd {
	if !m.follow {
		m.reloadResume = true
		return m.loadRates()
	}
	return tea.Batch(m.loadLatest(), m.loadRates())
}

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.table.SetWidth(m.width)
	m.layout()
}

// Loading reports whether the rows for the current filter or the rates are
// still on their way.
func (m Model) Loading() bool { return m.loading || !m.ratesLoaded }

// HandlesBack reports whether esc has something to undo in Live: a filter
// the user applied, which esc clears before it goes back to another view.
// A filter another view set (a histogram bar) leaves esc to go back there;
// when there is nowhere to go back to, esc clears it too.
func (m Model) HandlesBack() bool { return m.filterExpr != "" && !m.drilled }

// InputActive reports whether the filter bar has the keyboard, so global
// keys must not be taken from it.
func (m Model) InputActive() bool { return m.bar.IsOpen() }

// Paused reports whether the display is paused (new rows are counted, not
// shown).
func (m Model) Paused() bool { return !m.follow }

// NewCount is the number of matching rows that arrived while paused.
func (m Model) NewCount() uint64 {
	if m.follow {
		return 0
	}
	return m.pending.Total()
}

// Len is the number of rows the table holds (at most the ring size).
func (m Model) Len() int { return m.ring.Len() }

// LastEvent is when the newest decision seen (any filter) was stored.
func (m Model) LastEvent() time.Time { return m.lastEvent }

// Filter returns the applied filter expression in canonical form.
func (m Model) Filter() string { return m.filterExpr }

// SetFilter applies expr (the filter language) as if it had been typed in
// the filter bar: the rows are read again and the display follows. A bad
// expression keeps the current filter and says why in the status line.
func (m *Model) SetFilter(expr string) tea.Cmd {
	m.drilled = expr != ""
	return m.applyFilter(expr)
}

// Selected returns the selected decision.
func (m Model) Selected() (decision.Decision, bool) {
	if d := m.ring.At(m.cursor); d != nil {
		return *d, true
	}
	return decision.Decision{}, false
}

// ShortHelp lists the main keys.
func (m Model) ShortHelp() []key.Binding {
	if m.bar.IsOpen() {
		return m.bar.ShortHelp()
	}
	return []key.Binding{m.keys.Pause, m.keys.Filter, m.keys.Open, m.keys.Copy, m.keys.Follow}
}

// FullHelp lists every key of the view.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{m.keys.Pause, m.keys.Filter, m.keys.Open, m.keys.Copy, m.keys.Journey,
		m.keys.Follow, k.Up, k.Down, k.PageUp, k.PageDown, k.Top}
}

// Update handles keys, query answers, new batches and health snapshots.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case latestMsg:
		m.onLatest(msg)
	case ratesMsg:
		m.onRates(msg)
	case common.BatchMsg:
		return m, m.onBatch(msg.Batch)
	case common.HealthMsg:
		if msg.Err == nil {
			m.health, m.haveHealth = msg.Health, true
			if msg.Health.LastEvent.After(m.lastEvent) {
				m.lastEvent = msg.Health.LastEvent
			}
		}
	case tea.KeyPressMsg:
		if m.bar.IsOpen() {
			return m.updateFilter(msg)
		}
		return m.onKey(msg)
	case tea.PasteMsg:
		if m.bar.IsOpen() {
			return m.updateFilter(msg)
		}
	}
	return m, nil
}

func (m *Model) onLatest(msg latestMsg) {
	if msg.seq != m.latestSeq {
		return // the filter changed since: a stale answer
	}
	m.loading = false
	m.loadErr = msg.err
	m.ring.Reset()
	var newest string
	for i := len(msg.rows) - 1; i >= 0; i-- {
		m.ring.Push(&msg.rows[i])
	}
	if len(msg.rows) > 0 {
		newest = msg.rows[0].ID
		if t := msg.rows[0].Time; t.After(m.lastEvent) {
			m.lastEvent = t
		}
	}
	for p := m.early.First(); p < m.early.End(); p++ {
		if d := m.early.At(p); newest == "" || d.ID > newest {
			m.ring.Push(d)
		}
	}
	m.early.Reset()
	m.snap()
}

func (m *Model) onRates(msg ratesMsg) {
	if msg.seq != m.ratesSeq {
		return
	}
	m.ratesLoaded = true
	if msg.err == nil {
		m.rates.Load(msg.counts)
	}
	for _, s := range m.preRates {
		if msg.err != nil || s.stored.After(msg.to) {
			m.rates.Add(s.event, s.a)
		}
	}
	m.preRates = m.preRates[:0]
}

// onBatch counts every decision and keeps those matching the filter: aside
// while paused, until the rows arrive while they are loading, else in the
// table.
func (m *Model) onBatch(b api.Batch) tea.Cmd {
	for i := range b.Decisions {
		d := &b.Decisions[i]
		if m.ratesLoaded {
			m.rates.Add(d.EventTime, d.Action)
		} else if len(m.preRates) < maxPreRates {
			m.preRates = append(m.preRates, stamp{d.Time, d.EventTime, d.Action})
		}
		if d.Time.After(m.lastEvent) {
			m.lastEvent = d.Time
		}
		if !m.filter.Match(d) {
			continue
		}
		switch {
		case !m.follow:
			m.pending.Push(d)
		case m.loading:
			m.early.Push(d)
		default:
			m.ring.Push(d)
		}
	}
	var cmds []tea.Cmd
	if b.Missed > 0 {
		m.missed += b.Missed
		if m.ratesLoaded {
			cmds = append(cmds, m.loadRates())
		}
		if m.follow && !m.loading {
			cmds = append(cmds, m.loadLatest())
		} else if !m.follow {
			m.reloadResume = true
		}
	}
	m.snap()
	return tea.Batch(cmds...)
}

func (m Model) onKey(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	k := m.c.Keys
	switch {
	case key.Matches(msg, m.keys.Pause):
		if m.follow {
			m.pause()
			return m, nil
		}
		return m, m.resume()
	case key.Matches(msg, m.keys.Filter):
		m.bar.Open(m.filterExpr)
		m.layout()
	case key.Matches(msg, k.Back) && m.filterExpr != "":
		m.drilled = false
		cmd := m.applyFilter("")
		return m, cmd
	case key.Matches(msg, m.keys.Open):
		if d, ok := m.Selected(); ok {
			return m, common.OpenDetail(d)
		}
	case key.Matches(msg, m.keys.Copy):
		return m, m.copySelected()
	case key.Matches(msg, m.keys.Journey):
		if d, ok := m.Selected(); ok {
			return m, common.OpenJourney(d.UserID)
		}
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.Down):
		m.move(1)
	case key.Matches(msg, k.PageUp):
		m.move(-max(m.tableH, 1))
	case key.Matches(msg, k.PageDown):
		m.move(max(m.tableH, 1))
	case key.Matches(msg, k.Top):
		m.pause()
		m.cursor = m.ring.First()
		m.snap()
	case key.Matches(msg, m.keys.Follow):
		return m, m.resume()
	}
	return m, nil
}

func (m Model) updateFilter(msg tea.Msg) (Model, tea.Cmd) {
	var ev widget.FilterEvent
	m.bar, ev = m.bar.Update(msg)
	switch ev {
	case widget.FilterApplied:
		m.layout()
		m.drilled = false
		cmd := m.applyFilter(m.bar.Value())
		return m, cmd
	case widget.FilterCancelled:
		m.layout()
	}
	return m, nil
}

// applyFilter switches to expr: rows are reloaded, the display follows.
func (m *Model) applyFilter(expr string) tea.Cmd {
	f, err := decision.ParseFilter(expr, m.c.Clock())
	if err != nil {
		return common.Status("filter: "+common.Sanitize(err.Error()), common.LevelError)
	}
	m.filter = f
	m.filterExpr = f.String()
	m.follow = true
	m.reloadResume = false
	m.pending.Reset()
	m.ring.Reset()
	m.snap()
	return m.loadLatest()
}

// move shifts the selection; moving up leaves follow mode.
func (m *Model) move(delta int) {
	if m.ring.Len() == 0 {
		return
	}
	if delta < 0 {
		m.pause()
		step := uint64(-delta)
		if m.cursor-m.ring.First() < step {
			m.cursor = m.ring.First()
		} else {
			m.cursor -= step
		}
	} else {
		m.cursor = min(m.cursor+uint64(delta), m.ring.End()-1)
	}
	m.snap()
}

// pause freezes the display; new rows are counted in pending.
func (m *Model) pause() {
	if !m.follow {
		return
	}
	m.follow = false
	m.pending.Reset()
}

// resume shows the rows that arrived while paused and follows again. If
// more arrived than the view keeps, or some were missed, it reloads.
func (m *Model) resume() tea.Cmd {
	if m.follow {
		return nil
	}
	m.follow = true
	reload := m.reloadResume || m.pending.Overflowed()
	m.reloadResume = false
	if !reload {
		newest := ""
		if d := m.ring.At(m.ring.End() - 1); d != nil {
			newest = d.ID
		}
		for p := m.pending.First(); p < m.pending.End(); p++ {
			if d := m.pending.At(p); d.ID > newest {
				m.ring.Push(d)
			}
		}
	}
	m.pending.Reset()
	m.snap()
	if reload {
		return m.loadLatest()
	}
	return nil
}

// snap keeps cursor and top valid: following pins both to the newest rows;
// otherwise the selection stays put and the window scrolls just enough.
func (m *Model) snap() {
	first, end := m.ring.First(), m.ring.End()
	h := uint64(max(m.tableH, 1))
	if end == first {
		m.cursor, m.top = first, first
		return
	}
	if m.follow {
		m.cursor = end - 1
	}
	m.cursor = min(max(m.cursor, first), end-1)
	if m.follow || m.top+h > end {
		if end-first > h {
			m.top = end - h
		} else {
			m.top = first
		}
	}
	m.top = max(m.top, first)
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if m.cursor >= m.top+h {
		m.top = m.cursor - h + 1
	}
}

func (m Model) copySelected() tea.Cmd {
	d := m.ring.At(m.cursor)
	if d == nil {
		return common.Status("nothing to copy", common.LevelWarn)
	}
	s, err := common.DecisionJSON(d)
	if err != nil {
		return common.Status(common.Sanitize(err.Error()), common.LevelError)
	}
	return tea.Batch(tea.SetClipboard(s), common.Status("copied decision JSON to clipboard", common.LevelInfo))
}
