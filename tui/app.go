package tui

import (
	"context"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/alerts"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/detail"
	"github.com/riskwatch/riskwatch/tui/explain"
	"github.com/riskwatch/riskwatch/tui/health"
	"github.com/riskwatch/riskwatch/tui/hist"
	"github.com/riskwatch/riskwatch/tui/journey"
	"github.com/riskwatch/riskwatch/tui/links"
	"github.com/riskwatch/riskwatch/tui/live"
	"github.com/riskwatch/riskwatch/tui/whatif"
)

// The smallest terminal the dashboard lays out in.
const (
	MinWidth  = 40
	MinHeight = 10
)

// chromeHeight is the tab bar, the status line and the help line.
const chromeHeight = 3

// statusTicks is how many refreshes a status message stays.
const statusTicks = 3

// Model is the root of the dashboard: it lays out the tab bar, the focused
// view, the status line and the help line; handles global keys, the data
// subscription and the refresh tick; and routes each message to the view it
// belongs to.
type Model struct {
	c      *common.Common
	cancel context.CancelFunc
	opts   Options

	// resizes counts window size changes, so that only the repaint after
	// the last one of a burst runs.
	resizes int

	theme     common.Theme
	themeAuto bool
	envPlain  bool

	width, height int
	helpOpen      bool
	helpOffset    int // first line of the full help shown

	// pages is the registry of views: adding a view is its package and one
	// line in newModel. The typed pointers below point into it, for the
	// calls only that view has.
	pages    [common.NumViews]page
	live     *live.Model
	hist     *hist.Model
	journeys *journey.Model
	whatif   *whatif.Model
	health   *health.Model
	alerts   *alerts.Model
	detail   *detail.Model
	explain  *explain.Model
	links    *links.Model

	// stack is where the user is and how they got there: its top has
	// focus, and esc goes back to the entry below. A tab key starts it
	// again from that tab; opening a journey, a decision or Live filtered
	// to a histogram bar pushes onto it. It is never empty.
	stack []common.ViewID
	// quitArmed is set by a first q when Options.QuitConfirm asks for a
	// second one.
	quitArmed bool

	// thVersion is the version of the thresholds in c (see
	// common.ThresholdsMsg).
	thVersion int

	sub          <-chan api.Batch
	disconnected bool
	healthReq    common.Request[api.Health]
	h            api.Health
	haveHealth   bool
	healthErr    error
	alertsReq    common.Request[api.Alerts]
	al           api.Alerts
	haveAlerts   bool
	// alertSeen holds the transitions of the last answer (nil before the
	// first): a firing not among them rings.
	alertSeen map[string]bool
	// term is what the environment says of the terminal.
	term struct{ tmux, osc777 bool }

	status      string
	statusLevel common.Level
	statusLeft  int

	// lastLabels are the labels recorded last, which z retracts.
	lastLabels []decision.LabelEntry
}

// New returns the dashboard's root model for use with tea.NewProgram. Call
// Close when the program has ended (quitting does it too) to stop the
// subscription.
func New(opts Options) (*Model, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return newModel(context.Background(), opts), nil
}

func newModel(ctx context.Context, opts Options) *Model {
	ctx, cancel := context.WithCancel(ctx)
	c := common.New(ctx, opts.Data, opts.Clock)
	c.Thresholds = opts.Thresholds
	m := &Model{
		c:         c,
		cancel:    cancel,
		opts:      opts,
		theme:     common.Theme{Dark: opts.Theme != "light", Plain: opts.NoColor},
		themeAuto: opts.Theme == "" || opts.Theme == "auto",
		stack:     []common.ViewID{common.ViewLive},
	}
	m.live = register(m, common.ViewLive, live.New(c, opts.RingSize))
	m.hist = register(m, common.ViewHistograms, hist.New(c))
	m.journeys = register(m, common.ViewJourneys, journey.New(c))
	m.whatif = register(m, common.ViewWhatIf, whatif.New(c, opts.saver()))
	m.health = register(m, common.ViewHealth, health.New(c))
	m.alerts = register(m, common.ViewAlerts, alerts.New(c))
	m.detail = register(m, common.ViewDetail, detail.New(c))
	m.explain = register(m, common.ViewExplain, explain.New(c))
	m.links = register(m, common.ViewLinks, links.New(c))
	m.c.Styles = common.NewStyles(m.theme)
	return m
}

