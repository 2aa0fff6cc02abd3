// Package hist is the Histograms view: the distribution of one score (risk,
// ATO, bot or abuse) over a window (5m, 1h, 24h or all history), one bar
// per bucket of score points split by actual action, as wide as the
// terminal lets them be, on a y axis with ticks (linear or log); the
// simulated challenge and deny thresholds and today's policy (the
// thresholds that best reproduce the actual actions) drawn as lines of
// their own; the previous window of the same length as a thin bar beside
// each bar; and the counts and shares of the selected bar. enter on a bar
// opens the Live view filtered to that score range; = goes to a score.
//
// Data comes from api.Reader.Histogram (rollups) in commands; the view
// re-reads it every RefreshEvery while visible when the window moved or
// new decisions arrived, and soon after new batches (at most once per
// BatchGap).
package hist

import (
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// Refresh timing while the view is visible.
const (
	RefreshEvery = 2 * time.Second
	BatchGap     = time.Second
)

// defaultWindow is the index in common.Windows shown first (1h).
const defaultWindow = 1

// KeyMap holds the view's own bindings.
type KeyMap struct {
	Scores  common.ScoreKeys
	Windows common.WindowKeys
	Log     key.Binding
	Compare key.Binding
	Left    key.Binding
	Right   key.Binding
	Jump    key.Binding
	Open    key.Binding
	Explain key.Binding
}

func defaultKeyMap() KeyMap {
	return KeyMap{
		Scores:  common.DefaultScoreKeys(),
		Windows: common.NewWindowKeys("5m/1h/24h/all"),
		Log:     key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "log scale")),
		Compare: key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "previous window beside")),
		Left:    key.NewBinding(key.WithKeys("left"), key.WithHelp("←/→", "select bar")),
		Right:   key.NewBinding(key.WithKeys("right")),
		Jump:    key.NewBinding(key.WithKeys("="), key.WithHelp("=", "go to a score")),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "show in Live")),
		Explain: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "explain the bar")),
	}
}

// Model is the Histograms view. Its state (score, window, selection,
// scale) is kept while other views are shown.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int

	score   decision.Score
	win     int // index in common.Windows
	log     bool
	compare bool
	sel     int // score point where the selected bar starts (0..100)

	// jumping is set while = asks for a score to go to.
	jumping bool
	input   widget.LineEdit
	jumpErr string

	refresh common.Refresher
	req     common.Request[result]
	lastTo  time.Time // end of the window last asked for

	data    *result // the last answer, nil before the first
	version int     // bumps with every answer
	cache   *frame
}

// New returns the Histograms view showing the configured score, if any,
// over the last hour.
func New(c *common.Common) Model {
	return Model{
		c:       c,
		keys:    defaultKeyMap(),
		score:   c.CurrentThresholds().Score,
		win:     defaultWindow,
		compare: true,
		refresh: common.Refresher{View: common.ViewHistograms, Every: RefreshEvery, MinGap: BatchGap},
		req:     common.Request[result]{View: common.ViewHistograms},
		cache:   &frame{},
	}
}

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
}

// Show is called when the view becomes visible: it starts the refresh
// ticks and reads the data if it is missing or out of date.
func (m *Model) Show() tea.Cmd {
	tick := m.refresh.Show()
	if m.data == nil || m.refresh.Dirty() || m.windowMoved() {
		return tea.Batch(tick, m.load())
	}
	return tick
}

// Hide is called when another view is shown: refreshing stops.
func (m *Model) Hide() { m.refresh.Hide() }

// Score returns the score shown.
func (m Model) Score() decision.Score { return m.score }

// Window returns the window shown.
func (m Model) Window() common.Window { return common.Windows[m.win] }

// Loading reports whether the chart is awaited: never read yet, or an
// answer under way.
func (m Model) Loading() bool { return m.req.Busy() || m.data == nil }

// InputActive reports whether = is asking for a score, so global keys
// must not be taken from it.
func (m Model) InputActive() bool { return m.jumping }

// ShortHelp lists the main keys.
func (m Model) ShortHelp() []key.Binding {
	if m.jumping {
		return []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "go")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		}
	}
	return []key.Binding{m.keys.Scores.Help, m.keys.Windows.Next, m.keys.Left, m.keys.Jump, m.keys.Open, m.keys.Log}
}

// FullHelp lists every key of the view.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{m.keys.Scores.Help, m.keys.Windows.Next, m.keys.Windows.Prev, m.keys.Left, m.keys.Jump,
		k.Top, k.Bottom, m.keys.Open, m.keys.Explain, m.keys.Log, m.keys.Compare}
}

