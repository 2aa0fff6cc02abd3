// Package whatif is the What-if view: choose a score and move the
// challenge and deny thresholds (with the arrow keys or by typing a value)
// to see, over a window or all history, the actual × simulated matrix with
// the counts per action as its margins, the same per event type, and the
// decisions that would change, newest first (enter opens one, u its
// user's journey, y copies it), a page at a time. Beside the simulated
// thresholds it shows today's policy: the thresholds that best reproduce
// Safe-e's actual actions (decision.FitThresholds), which the view starts
// from. s saves the thresholds to the configuration file.
//
// The matrix comes from api.Reader.WhatIf (rollups) and is read again on
// every change; the fit from api.Reader.Histogram; the list from
// api.Reader.Flips, whose earlier read is cancelled when a newer one
// starts.
package whatif

import (
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// FlipsPage is how many more decisions that would change are read when
// the list's end is reached; MaxFlips caps the list (the contract's cap on
// one answer).
const (
	FlipsPage = 200
	MaxFlips  = 10_000
)

// RefreshEvery is how often, while visible, the view reads the matrix
// again when new decisions arrived.
const RefreshEvery = 5 * time.Second

// Step sizes of the arrow keys.
const (
	smallStep = 1
	bigStep   = 5
)

// defaultWindow is the index in common.Windows shown first: all history.
const defaultWindow = len(common.Windows) - 1

// SaveFunc writes thresholds to the configuration and returns the file
// written. It is called from a command, never from Update.
type SaveFunc func(decision.Thresholds) (string, error)

// KeyMap holds the view's own bindings.
type KeyMap struct {
	Scores       common.ScoreKeys
	Windows      common.WindowKeys
	Challenge    key.Binding
	Deny         key.Binding
	Lower        key.Binding
	Raise        key.Binding
	LowerMore    key.Binding
	RaiseMore    key.Binding
	Edit         key.Binding
	Save         key.Binding
	Open         key.Binding
	Journey      key.Binding
	Copy         key.Binding
	Today        key.Binding
	ApplyValue   key.Binding
	CancelValue  key.Binding
	ResetToSaved key.Binding
	Mature       key.Binding
	Policy       key.Binding
	Reload       key.Binding
}

func defaultKeyMap() KeyMap {
	return KeyMap{
		Scores:       common.DefaultScoreKeys(),
		Windows:      common.NewWindowKeys("all/5m/1h/24h"),
		Challenge:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "select challenge")),
		Deny:         key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "select deny")),
		Lower:        key.NewBinding(key.WithKeys("left"), key.WithHelp("←/→", "move threshold")),
		Raise:        key.NewBinding(key.WithKeys("right")),
		LowerMore:    key.NewBinding(key.WithKeys("shift+left"), key.WithHelp("shift+←/→", "move by 5")),
		RaiseMore:    key.NewBinding(key.WithKeys("shift+right")),
		Edit:         key.NewBinding(key.WithKeys("="), key.WithHelp("=", "type a value")),
		Save:         key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "save to config")),
		Open:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Journey:      key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "user journey")),
		Copy:         key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy JSON")),
		Today:        key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "today's policy")),
		ApplyValue:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "set")),
		CancelValue:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		ResetToSaved: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "reset to saved")),
		Mature:       key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "labels: only decisions older than 30d")),
		Policy:       key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "shadow policy replay")),
		Reload:       common.ReloadShadowKey(),
	}
}

