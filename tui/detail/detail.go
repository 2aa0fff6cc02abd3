// Package detail is the decision detail: the event's fields, the scores
// with bars, each signal with a one-line description, the policy and any
// error, then the request sent to Safe-e and its response, pretty printed.
// It scrolls, copies the decision as JSON, and esc (handled by the root)
// goes back.
package detail

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// KeyMap holds the detail view's own bindings.
type KeyMap struct {
	Copy    key.Binding
	Journey key.Binding
	Label   widget.LabelKeys
}

// Model is the detail view of one decision.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int
	d      decision.Decision
	has    bool
	offset int
	cache  *content
	// bodies are the request and response pretty printed, made off the
	// Update path (see SetDecision); nil until they arrive.
	bodies *bodies
	prompt widget.LabelPrompt
}

// bodies are a decision's request and response as PrettyJSON lines, and
// the raw bytes themselves when they had to be read (the decision came
// from a brief list); err says why they could not be.
type bodies struct {
	id                string
	raw               *decision.Decision
	request, response []string
	requestOK, respOK bool
	err               string
}

// bodiesMsg carries the pretty-printed bodies of decision id.
type bodiesMsg struct{ b *bodies }

// Target routes the bodies to the detail view whatever has focus.
func (bodiesMsg) Target() common.ViewID { return common.ViewDetail }

// content is the rendered body, kept until the decision, width or theme
// changes.
type content struct {
	id     string
	width  int
	styles *common.Styles
	lines  []string
}

// New returns an empty detail view.
func New(c *common.Common) Model {
	return Model{
		c: c,
		keys: KeyMap{
			Copy:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy JSON")),
			Journey: key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "user journey")),
			Label:   widget.DefaultLabelKeys(),
		},
		cache: &content{},
	}
}

// SetDecision shows d from its top. The request and response are pretty
// printed by the returned command, so that however large or deeply nested
// they are the dashboard keeps answering keys; until they arrive the view
// says they are being formatted. A decision from a brief list (without
// them) is read whole first.
func (m *Model) SetDecision(d decision.Decision) tea.Cmd {
	m.d, m.has, m.offset, m.bodies = d, true, 0, nil
	*m.cache = content{}
	if !common.Whole(&d) {
		return m.c.ReadWhole(d.ID, func(full decision.Decision, err error) tea.Msg {
			if err != nil {
				return bodiesMsg{b: &bodies{id: d.ID, err: err.Error()}}
			}
			b := pretty(full.ID, full.Request, full.Response)
			b.raw = &full
			return bodiesMsg{b: b}
		})
	}
	req, resp, id := d.Request, d.Response, d.ID
	return func() tea.Msg { return bodiesMsg{b: pretty(id, req, resp)} }
}

// pretty formats a decision's request and response.
func pretty(id string, req, resp []byte) *bodies {
	b := &bodies{id: id}
	b.request, b.requestOK = common.PrettyJSON(req)
	b.response, b.respOK = common.PrettyJSON(resp)
	return b
}

// Formatted reports whether the request and response of the decision
// shown have been pretty printed (true when none is shown).
func (m Model) Formatted() bool { return !m.has || m.bodies != nil }

// Decision returns the decision shown.
func (m Model) Decision() (decision.Decision, bool) { return m.d, m.has }

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.clampOffset()
}

// ShortHelp lists the main keys.
func (m Model) ShortHelp() []key.Binding {
	if m.prompt.IsOpen() {
		return m.prompt.ShortHelp()
	}
	k := m.c.Keys
	return []key.Binding{k.Back, k.Down, k.Up, m.keys.Copy, m.keys.Label.Fraud, m.keys.Label.Legit}
}

// InputActive reports whether the reason prompt has the keyboard.
func (m Model) InputActive() bool { return m.prompt.IsOpen() }

// FullHelp lists every key of the view.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Back, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, m.keys.Copy, m.keys.Journey,
		m.keys.Label.Fraud, m.keys.Label.Legit, m.keys.Label.Undo}
}

// Update scrolls and copies, and takes the pretty-printed bodies of the
// decision shown (those of a decision no longer shown are dropped).
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if bm, ok := msg.(bodiesMsg); ok {
		if m.has && bm.b.id == m.d.ID {
			m.bodies = bm.b
			if bm.b.raw != nil {
				m.d.Request, m.d.Response = bm.b.raw.Request, bm.b.raw.Response
			}
			*m.cache = content{}
		}
		return m, nil
	}
	if lm, ok := msg.(common.LabelledMsg); ok {
		if m.has {
			common.ApplyLabels(&m.d, lm.Entries)
			*m.cache = content{}
		}
		return m, nil
	}
	if m.prompt.IsOpen() {
		return m, m.prompt.Update(m.c, msg)
	}
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(km, m.keys.Label.Fraud, m.keys.Label.Legit):
		if m.has {
			m.prompt.Open(widget.LabelOne(&m.d, key.Matches(km, m.keys.Label.Fraud)))
		}
		return m, nil
	case key.Matches(km, m.keys.Label.Undo):
		return m, common.UndoLabel()
	case key.Matches(km, m.keys.Copy):
		return m, m.copy()
	case key.Matches(km, m.keys.Journey):
		if m.has {
			return m, common.OpenJourney(m.d.UserID)
		}
	default:
		m.offset = m.c.Keys.Scroll(km, m.offset, max(m.bodyHeight()-1, 1), len(m.lines()))
	}
	m.clampOffset()
	return m, nil
}

func (m Model) copy() tea.Cmd {
	if !m.has {
		return nil
	}
	return m.c.CopyDecision(m.d)
}

// bodyHeight is the number of content lines on screen (below the title).
func (m Model) bodyHeight() int { return max(m.height-1, 0) }

func (m *Model) clampOffset() {
	m.offset = min(m.offset, len(m.lines())-m.bodyHeight())
	m.offset = max(m.offset, 0)
}

func (m Model) lines() []string {
	c := m.cache
	if c.lines == nil || c.id != m.d.ID || c.width != m.width || c.styles != m.c.Styles {
		*c = content{id: m.d.ID, width: m.width, styles: m.c.Styles, lines: render(&m.d, m.bodies, m.width, m.c)}
	}
	return c.lines
}

// View renders a title line and the visible part of the content.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	st := m.c.Styles
	if !m.has {
		return common.FitBlock(st.Dim.Render("no decision selected"), m.width, m.height)
	}
	lines := m.lines()
	body := m.bodyHeight()
	end := min(m.offset+body, len(lines))
	pos := ""
	if len(lines) > body {
		pos = " lines " + common.Count(uint64(m.offset+1)) + "-" + common.Count(uint64(end)) +
			" of " + common.Count(uint64(len(lines)))
	}
	title := st.Title.Render(common.Truncate("Decision "+common.Sanitize(m.d.ID), max(m.width-len(pos), 1))) + st.Dim.Render(pos)
	if m.prompt.IsOpen() {
		title = m.prompt.View(m.width, st)
	}
	var b strings.Builder
	b.WriteString(title)
	for _, l := range lines[m.offset:end] {
		b.WriteByte('\n')
		b.WriteString(l)
	}
	return common.FitBlock(b.String(), m.width, m.height)
}
