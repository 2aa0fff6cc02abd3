package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/detail"
	"github.com/riskwatch/riskwatch/tui/health"
	"github.com/riskwatch/riskwatch/tui/hist"
	"github.com/riskwatch/riskwatch/tui/journey"
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
	active        common.ViewID
	detailOpen    bool
	helpOpen      bool
	helpOffset    int // first line of the full help shown

	live     live.Model
	hist     hist.Model
	journeys journey.Model
	whatif   whatif.Model
	health   health.Model
	detail   detail.Model

	// thVersion is the version of the thresholds in c (see
	// common.ThresholdsMsg).
	thVersion int

	sub          <-chan api.Batch
	disconnected bool
	healthSeq    int
	healthBusy   bool
	h            api.Health
	haveHealth   bool
	healthErr    error

	status      string
	statusLevel common.Level
	statusLeft  int
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
		live:      live.New(c, opts.RingSize),
		hist:      hist.New(c),
		journeys:  journey.New(c),
		whatif:    whatif.New(c, opts.saver()),
		health:    health.New(c),
		detail:    detail.New(c),
	}
	m.c.Styles = common.NewStyles(m.theme)
	return m
}

// Close stops the subscription and any query still running.
func (m *Model) Close() { m.cancel() }

// Init starts the first queries, the subscription and the refresh tick,
// and asks the terminal for its background colour.
func (m *Model) Init() tea.Cmd {
	m.healthSeq++
	m.healthBusy = true
	cmds := []tea.Cmd{m.live.Init(), fetchHealth(m.c, m.healthSeq), subscribe(m.c), tick()}
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
		if msg.Getenv("NO_COLOR") != "" {
			m.envPlain = true
			m.setTheme(common.Theme{Dark: m.theme.Dark, Plain: true})
		}
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	case tickMsg:
		return m, m.onTick()
	case healthResultMsg:
		return m, m.onHealth(msg)
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
	case common.LiveFilterMsg:
		return m, m.showLive(msg.Filter)
	case common.OpenJourneyMsg:
		return m, m.openJourney(msg.UserID)
	case common.ThresholdsMsg:
		m.setThresholds(msg)
	case common.OpenDetailMsg:
		m.detailOpen = true
		m.helpOpen = false
		return m, m.detail.SetDecision(msg.Decision)
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
	if !m.healthBusy {
		m.healthSeq++
		m.healthBusy = true
		cmds = append(cmds, fetchHealth(m.c, m.healthSeq))
	}
	return tea.Batch(cmds...)
}

func (m *Model) onHealth(msg healthResultMsg) tea.Cmd {
	if msg.seq != m.healthSeq {
		return nil
	}
	m.healthBusy = false
	m.healthErr = msg.err
	if msg.err == nil {
		m.h, m.haveHealth = msg.h, true
	}
	hm := common.HealthMsg{Health: msg.h, Err: msg.err}
	var c1, c2 tea.Cmd
	m.live, c1 = m.live.Update(hm)
	m.health, c2 = m.health.Update(hm)
	return tea.Batch(c1, c2)
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
	switch {
	case key.Matches(k, keys.Quit):
		return m.quit()
	case key.Matches(k, keys.Help):
		m.helpOpen, m.helpOffset = true, 0
		return nil
	case key.Matches(k, keys.Back) && m.detailOpen:
		m.detailOpen = false
		return nil
	case key.Matches(k, keys.NextView):
		return m.switchTo((m.active + 1) % common.NumTabs)
	case key.Matches(k, keys.PrevView):
		return m.switchTo((m.active + common.NumTabs - 1) % common.NumTabs)
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

// focus is the view receiving keys.
func (m *Model) focus() common.ViewID {
	if m.detailOpen {
		return common.ViewDetail
	}
	return m.active
}

// inputActive reports whether the focused view is taking text (a filter,
// a search, a value), so global keys must go to it.
func (m *Model) inputActive() bool {
	switch m.focus() {
	case common.ViewLive:
		return m.live.InputActive()
	case common.ViewJourneys:
		return m.journeys.InputActive()
	case common.ViewWhatIf:
		return m.whatif.InputActive()
	}
	return false
}

// routeTo hands msg to one view.
func (m *Model) routeTo(v common.ViewID, msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch v {
	case common.ViewLive:
		m.live, cmd = m.live.Update(msg)
	case common.ViewHistograms:
		m.hist, cmd = m.hist.Update(msg)
	case common.ViewJourneys:
		m.journeys, cmd = m.journeys.Update(msg)
	case common.ViewWhatIf:
		m.whatif, cmd = m.whatif.Update(msg)
	case common.ViewHealth:
		m.health, cmd = m.health.Update(msg)
	case common.ViewDetail:
		m.detail, cmd = m.detail.Update(msg)
	}
	return cmd
}

func (m *Model) resize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	bw, bh := m.width, m.bodyHeight()
	m.live.SetSize(bw, bh)
	m.hist.SetSize(bw, bh)
	m.journeys.SetSize(bw, bh)
	m.whatif.SetSize(bw, bh)
	m.health.SetSize(bw, bh)
	m.detail.SetSize(bw, bh)
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