// Update handles keys, answers, refresh ticks and new batches.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.Answer[result]:
		m.onResult(msg)
	case common.RefreshMsg:
		ok, next := m.refresh.Tick(msg)
		if ok && !m.req.Busy() && (m.refresh.Dirty() || m.windowMoved()) {
			cmd := tea.Batch(next, m.load())
			return m, cmd
		}
		return m, next
	case common.BatchMsg:
		if len(msg.Batch.Decisions) > 0 || msg.Batch.Missed > 0 {
			if m.refresh.Batch(m.c.Clock()) && !m.req.Busy() {
				cmd := m.load()
				return m, cmd
			}
		}
	case tea.KeyPressMsg:
		if m.jumping {
			return m.jumpKey(msg), nil
		}
		return m.onKey(msg)
	case tea.PasteMsg:
		if m.jumping && m.input.Update(msg) {
			m.jumpErr = ""
		}
	}
	return m, nil
}

// jumpKey handles a key while = asks for a score: enter selects the bar
// holding it, esc gives up.
func (m Model) jumpKey(msg tea.KeyPressMsg) Model {
	switch msg.String() {
	case "enter":
		v, err := strconv.Atoi(strings.TrimSpace(m.input.Value()))
		if err != nil || v < 0 || v > 100 {
			m.jumpErr = "type a score from 0 to 100"
			return m
		}
		m.jumping = false
		m.sel = v
		m.moveSelection(0)
	case "esc":
		m.jumping = false
	default:
		if m.input.Update(msg) {
			m.jumpErr = ""
		}
	}
	return m
}

func (m Model) onKey(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	if s, ok := m.keys.Scores.Score(msg); ok {
		return m.setScore(s)
	}
	if win, ok := m.keys.Windows.Step(msg, m.win); ok {
		m.win = win
		cmd := m.load()
		return m, cmd
	}
	k := m.c.Keys
	switch {
	case key.Matches(msg, m.keys.Log):
		m.log = !m.log
	case key.Matches(msg, m.keys.Compare):
		m.compare = !m.compare
	case key.Matches(msg, m.keys.Jump):
		m.jumping, m.jumpErr = true, ""
		m.input.SetValue("")
	case key.Matches(msg, m.keys.Left):
		m.moveSelection(-1)
	case key.Matches(msg, m.keys.Right):
		m.moveSelection(1)
	case key.Matches(msg, k.Top):
		m.sel = 0
	case key.Matches(msg, k.Bottom):
		m.sel = 100
		m.moveSelection(0)
	case key.Matches(msg, m.keys.Open):
		return m, common.ShowLive(m.SelectedFilter())
	case key.Matches(msg, m.keys.Explain):
		w, b := m.explainWindow()
		return m, common.Explain(m.barFilter(), w, b)
	}
	return m, nil
}

func (m Model) setScore(s decision.Score) (Model, tea.Cmd) {
	if s == m.score && m.data != nil {
		return m, nil
	}
	m.score = s
	cmd := m.load()
	return m, cmd
}

// bucketWidth is the width of a bar in score points at the current size.
func (m Model) bucketWidth() int {
	return BucketWidth(m.width - axisWidth)
}

// selected returns the bounds [lo, hi) of the selected bar; hi is 101 for
// the last bar, which also holds 100.
func (m Model) selected() (lo, hi int) {
	w := m.bucketWidth()
	n := 100 / w
	i := min(m.sel/w, n-1)
	lo, hi = i*w, (i+1)*w
	if i == n-1 {
		hi = 101
	}
	return lo, hi
}

// moveSelection moves the selection by delta bars, staying on the chart.
func (m *Model) moveSelection(delta int) {
	w := m.bucketWidth()
	n := 100 / w
	i := min(max(min(m.sel/w, n-1)+delta, 0), n-1)
	m.sel = i * w
}

// SelectedFilter is the Live filter for the selected bar: its score range,
// the window, and no error decisions when the range starts at 0 (they
// carry zero scores but are not in the histogram).
func (m Model) SelectedFilter() string {
	lo, hi := m.selected()
	return rangeFilter(m.score, m.Window(), lo, hi)
}

// barFilter is the selected bar's score range without the window: Explain
// compares the window with a baseline before it, which a since: term
// would cut off.
func (m Model) barFilter() string {
	lo, hi := m.selected()
	return rangeFilter(m.score, common.Window{}, lo, hi)
}

// explainWindow is the window and baseline x explains a bar over: the
// histogram's window (an hour for all history) against the same length
// before it, at least an hour.
func (m Model) explainWindow() (window, baseline string) {
	w := m.Window()
	if w.All() {
		return "1h", "1h"
	}
	if w.Len < time.Hour {
		return w.Label, "1h"
	}
	return w.Label, w.Label
}