// register puts a view's model in the registry under id and returns a
// pointer to it.
func register[M any, P component[M]](m *Model, id common.ViewID, v M) P {
	s := newSlot[M, P](v)
	m.pages[id] = s
	return s.ptr()
}

// Close stops the subscription and any query still running.
func (m *Model) Close() { m.cancel() }

// Init starts the first queries, the subscription and the refresh tick,
// and asks the terminal for its background colour.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.live.Init(), m.fetchHealth(), m.fetchAlerts(), subscribe(m.c), tick()}
	if m.themeAuto {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	return tea.Batch(cmds...)
}

// resizeSettle is how long after the last size change the screen is
// repainted once more.
const resizeSettle = 300 * time.Millisecond

// repaint redraws the whole screen from a known terminal state. The
// renderer scrolls with scrolling margins (DECSTBM) sized to what it
// believes the height is, and moves the cursor relative to where it
// believes it is; while a resize is under way both can be wrong, and a
// margin the terminal kept from a smaller size misplaces every later
// scroll (rows drawn over the header). Resetting the margins, homing the
// cursor and clearing puts terminal and renderer back in step.
func repaint() tea.Cmd {
	return tea.Sequence(tea.Raw(ansi.SetTopBottomMargins(0, 0)+ansi.CursorHomePosition), tea.ClearScreen)
}

// resizeSettledMsg says resizing stopped; it carries the resize count it
// was started for.
type resizeSettledMsg int

// Update routes msg: keys to the focused view after the global ones, data
// to the view it belongs to.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		// Repaint from a clean screen now and once more when the resizing
		// has settled: after a shrink and a grow under a stream of frames,
		// terminals (tmux among them) can hold reflowed or scrolled
		// leftovers the renderer's cell diff does not know about.
		m.resizes++
		n := m.resizes
		return m, tea.Batch(repaint(), tea.Tick(resizeSettle, func(time.Time) tea.Msg { return resizeSettledMsg(n) }))
	case resizeSettledMsg:
		if int(msg) == m.resizes {
			return m, repaint()
		}
		return m, nil
	case tea.BackgroundColorMsg:
		if m.themeAuto {
			m.setTheme(common.Theme{Dark: msg.IsDark(), Plain: m.theme.Plain})
		}
	case tea.EnvMsg:
		m.term.tmux = msg.Getenv("TMUX") != ""
		m.term.osc777 = msg.Getenv("VTE_VERSION") != "" || strings.Contains(msg.Getenv("TERM"), "rxvt")
		if msg.Getenv("NO_COLOR") != "" {
			m.envPlain = true
			m.setTheme(common.Theme{Dark: m.theme.Dark, Plain: true})
		}
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	case tickMsg:
		return m, m.onTick()
	case common.Answer[api.Health]:
		return m, m.onHealth(msg)
	case common.Answer[api.Alerts]:
		return m, m.onAlerts(msg)
	case subscribedMsg:
		return m, m.onSubscribed(msg)
	case subBatchMsg:
		return m, tea.Batch(m.onBatch(msg.batch), nextBatch(m.c.Context(), m.sub))
	case subClosedMsg:
		if m.c.Context().Err() != nil {
			return m, nil
		}
		m.disconnected = true
		return m, tea.Tick(resubscribeDelay, func(time.Time) tea.Msg { return resubscribeMsg{} })
	case resubscribeMsg:
		if !m.disconnected {
			return m, nil // already subscribed again
		}
		return m, subscribe(m.c)
	case common.StatusMsg:
		m.status, m.statusLevel, m.statusLeft = msg.Text, msg.Level, statusTicks
	case common.LabelledMsg:
		m.lastLabels = nil
		if !msg.Undo {
			m.lastLabels = msg.Entries
		}
		m.status, m.statusLevel, m.statusLeft = common.LabelText(msg), common.LevelInfo, statusTicks
		return m, m.broadcast(msg)
	case common.ShadowReloadedMsg:
		m.status, m.statusLevel = common.ShadowReloadText(msg.Result, m.c.Clock().Location())
		m.statusLeft = statusTicks
		return m, tea.Batch(m.broadcast(msg), m.fetchHealth())
	case common.UndoLabelMsg:
		return m, m.undoLabels()
	case common.LiveFilterMsg:
		return m, m.showLive(msg.Filter)
	case common.ExplainMsg:
		m.helpOpen = false
		return m, tea.Batch(m.explain.Open(msg.Filter, msg.Window, msg.Baseline, msg.Until), m.open(common.ViewExplain))
	case common.OpenJourneyMsg:
		return m, m.openJourney(msg.UserID)
	case common.OpenLinksMsg:
		return m, m.openLinks(msg.UserID)
	case common.ThresholdsMsg:
		m.setThresholds(msg)
	case common.OpenDetailMsg:
		m.helpOpen = false
		return m, tea.Batch(m.detail.SetDecision(msg.Decision), m.open(common.ViewDetail))
	case common.Routed:
		return m, m.routeTo(msg.Target(), msg)
	default:
		return m, m.routeTo(m.focus(), msg)
	}
	return m, nil
}

