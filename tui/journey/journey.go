// Package journey is the Journeys view: a list of users (sorted by last
// seen, highest risk or most denies; searched by ID, email or IP; or all
// users seen on one IP), and one user's timeline, newest or oldest first,
// with the gap since the previous event, the device read from the user
// agent, what changed (IP, device, country) highlighted, a risk sparkline,
// and the events of an account takeover chain marked. enter on an event
// opens its detail; i lists every user seen on the event's IP.
package journey

import (
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// Limits of what the view reads.
const (
	// UsersPage is how many users the list reads first (more when the
	// screen has room for more), and how many more it reads when the
	// cursor comes within a screen of the last one read.
	UsersPage = 100
	// UsersLimit caps the users listed.
	UsersLimit = 1000
	// EventsLimit caps the events of a timeline (the newest).
	EventsLimit = 1000
)

// Refresh timing: while visible, the list or timeline is read again at
// most this often when new decisions arrived.
const RefreshEvery = 5 * time.Second

// KeyMap holds the view's own bindings.
type KeyMap struct {
	Open   key.Binding
	Search key.Binding
	Sort   key.Binding
	Order  key.Binding
	Pivot  key.Binding
	Links  key.Binding
	IDs    key.Binding
	Back   key.Binding
	Label  widget.LabelKeys
}

func defaultKeyMap() KeyMap {
	return KeyMap{
		Open:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Search: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search id, any email, IP")),
		Sort:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort: seen/risk/denies")),
		Order:  key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "newest/oldest first")),
		Pivot:  key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "users on this IP")),
		Links:  key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "linked users")),
		IDs:    key.NewBinding(key.WithKeys("I"), key.WithHelp("I", "every email, IP, device")),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Label:  widget.DefaultLabelKeys(),
	}
}

// Model is the Journeys view: the users list or one user's timeline.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int

	list list
	tl   tlState

	refresh common.Refresher
	prompt  widget.LabelPrompt
}

// New returns the Journeys view on the users list, sorted by last seen.
func New(c *common.Common) Model {
	return Model{
		c:       c,
		keys:    defaultKeyMap(),
		list:    newList(),
		tl:      newTLState(),
		refresh: common.Refresher{View: common.ViewJourneys, Every: RefreshEvery, MinGap: RefreshEvery},
	}
}

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.list.table.SetWidth(m.width)
	m.tl.table.SetWidth(m.width)
	m.tl.idTable.SetWidth(m.width)
	m.list.scroll(m.listRows())
	m.tl.scroll(m.timelineRows())
}

// Show is called when the view becomes visible: it reads what is shown if
// it was never read or new decisions arrived since.
func (m *Model) Show() tea.Cmd {
	tick := m.refresh.Show()
	switch {
	case m.tl.open && !m.tl.req.Busy() && (m.tl.data == nil || m.refresh.Dirty()):
		return tea.Batch(tick, m.loadTimeline())
	case !m.tl.open && !m.list.req.Busy() && (!m.list.loaded || m.refresh.Dirty()):
		return tea.Batch(tick, m.loadUsers(true))
	}
	return tick
}

// Hide is called when another view is shown.
func (m *Model) Hide() { m.refresh.Hide() }

// Open shows userID's timeline, newest first, reading it. It is how other
// views open a journey: esc then goes back to them (HandlesBack), not to
// the list of users.
func (m *Model) Open(userID string) tea.Cmd {
	m.tl.openUser(userID)
	m.tl.fromList = false
	return m.loadTimeline()
}

// openFromList shows the timeline of the user chosen in the list; esc
// returns to the list.
func (m *Model) openFromList(userID string) tea.Cmd {
	m.tl.openUser(userID)
	m.tl.fromList = true
	return m.loadTimeline()
}

// HandlesBack reports whether esc has something to undo inside the view:
// a timeline opened from the list (back to the list), the list of a
// user's identities (back to the timeline), or the list's IP pivot or
// search (cleared). A timeline another view opened leaves esc to the root,
// which goes back to that view.
func (m Model) HandlesBack() bool {
	if m.tl.open {
		return m.tl.fromList || m.tl.idsOpen
	}
	return m.list.ip != "" || m.list.search != ""
}

// InputActive reports whether the search box has the keyboard, so global
// keys must not be taken from it.
func (m Model) InputActive() bool { return m.list.searching || m.prompt.IsOpen() }

