// Package live is the Live view: rates per minute and per 10 seconds with
// their baselines, and a table of the decisions that match the filter, in
// arrival order. It follows new events, pauses, filters, jumps to a time,
// pages back through the store's history as the user scrolls up, and
// opens a decision's detail or its user's journey.
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

// DefaultRingSize is how many rows the view keeps by default: the newest
// while it follows, a window around the selection while the user pages
// back.
const DefaultRingSize = 10_000

// maxPreRates bounds the decisions kept aside while the rates query runs.
const maxPreRates = 100_000

// KeyMap holds the Live view's own bindings.
type KeyMap struct {
	Pause   key.Binding
	Filter  key.Binding
	Jump    key.Binding
	Open    key.Binding
	Copy    key.Binding
	Journey key.Binding
	Links   key.Binding
	Follow  key.Binding
	Oldest  key.Binding
	Label   widget.LabelKeys
	Explain key.Binding
}

func defaultKeyMap() KeyMap {
	return KeyMap{
		Pause:   key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "pause/resume")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Jump:    key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "jump to time")),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Copy:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy JSON")),
		Journey: key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "user journey")),
		Links:   key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "linked users")),
		Follow:  key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "newest, follow")),
		Oldest:  key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "oldest loaded")),
		Label:   widget.DefaultLabelKeys(),
		Explain: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "explain the last 10m")),
	}
}

// stamp is a decision counted while the rates query is in flight: when it
// was stored and its ID (which tell whether the query saw it), and its
// event time and action (what the rates count).
type stamp struct {
	stored, event time.Time
	id            string
	a             decision.Action
}

// Model is the Live view. The rows matching the filter are a contiguous
// run of the store's, in arrival order, at most the ring size: the newest
// while the view follows; while paused, new rows wait in a second ring
// and are counted as "N new", and scrolling up past the oldest row read
// reads older pages (see history.go). Rates are counted from every
// decision, filter or not, by event time; "last event" is the newest
// arrival.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int
	tableH int // rows of the table body at the current size
	// fullHeader is set when the rates header fits with its charts.
	fullHeader bool

	rows    *Deque // what the table shows
	pending *Ring  // rows that arrived while paused
	early   *Ring  // rows that arrived while the newest were being read
	rates   *Rates
	table   *widget.Table
	// shadow is set while the collector runs a shadow policy: the table
	// then has the SHADOW column.
	shadow   bool
	bar      widget.FilterBar
	jump     jumpBar
	prompt   widget.LabelPrompt
	usersReq common.Request[filterUsers]
	header   *headerCache

	filterExpr string
	// drilled is set while the filter is one another view set (a
	// histogram bar): esc then goes back to that view rather than
	// clearing it.
	drilled bool
	filter  *decision.Filter

	follow       bool
	cursor       int // position of the selected row in rows
	top          int // position of the first visible row
	reloadResume bool

	hist history

	latestReq common.Request[[]decision.Decision]
	loadErr   error

	ratesReq    common.Request[ratesRead]
	ratesLoaded bool
	preRates    []stamp

	countReq  common.Request[countRead]
	counter   counter
	countedAt time.Time

	baseReq    common.Request[baseline]
	base       baseline
	baseMinute int64 // the minute the last baseline read was for

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
	req := func() common.Request[[]decision.Decision] {
		return common.Request[[]decision.Decision]{View: common.ViewLive, Cancel: true}
	}
	m := Model{
		c:         c,
		keys:      defaultKeyMap(),
		rows:      NewDeque(ringSize),
		pending:   NewRing(ringSize),
		early:     NewRing(ringSize),
		rates:     &Rates{},
		table:     newTable(false),
		header:    &headerCache{},
		follow:    true,
		latestReq: req(),
		hist:      history{olderReq: req(), newerReq: req()},
		ratesReq:  common.Request[ratesRead]{View: common.ViewLive},
		countReq:  common.Request[countRead]{View: common.ViewLive, Cancel: true},
		baseReq:   common.Request[baseline]{View: common.ViewLive},
		usersReq:  common.Request[filterUsers]{View: common.ViewLive, Cancel: true},
	}
	m.bar = widget.NewFilterBar(func(expr string) error {
		_, err := decision.ParseFilter(expr, c.Clock())
		return err
	})
	return m
}

// Init starts the first queries: the newest rows, their count, the rates
// and their baselines.
func (m *Model) Init() tea.Cmd { return tea.Batch(m.Reload(), m.loadBaseline()) }