// Model is the What-if view.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int
	save   SaveFunc

	th        decision.Thresholds // simulated
	thVersion int                 // counts changes of th, for ThresholdsMsg
	saved     decision.Thresholds // as configured or last saved
	which     Which
	win       int // index in common.Windows
	// started is set once the view has read its first fit and started
	// from it (or from the configured thresholds when there is none).
	started bool

	fitReq common.Request[fitRead]
	fit    *fitRead // today's policy, nil before the first

	editing bool
	input   widget.LineEdit
	editErr string

	wiReq common.Request[matrixRead]
	wi    *answer // the last matrix, nil before the first
	wiErr error

	// lbReq reads the what-if with labels; lb is its last answer, nil
	// before the first or after an error.
	lbReq common.Request[labelsRead]
	lb    *labelsRead
	// mature leaves decisions younger than MatureAge out of the label
	// metrics (m): their labels have not arrived yet.
	mature bool

	// flReq cancels a list read it supersedes: a scan for thresholds the
	// user has already moved past is wasted work.
	flReq    common.Request[flipsRead]
	flips    []decision.Decision
	flLimit  int    // how many the list asks for: pages read so far
	flKeepID string // the decision to keep selected when the list comes
	flFor    query  // what flips are for
	flErr    error
	flLoaded bool

	cursor, top int
	flipTable   *widget.Table
	typeTable   *widget.Table

	refresh common.Refresher

	// policy mode (p): the replay of the shadow policy (policy.go).
	policyMode bool
	polReq     common.Request[policyRead]
	pol        *policyRead
	polErr     error
	// shadow is the shadow policy in force as the last health snapshot
	// says, nil when the collector runs none.
	shadow *api.ShadowHealth
}

// query is what a read is for.
type query struct {
	th  decision.Thresholds
	win int
}

// New returns the What-if view starting from the configured thresholds
// over all history. save writes thresholds to the configuration; nil means
// there is nowhere to save.
func New(c *common.Common, save SaveFunc) Model {
	th := c.CurrentThresholds()
	return Model{
		c:         c,
		keys:      defaultKeyMap(),
		save:      save,
		th:        th,
		saved:     th,
		which:     Deny,
		win:       defaultWindow,
		flipTable: newFlipTable(),
		typeTable: newTypeTable(),
		refresh:   common.Refresher{View: common.ViewWhatIf, Every: RefreshEvery, MinGap: RefreshEvery},
		wiReq:     common.Request[matrixRead]{View: common.ViewWhatIf},
		flReq:     common.Request[flipsRead]{View: common.ViewWhatIf, Cancel: true},
		fitReq:    common.Request[fitRead]{View: common.ViewWhatIf, Cancel: true},
		lbReq:     common.Request[labelsRead]{View: common.ViewWhatIf, Cancel: true},
		polReq:    common.Request[policyRead]{View: common.ViewWhatIf, Cancel: true},
		flLimit:   FlipsPage,
	}
}

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.flipTable.SetWidth(m.width)
	m.typeTable.SetWidth(m.width)
	m.scroll()
}

// Show is called when the view becomes visible: the first time, it reads
// today's policy and starts from it; later it reads the matrix, the list
// and the fit again if new decisions arrived.
func (m *Model) Show() tea.Cmd {
	tick := m.refresh.Show()
	switch {
	case !m.started:
		if m.fitReq.Busy() {
			return tick
		}
		return tea.Batch(tick, m.loadFit())
	case m.wi == nil || m.refresh.Dirty():
		return tea.Batch(tick, m.recompute(), m.loadFit())
	}
	return tick
}

// Hide is called when another view is shown; a list read under way is
// cancelled (Show reads it again).
func (m *Model) Hide() {
	m.refresh.Hide()
	if m.flReq.Busy() {
		m.flReq.Drop()
		m.refresh.MarkDirty()
	}
}

// Loading reports whether the matrix, the list or the fit is awaited.
func (m Model) Loading() bool {
	return m.wiReq.Busy() || m.flReq.Busy() || m.fitReq.Busy() || (m.wi == nil && m.wiErr == nil)
}

// Today returns today's policy: the fit of the current score and window,
// if read.
func (m Model) Today() (decision.Fit, bool) {
	if m.fit == nil || m.fit.q != (query{th: decision.Thresholds{Score: m.th.Score}, win: m.win}) {
		return decision.Fit{}, false
	}
	return m.fit.fit, true
}

// Thresholds returns the simulated thresholds.
func (m Model) Thresholds() decision.Thresholds { return m.th }

// InputActive reports whether a value is being typed, so global keys must
// not be taken from it.
func (m Model) InputActive() bool { return m.editing }

// Flips returns the decisions listed as changing, newest first.
func (m Model) Flips() []decision.Decision { return m.flips }

// Matrix returns the last matrix read, if any.
func (m Model) Matrix() (decision.WhatIf, bool) {
	if m.wi == nil {
		return decision.WhatIf{}, false
	}
	return m.wi.w, true
}