// Loading reports whether what is shown is awaited: the list never read,
// or a read under way.
func (m Model) Loading() bool {
	if m.tl.open {
		return m.tl.req.Busy() || (m.tl.data == nil && m.tl.err == nil)
	}
	return m.list.req.Busy() || (!m.list.loaded && m.list.err == nil)
}

// TimelineOpen reports whether a user's timeline is shown.
func (m Model) TimelineOpen() bool { return m.tl.open }

// User is the user whose timeline is shown ("" on the list).
func (m Model) User() string {
	if !m.tl.open {
		return ""
	}
	return m.tl.user
}

// Selected returns the selected event of the timeline.
func (m Model) Selected() (decision.Decision, bool) {
	if r := m.tl.selected(); r != nil {
		return *r.d, true
	}
	return decision.Decision{}, false
}

// ShortHelp lists the main keys of what is shown.
func (m Model) ShortHelp() []key.Binding {
	switch {
	case m.list.searching:
		return []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		}
	case m.prompt.IsOpen():
		return m.prompt.ShortHelp()
	case m.tl.open:
		return []key.Binding{m.keys.Open, m.keys.Order, m.keys.IDs, m.keys.Pivot, m.keys.Links, m.keys.Label.Fraud, m.keys.Label.Legit, m.keys.Back}
	}
	return []key.Binding{m.keys.Open, m.keys.Sort, m.keys.Search, m.keys.Links}
}

// FullHelp lists every key of what is shown.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	nav := []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
	if m.tl.open {
		return append([]key.Binding{m.keys.Open, m.keys.Order, m.keys.IDs, m.keys.Pivot, m.keys.Links,
			m.keys.Label.Fraud, m.keys.Label.Legit, m.keys.Label.Undo, m.keys.Back}, nav...)
	}
	return append([]key.Binding{m.keys.Open, m.keys.Sort, m.keys.Search, m.keys.Links, m.keys.Back}, nav...)
}

// Update handles keys, answers, refresh ticks and new batches.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.Answer[api.UserList]:
		m.list.onUsers(msg, m.c.Clock())
		m.list.scroll(m.listRows())
	case common.Answer[*timeline]:
		m.tl.onTimeline(msg)
		m.tl.scroll(m.timelineRows())

	case common.RefreshMsg:
		ok, next := m.refresh.Tick(msg)
		if ok && m.refresh.Dirty() {
			cmd := tea.Batch(next, m.reload())
			return m, cmd
		}
		return m, next
	case common.BatchMsg:
		if len(msg.Batch.Decisions) > 0 || msg.Batch.Missed > 0 {
			m.refresh.MarkDirty()
		}
	case common.LabelledMsg:
		if m.tl.data != nil {
			for i := range m.tl.data.rows {
				common.ApplyLabels(m.tl.data.rows[i].d, msg.Entries)
			}
		}
	case tea.PasteMsg:
		if m.prompt.IsOpen() {
			return m, m.prompt.Update(m.c, msg)
		}
		if m.list.searching {
			return m.editSearch(msg)
		}
	case tea.KeyPressMsg:
		if m.prompt.IsOpen() {
			return m, m.prompt.Update(m.c, msg)
		}
		if m.list.searching {
			return m.editSearch(msg)
		}
		if m.tl.open {
			return m.timelineKey(msg)
		}
		return m.listKey(msg)
	}
	return m, nil
}

// reload reads again what is shown, unless a read is under way.
func (m *Model) reload() tea.Cmd {
	if m.tl.open {
		if m.tl.req.Busy() {
			return nil
		}
		return m.loadTimeline()
	}
	if m.list.req.Busy() || m.list.searching {
		return nil
	}
	return m.loadUsers(true)
}

func (m Model) listKey(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	k := m.c.Keys
	switch {
	case key.Matches(msg, m.keys.Open):
		if u := m.list.selected(); u != nil {
			cmd := m.openFromList(u.UserID)
			return m, cmd
		}
	case key.Matches(msg, m.keys.Links):
		if u := m.list.selected(); u != nil {
			return m, common.OpenLinks(u.UserID)
		}
	case key.Matches(msg, m.keys.Sort):
		m.list.sort = (m.list.sort + 1) % numSorts
		cmd := m.loadUsers(false)
		return m, cmd
	case key.Matches(msg, m.keys.Search):
		m.list.startSearch()
	case key.Matches(msg, m.keys.Back):
		if m.list.ip != "" {
			m.list.ip = ""
			cmd := m.loadUsers(false)
			return m, cmd
		}
		if m.list.search != "" {
			m.list.search = ""
			cmd := m.loadUsers(false)
			return m, cmd
		}
	default:
		m.list.move(msg, k, m.listRows())
		return m, m.moreUsers()
	}
	return m, nil
}