// Reload asks again for the newest rows, the count and the rates, after a
// gap in the subscription (a reconnect). While the display is paused the
// rows are reloaded on resume instead, so the rows being read do not
// move.
func (m *Model) Reload() tea.Cmd {
	if !m.follow {
		m.reloadResume = true
		return tea.Batch(m.loadRates(), m.loadCounts())
	}
	return tea.Batch(m.reloadRows(), m.loadRates())
}

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.table.SetWidth(m.width)
	m.layout()
}

// Loading reports whether anything the view shows is still on its way:
// the rows for the current filter, their count, the rates or their
// baselines.
func (m Model) Loading() bool {
	return m.latestReq.Busy() || m.countReq.Busy() || !m.ratesLoaded || m.baseReq.Busy()
}

// HandlesBack reports whether esc has something to undo in Live: a filter
// the user applied, which esc clears before it goes back to another view.
// A filter another view set (a histogram bar) leaves esc to go back there;
// when there is nowhere to go back to, esc clears it too.
func (m Model) HandlesBack() bool { return m.filterExpr != "" && !m.drilled }

// InputActive reports whether the filter bar or the time prompt has the
// keyboard, so global keys must not be taken from it.
func (m Model) InputActive() bool { return m.bar.IsOpen() || m.jump.open || m.prompt.IsOpen() }

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
func (m Model) Len() int { return m.rows.Len() }

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
	if d := m.rows.At(m.cursor); d != nil {
		return *d, true
	}
	return decision.Decision{}, false
}

// ShortHelp lists the main keys.
func (m Model) ShortHelp() []key.Binding {
	switch {
	case m.bar.IsOpen():
		return m.bar.ShortHelp()
	case m.jump.open:
		return m.jump.shortHelp()
	case m.prompt.IsOpen():
		return m.prompt.ShortHelp()
	}
	return []key.Binding{m.keys.Pause, m.keys.Filter, m.keys.Jump, m.keys.Open, m.keys.Follow, m.keys.Explain, m.keys.Label.Fraud, m.keys.Label.Legit}
}

// FullHelp lists every key of the view.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{m.keys.Pause, m.keys.Filter, m.keys.Jump, m.keys.Open, m.keys.Copy, m.keys.Journey,
		m.keys.Links, m.keys.Follow, m.keys.Oldest, m.keys.Explain, m.keys.Label.Fraud, m.keys.Label.Legit, m.keys.Label.FraudAll, m.keys.Label.LegitAll,
		m.keys.Label.Undo, k.Up, k.Down, k.PageUp, k.PageDown}
}

// HelpGroups are the languages the view's prompts take, for the help
// screen: the filter and the times T jumps to.
func (m Model) HelpGroups() []widget.HelpGroup {
	return []widget.HelpGroup{
		{Title: "Filter (/): terms, all must match", Entries: widget.FilterSyntax()},
		{Title: "Jump to a time (T)", Entries: jumpSyntax},
	}
}

// Update handles keys, query answers, new batches and health snapshots.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.Answer[[]decision.Decision]:
		return m, m.onRows(msg)
	case common.Answer[ratesRead]:
		m.onRates(msg)
	case common.Answer[countRead]:
		if m.countReq.Take(msg) && msg.Err == nil {
			m.counter.answer(msg.Value)
		}
	case common.Answer[baseline]:
		if m.baseReq.Take(msg) && msg.Err == nil {
			m.base = msg.Value
		}
	case common.BatchMsg:
		return m, m.onBatch(msg.Batch)
	case common.HealthMsg:
		if msg.Err == nil {
			if shadow := msg.Health.Shadow != nil; shadow != m.shadow {
				// The shadow column comes and goes with the shadow policy.
				m.shadow, m.table = shadow, newTable(shadow)
				m.table.SetWidth(m.width)
			}
			m.health, m.haveHealth = msg.Health, true
			if msg.Health.LastEvent.After(m.lastEvent) {
				m.lastEvent = msg.Health.LastEvent
			}
		}
		// The snapshot arrives every second: the clock for what moves
		// with time.
		return m, m.onSecond()
	case common.Answer[filterUsers]:
		if m.usersReq.Take(msg) {
			return m, m.onFilterUsers(msg)
		}
	case common.LabelledMsg:
		m.rows.Each(func(d *decision.Decision) { common.ApplyLabels(d, msg.Entries) })
		m.pending.Each(func(d *decision.Decision) { common.ApplyLabels(d, msg.Entries) })
	case tea.KeyPressMsg:
		switch {
		case m.bar.IsOpen():
			return m.updateFilter(msg)
		case m.jump.open:
			return m.updateJump(msg)
		case m.prompt.IsOpen():
			cmd := m.prompt.Update(m.c, msg)
			m.layout()
			return m, cmd
		}
		return m.onKey(msg)
	case tea.PasteMsg:
		switch {
		case m.bar.IsOpen():
			return m.updateFilter(msg)
		case m.jump.open:
			return m.updateJump(msg)
		case m.prompt.IsOpen():
			return m, m.prompt.Update(m.c, msg)
		}
	}
	return m, nil
}