// ShortHelp lists the main keys.
func (m Model) ShortHelp() []key.Binding {
	if m.editing {
		return []key.Binding{m.keys.ApplyValue, m.keys.CancelValue}
	}
	if m.policyMode {
		return []key.Binding{m.keys.Policy, m.keys.Reload, m.keys.Windows.Next}
	}
	return []key.Binding{m.keys.Lower, m.keys.Challenge, m.keys.Deny, m.keys.Edit, m.keys.Today, m.keys.Save, m.keys.Open}
}

// FullHelp lists every key of the view.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{m.keys.Scores.Help, m.keys.Challenge, m.keys.Deny, m.keys.Lower, m.keys.LowerMore,
		m.keys.Edit, m.keys.Today, m.keys.ResetToSaved, m.keys.Mature, m.keys.Policy, m.keys.Reload, m.keys.Windows.Next, m.keys.Windows.Prev, m.keys.Save,
		m.keys.Open, m.keys.Journey, m.keys.Copy, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
}

// Update handles keys, answers, refresh ticks and new batches.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.Answer[matrixRead]:
		cmd := m.onWhatIf(msg)
		return m, cmd
	case common.Answer[flipsRead]:
		m.onFlips(msg)
	case common.Answer[labelsRead]:
		m.onLabels(msg)
	case common.LabelledMsg:
		cmd := m.loadLabels()
		return m, cmd
	case common.Answer[fitRead]:
		cmd := m.onFit(msg)
		return m, cmd
	case common.Answer[policyRead]:
		m.onPolicy(msg)
	case common.HealthMsg:
		if msg.Err == nil {
			m.shadow = msg.Health.Shadow
		}
	case common.ShadowReloadedMsg:
		if m.policyMode && msg.Result.Reloaded {
			return m, m.loadPolicy()
		}
	case savedMsg:
		cmd := m.onSaved(msg)
		return m, cmd
	case common.RefreshMsg:
		ok, next := m.refresh.Tick(msg)
		if ok && m.refresh.Dirty() && !m.wiReq.Busy() {
			cmd := tea.Batch(next, m.loadWhatIf(true), m.loadFit(), m.loadLabels())
			return m, cmd
		}
		return m, next
	case common.BatchMsg:
		if len(msg.Batch.Decisions) > 0 || msg.Batch.Missed > 0 {
			m.refresh.MarkDirty()
		}
	case tea.PasteMsg:
		if m.editing {
			m.input.Update(msg)
			m.editErr = ""
		}
	case tea.KeyPressMsg:
		if m.editing {
			return m.editKey(msg)
		}
		return m.onKey(msg)
	}
	return m, nil
}

func (m Model) onKey(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	if s, ok := m.keys.Scores.Score(msg); ok {
		return m.setScore(s)
	}
	if win, ok := m.keys.Windows.Step(msg, m.win); ok {
		m.win = win
		cmd := tea.Batch(m.recompute(), m.loadFit())
		if m.policyMode {
			cmd = tea.Batch(cmd, m.loadPolicy())
		}
		return m, cmd
	}
	if key.Matches(msg, m.keys.Reload) {
		return m, m.c.ReloadShadowPolicy()
	}
	if key.Matches(msg, m.keys.Policy) {
		if m.policyMode = !m.policyMode; m.policyMode {
			return m, m.loadPolicy()
		}
		return m, nil
	}
	k := m.c.Keys
	switch {
	case key.Matches(msg, m.keys.Challenge):
		m.which = Challenge
	case key.Matches(msg, m.keys.Deny):
		m.which = Deny
	case key.Matches(msg, m.keys.Lower):
		return m.move(Move(m.th, m.which, -smallStep))
	case key.Matches(msg, m.keys.Raise):
		return m.move(Move(m.th, m.which, smallStep))
	case key.Matches(msg, m.keys.LowerMore):
		return m.move(Move(m.th, m.which, -bigStep))
	case key.Matches(msg, m.keys.RaiseMore):
		return m.move(Move(m.th, m.which, bigStep))
	case key.Matches(msg, m.keys.ResetToSaved):
		return m.setThresholds(m.saved)
	case key.Matches(msg, m.keys.Mature):
		m.mature = !m.mature
		cmd := m.loadLabels()
		return m, cmd
	case key.Matches(msg, m.keys.Today):
		fit, ok := m.Today()
		if !ok || fit.Total == 0 {
			return m, common.Status("today's policy is not known yet: no scored decisions read", common.LevelWarn)
		}
		return m.setThresholds(fit.Thresholds)
	case key.Matches(msg, m.keys.Edit):
		// The value typed replaces the threshold's: the box starts empty
		// and says what it holds now.
		m.editing = true
		m.editErr = ""
		m.input.SetValue("")
	case key.Matches(msg, m.keys.Save):
		return m, m.saveCmd()
	case key.Matches(msg, m.keys.Open, m.keys.Journey, m.keys.Copy):
		if m.cursor < 0 || m.cursor >= len(m.flips) {
			return m, nil
		}
		d := m.flips[m.cursor]
		switch {
		case key.Matches(msg, m.keys.Open):
			return m, common.OpenDetail(d)
		case key.Matches(msg, m.keys.Journey):
			return m, common.OpenJourney(d.UserID)
		}
		return m, m.c.CopyDecision(d)
	default:
		m.moveCursor(msg, k)
		return m, m.moreFlips()
	}
	return m, nil
}