func (m Model) timelineKey(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	k := m.c.Keys
	t := &m.tl
	if t.idsOpen {
		switch {
		case key.Matches(msg, m.keys.Back, m.keys.IDs):
			t.idsOpen = false
		case t.data != nil:
			n := len(idRowsOf(t.data))
			t.idCursor = moveCursor(msg, k, t.idCursor, n, m.identityRows())
			t.idTop = scrollTop(t.idCursor, t.idTop, n, m.identityRows())
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, m.keys.IDs):
		if t.data != nil {
			t.idsOpen, t.idCursor, t.idTop = true, 0, 0
			t.idTable.SetWidth(m.width)
			rows := idRowsOf(t.data)
			t.idTable.SizeTo(idSource{rows: rows, loc: m.c.Clock().Location()}, len(rows))
		}
	case key.Matches(msg, m.keys.Back):
		m.tl.open = false
		if !m.list.loaded || m.refresh.Dirty() {
			cmd := m.loadUsers(true)
			return m, cmd
		}
	case key.Matches(msg, m.keys.Open):
		if r := m.tl.selected(); r != nil {
			return m, common.OpenDetail(*r.d)
		}
	case key.Matches(msg, m.keys.Links):
		return m, common.OpenLinks(t.user)
	case key.Matches(msg, m.keys.Label.Fraud, m.keys.Label.Legit):
		if r := m.tl.selected(); r != nil {
			m.prompt.Open(widget.LabelOne(r.d, key.Matches(msg, m.keys.Label.Fraud)))
		}
	case key.Matches(msg, m.keys.Label.Undo):
		return m, common.UndoLabel()
	case key.Matches(msg, m.keys.Order):
		m.tl.toggleOrder(m.timelineRows())
	case key.Matches(msg, m.keys.Pivot):
		r := m.tl.selected()
		if r == nil || r.d.IP == "" {
			return m, common.Status("this event has no IP", common.LevelWarn)
		}
		m.tl.open = false
		m.list.ip = r.d.IP
		cmd := m.loadUsers(false)
		return m, cmd
	default:
		m.tl.move(msg, k, m.timelineRows())
	}
	return m, nil
}

// editSearch passes a key or paste to the search box; every change reads
// the list again (answers to earlier searches are dropped).
func (m Model) editSearch(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "enter":
			m.list.searching = false
			return m, nil
		case "esc":
			m.list.searching = false
			if m.list.search != m.list.before {
				m.list.search = m.list.before
				cmd := m.loadUsers(false)
				return m, cmd
			}
			return m, nil
		}
	}
	var input = m.list.input
	if !input.Update(msg) {
		return m, nil
	}
	m.list.input = input
	if v := input.Value(); v != m.list.search {
		m.list.search = v
		cmd := m.loadUsers(false)
		return m, cmd
	}
	return m, nil
}

// listRows and timelineRows are the table rows that fit: the height less
// the title line(s) and the table header.
func (m Model) listRows() int { return max(m.height-listChrome, 0) }

func (m Model) timelineRows() int { return max(m.height-timelineChrome-m.idHeaderLines(), 0) }

// list is the users list's state.
type list struct {
	sort      decision.UserSort
	search    string // applied search
	before    string // search when the box opened (esc restores it)
	searching bool
	input     widget.LineEdit
	ip        string // only users seen on this IP

	users  []decision.UserSummary
	total  int // users that match, listed or not
	limit  int // users asked for: UsersPage, more as the cursor nears the end
	err    error
	loaded bool
	req    common.Request[api.UserList]
	keepID string // the user to keep selected when the answer comes

	cursor, top int
	table       *widget.Table
}

// tlState is the timeline's state.
type tlState struct {
	open bool
	// fromList is set when the timeline was opened from the list of
	// users, not by another view.
	fromList    bool
	user        string
	data        *timeline
	err         error
	req         common.Request[*timeline]
	oldestFirst bool
	cursor, top int // display positions
	table       *widget.Table
	// idsOpen shows every identity the user used instead of the events
	// (I); idCursor and idTop scroll that list.
	idsOpen         bool
	idCursor, idTop int
	idTable         *widget.Table
}