// onSecond reads again what the clock has moved: the baselines once a
// minute, and the row count of a time-bounded filter every CountEvery.
func (m *Model) onSecond() tea.Cmd {
	now := m.c.Clock()
	var cmds []tea.Cmd
	if unixMinute(now) != m.baseMinute && !m.baseReq.Busy() {
		cmds = append(cmds, m.loadBaseline())
	}
	if m.filter.Relative() && now.Sub(m.countedAt) >= CountEvery && !m.countReq.Busy() {
		cmds = append(cmds, m.loadCounts())
	}
	return tea.Batch(cmds...)
}

// onRows takes an answer of one of the row queries: the newest rows, or
// a page read while paging (history.go).
func (m *Model) onRows(msg common.Answer[[]decision.Decision]) tea.Cmd {
	switch {
	case m.latestReq.Take(msg):
		m.onLatest(msg)
	case m.hist.olderReq.Take(msg):
		return m.onOlder(msg)
	case m.hist.newerReq.Take(msg):
		return m.onNewer(msg)
	}
	return nil
}

// onLatest replaces the rows with the newest, then adds those that
// arrived while they were read.
func (m *Model) onLatest(msg common.Answer[[]decision.Decision]) {
	m.loadErr = msg.Err
	m.rows.Reset()
	m.hist.reset(len(msg.Value) < m.newestRows() && msg.Err == nil)
	rows := msg.Value
	var newest string
	for i := len(rows) - 1; i >= 0; i-- {
		m.rows.Push(&rows[i])
	}
	if len(rows) > 0 {
		newest = rows[0].ID
		if t := rows[0].Time; t.After(m.lastEvent) {
			m.lastEvent = t
		}
	}
	for p := m.early.First(); p < m.early.End(); p++ {
		if d := m.early.At(p); newest == "" || d.ID > newest {
			m.push(d)
		}
	}
	m.early.Reset()
	m.snap()
}

func (m *Model) onRates(msg common.Answer[ratesRead]) {
	if !m.ratesReq.Take(msg) {
		return
	}
	m.ratesLoaded = true
	r := msg.Value
	seedNewest := ""
	if msg.Err == nil {
		m.rates.Load(r.counts)
		m.rates.Seed(r.seed, len(r.seed) < SeedRows)
		if len(r.seed) > 0 {
			seedNewest = r.seed[0].ID
		}
	}
	for _, s := range m.preRates {
		switch {
		case msg.Err != nil:
			m.rates.Add(s.event, s.a)
		case s.stored.After(r.to) || s.id > seedNewest:
			m.rates.AddTo(s.event, s.a, s.stored.After(r.to), s.id > seedNewest)
		}
	}
	m.preRates = m.preRates[:0]
}

// onBatch counts every decision and keeps those matching the filter: aside
// while paused, until the rows arrive while they are loading, else in the
// table.
func (m *Model) onBatch(b api.Batch) tea.Cmd {
	recount := false
	for i := range b.Decisions {
		d := &b.Decisions[i]
		if m.ratesLoaded {
			m.rates.Add(d.EventTime, d.Action)
		} else if len(m.preRates) < maxPreRates {
			m.preRates = append(m.preRates, stamp{stored: d.Time, event: d.EventTime, id: d.ID, a: d.Action})
		}
		if d.Time.After(m.lastEvent) {
			m.lastEvent = d.Time
		}
		match := m.filter.Match(d)
		if !m.counter.arrive(d.ID, match, m.countReq.Busy()) {
			recount = true
		}
		if !match {
			continue
		}
		switch {
		case !m.follow:
			m.pending.Push(d)
		case m.latestReq.Busy():
			m.early.Push(d)
		default:
			m.push(d)
		}
	}
	var cmds []tea.Cmd
	if recount || b.Missed > 0 {
		cmds = append(cmds, m.loadCounts())
	}
	if b.Missed > 0 {
		m.missed += b.Missed
		if m.ratesLoaded {
			cmds = append(cmds, m.loadRates())
		}
		if m.follow && !m.latestReq.Busy() {
			cmds = append(cmds, m.loadLatest())
		} else if !m.follow {
			m.reloadResume = true
		}
	}
	m.snap()
	return tea.Batch(cmds...)
}