// editKey handles a key while a value is typed: enter sets it, esc
// cancels, anything else edits.
func (m Model) editKey(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.ApplyValue):
		v, err := ParseValue(m.input.Value())
		if err != nil {
			m.editErr = err.Error()
			return m, nil
		}
		m.editing = false
		return m.move(Set(m.th, m.which, v))
	case key.Matches(msg, m.keys.CancelValue):
		m.editing = false
		m.editErr = ""
		return m, nil
	}
	if m.input.Update(msg) {
		m.editErr = ""
	}
	return m, nil
}

func (m Model) setScore(s decision.Score) (Model, tea.Cmd) {
	if s == m.th.Score {
		return m, nil
	}
	t := m.th
	t.Score = s
	m, cmd := m.setThresholds(t)
	return m, tea.Batch(cmd, m.loadFit())
}

// move simulates t, which the threshold selected was moved to, and says
// so when it took the other threshold along (challenge never goes above
// deny).
func (m Model) move(t decision.Thresholds) (Model, tea.Cmd) {
	var note string
	switch {
	case m.which == Challenge && t.Deny != m.th.Deny:
		note = "challenge ≥" + common.Decimal(t.Challenge) + " passed deny: deny moved up to " + common.Decimal(t.Deny) + " too"
	case m.which == Deny && t.Challenge != m.th.Challenge:
		note = "deny ≥" + common.Decimal(t.Deny) + " passed challenge: challenge moved down to " + common.Decimal(t.Challenge) + " too"
	}
	m, cmd := m.setThresholds(t)
	if note != "" {
		cmd = tea.Batch(cmd, common.Status(note, common.LevelWarn))
	}
	return m, cmd
}

// setThresholds simulates t: the root hears of it (so every view draws the
// same lines) and the matrix and list are read again.
func (m Model) setThresholds(t decision.Thresholds) (Model, tea.Cmd) {
	if t == m.th {
		return m, nil
	}
	m.th = t
	m.thVersion++
	m.flLimit = FlipsPage
	cmd := tea.Batch(common.AnnounceThresholds(t, m.thVersion), m.recompute())
	return m, cmd
}

// moveCursor applies a navigation key to the list's cursor.
func (m *Model) moveCursor(msg tea.KeyPressMsg, k *common.KeyMap) {
	m.cursor = k.Scroll(msg, m.cursor, max(m.layout().flipRows-1, 1), len(m.flips)-1)
	m.scroll()
}

// scroll keeps the cursor on the list and in sight.
func (m *Model) scroll() {
	m.cursor = min(max(m.cursor, 0), max(len(m.flips)-1, 0))
	n := m.layout().flipRows
	if n <= 0 {
		m.top = m.cursor
		return
	}
	m.top = min(m.top, max(len(m.flips)-n, 0))
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if m.cursor >= m.top+n {
		m.top = m.cursor - n + 1
	}
	m.top = max(m.top, 0)
}