func (m *Model) onSubscribed(msg subscribedMsg) tea.Cmd {
	reconnect := m.sub != nil
	m.sub = msg.ch
	m.disconnected = false
	cmds := []tea.Cmd{nextBatch(m.c.Context(), m.sub)}
	if reconnect {
		cmds = append(cmds, m.live.Reload())
	}
	return tea.Batch(cmds...)
}

func (m *Model) onTick() tea.Cmd {
	if m.statusLeft > 0 {
		m.statusLeft--
		if m.statusLeft == 0 {
			m.status = ""
		}
	}
	cmds := []tea.Cmd{tick()}
	if !m.healthReq.Busy() {
		cmds = append(cmds, m.fetchHealth())
	}
	if !m.alertsReq.Busy() {
		cmds = append(cmds, m.fetchAlerts())
	}
	return tea.Batch(cmds...)
}

func (m *Model) onHealth(msg common.Answer[api.Health]) tea.Cmd {
	if !m.healthReq.Take(msg) {
		return nil
	}
	m.healthErr = msg.Err
	if msg.Err == nil {
		m.h, m.haveHealth = msg.Value, true
	}
	return m.broadcast(common.HealthMsg{Health: msg.Value, Err: msg.Err})
}

func (m *Model) quit() tea.Cmd {
	m.cancel()
	return tea.Quit
}

func (m *Model) onKey(k tea.KeyPressMsg) tea.Cmd {
	keys := m.c.Keys
	switch k.String() {
	case "ctrl+c":
		return m.quit()
	case "ctrl+l":
		// Redraw everything, as terminal programs do.
		return repaint()
	}
	if m.inputActive() {
		return m.routeTo(m.focus(), k)
	}
	if m.helpOpen {
		return m.onHelpKey(k)
	}
	armed := m.quitArmed
	m.quitArmed = false
	switch {
	case key.Matches(k, keys.Quit):
		return m.onQuitKey(armed)
	case key.Matches(k, keys.Help):
		m.helpOpen, m.helpOffset = true, 0
		return nil
	case key.Matches(k, keys.Back) && len(m.stack) > 1 && !m.pages[m.focus()].handlesBack():
		return m.back()
	case key.Matches(k, keys.NextView):
		return m.switchTo(common.ViewID((int(m.activeTab()) + 1) % common.NumTabs))
	case key.Matches(k, keys.PrevView):
		return m.switchTo(common.ViewID((int(m.activeTab()) + common.NumTabs - 1) % common.NumTabs))
	}
	for i, b := range keys.Views {
		if key.Matches(k, b) {
			return m.switchTo(common.ViewID(i))
		}
	}
	return m.routeTo(m.focus(), k)
}