// push adds a new row at the newest end; the oldest row read may go, and
// then there are older rows to read again.
func (m *Model) push(d *decision.Decision) {
	if m.rows.Push(d) {
		m.hist.atOldest = false
	}
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
	case key.Matches(msg, m.keys.Jump):
		m.jump.start()
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
	case key.Matches(msg, m.keys.Explain):
		return m, common.Explain(m.filterExpr, "10m", "1h")
	case key.Matches(msg, m.keys.Journey):
		if d, ok := m.Selected(); ok {
			return m, common.OpenJourney(d.UserID)
		}
	case key.Matches(msg, m.keys.Links):
		if d, ok := m.Selected(); ok {
			return m, common.OpenLinks(d.UserID)
		}
	case key.Matches(msg, k.Up):
		return m, m.move(-1)
	case key.Matches(msg, k.Down):
		return m, m.move(1)
	case key.Matches(msg, k.PageUp):
		return m, m.move(-max(m.tableH, 1))
	case key.Matches(msg, k.PageDown):
		return m, m.move(max(m.tableH, 1))
	case key.Matches(msg, m.keys.Oldest):
		m.pause()
		m.cursor = m.rows.First()
		m.snap()
		return m, m.pageIfNeeded()
	case key.Matches(msg, m.keys.Follow):
		return m, m.resume()
	case key.Matches(msg, m.keys.Label.Fraud, m.keys.Label.Legit):
		if d, ok := m.Selected(); ok {
			m.prompt.Open(widget.LabelOne(&d, key.Matches(msg, m.keys.Label.Fraud)))
			m.layout()
		}
	case key.Matches(msg, m.keys.Label.FraudAll, m.keys.Label.LegitAll):
		return m, m.loadFilterUsers(key.Matches(msg, m.keys.Label.FraudAll))
	case key.Matches(msg, m.keys.Label.Undo):
		return m, common.UndoLabel()
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

// applyFilter switches to expr: rows and their count are read again, the
// display follows.
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
	m.rows.Reset()
	m.hist.reset(false)
	m.counter = counter{} // the matches start over
	m.snap()
	return m.reloadRows()
}

// reloadRows reads the newest rows of the filter and their count.
func (m *Model) reloadRows() tea.Cmd {
	return tea.Batch(m.loadLatest(), m.loadCounts())
}

// pause freezes the display; new rows are counted in pending.
func (m *Model) pause() {
	if !m.follow {
		return
	}
	m.follow = false
	m.pending.Reset()
}

// resume shows the newest rows again and follows: the rows that arrived
// while paused are added, or, when more arrived than the view keeps, some
// were missed, or the rows shown are an older part of history, the newest
// are read again.
func (m *Model) resume() tea.Cmd {
	if m.follow {
		return nil
	}
	m.follow = true
	reload := m.reloadResume || m.pending.Overflowed() || m.hist.detached()
	m.reloadResume = false
	if !reload {
		newest := ""
		if d := m.rows.Newest(); d != nil {
			newest = d.ID
		}
		for p := m.pending.First(); p < m.pending.End(); p++ {
			if d := m.pending.At(p); d.ID > newest {
				m.push(d)
			}
		}
	}
	m.pending.Reset()
	m.snap()
	if reload {
		m.rows.Reset()
		m.hist.reset(false)
		return m.loadLatest()
	}
	return nil
}

// snap keeps cursor and top valid: following pins both to the newest rows;
// otherwise the selection stays put and the window scrolls just enough.
func (m *Model) snap() {
	first, end := m.rows.First(), m.rows.End()
	h := max(m.tableH, 1)
	if end == first {
		m.cursor, m.top = first, first
		return
	}
	if m.follow {
		m.cursor = end - 1
	}
	m.cursor = min(max(m.cursor, first), end-1)
	if m.follow || m.top+h > end {
		m.top = max(end-h, first)
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
	d := m.rows.At(m.cursor)
	if d == nil {
		return common.Status("nothing to copy", common.LevelWarn)
	}
	return m.c.CopyDecision(*d)
}