// onHelpKey closes or scrolls the full help; it takes every key but quit.
func (m *Model) onHelpKey(k tea.KeyPressMsg) tea.Cmd {
	keys := m.c.Keys
	if key.Matches(k, keys.Quit) {
		return m.quit()
	}
	n, bh := len(m.helpLines()), m.bodyHeight()
	if key.Matches(k, keys.Help, keys.Back) {
		m.helpOpen = false
	} else {
		m.helpOffset = keys.Scroll(k, m.helpOffset, max(bh-1, 1), n)
	}
	m.helpOffset = max(min(m.helpOffset, n-bh), 0)
	return nil
}

// onQuitKey quits, or closes a screen opened from a tab (the detail): q
// there means "close this", not "leave the dashboard". With
// Options.QuitConfirm set, quitting takes a second q in a row.
func (m *Model) onQuitKey(armed bool) tea.Cmd {
	if !m.focus().IsTab() {
		return m.back()
	}
	if m.opts.QuitConfirm != "" && !armed {
		m.quitArmed = true
		m.status, m.statusLevel, m.statusLeft = m.opts.QuitConfirm, common.LevelWarn, statusTicks
		return nil
	}
	return m.quit()
}

// focus is the view receiving keys: the top of the stack.
func (m *Model) focus() common.ViewID { return m.stack[len(m.stack)-1] }

// activeTab is the tab the tab bar marks: the focused view, or the tab the
// focused screen was opened from.
func (m *Model) activeTab() common.ViewID {
	for i := len(m.stack) - 1; i >= 0; i-- {
		if m.stack[i].IsTab() {
			return m.stack[i]
		}
	}
	return common.ViewLive
}

// inputActive reports whether the focused view is taking text (a filter,
// a search, a value), so global keys must go to it.
func (m *Model) inputActive() bool { return m.pages[m.focus()].inputActive() }

// routeTo hands msg to one view.
func (m *Model) routeTo(v common.ViewID, msg tea.Msg) tea.Cmd {
	if v < 0 || v >= common.NumViews {
		return nil
	}
	return m.pages[v].update(msg)
}

// broadcast hands msg to every view; those it does not concern ignore it.
// undoLabels retracts the labels recorded last (z): a retract entry per
// subject, so the ledger keeps both.
func (m *Model) undoLabels() tea.Cmd {
	if len(m.lastLabels) == 0 {
		return common.Status("no label to undo", common.LevelWarn)
	}
	inputs := make([]api.LabelInput, 0, len(m.lastLabels))
	for _, e := range m.lastLabels {
		inputs = append(inputs, api.LabelInput{Kind: e.Kind, Subject: e.Subject, Class: decision.LabelRetract,
			Reason: "undo (dashboard)", Source: decision.SourceManual, Author: e.Author})
	}
	return m.c.WriteLabels(inputs, true)
}

func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(m.pages))
	for _, p := range m.pages {
		cmds = append(cmds, p.update(msg))
	}
	return tea.Batch(cmds...)
}

func (m *Model) resize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	for _, p := range m.pages {
		p.setSize(m.width, m.bodyHeight())
	}
}

// bodyHeight is the height left to the views between the tab bar and the
// status and help lines.
func (m *Model) bodyHeight() int { return max(m.height-chromeHeight, 0) }

func (m *Model) setTheme(t common.Theme) {
	if m.envPlain {
		t.Plain = true
	}
	if t == m.theme {
		return
	}
	m.theme = t
	m.c.Styles = common.NewStyles(t)
}
