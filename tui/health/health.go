// Package health is the Health view: the collector's sources, inbox,
// pipeline state (a pause reason shown loudly), errors by kind, the
// circuit breaker, Safe-e status codes and latency, and the store. The root
// refreshes it every second.
package health

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// Model is the Health view.
type Model struct {
	c       *common.Common
	width   int
	height  int
	h       api.Health
	err     error
	have    bool
	updated time.Time
	offset  int
	version int
	cache   *content
	sources *widget.Table
}

type content struct {
	version int
	width   int
	styles  *common.Styles
	lines   []string
}

// New returns the Health view, empty until the first snapshot.
func New(c *common.Common) Model {
	return Model{c: c, cache: &content{version: -1}, sources: newSourceTable()}
}

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.sources.SetWidth(max(m.width-2, 0))
	m.clamp()
}

// Loading reports whether no snapshot (nor error) has arrived yet.
func (m Model) Loading() bool { return !m.have && m.err == nil }

// ShortHelp lists the main keys.
func (m Model) ShortHelp() []key.Binding {
	return []key.Binding{m.c.Keys.Down, m.c.Keys.Up}
}

// FullHelp lists every key of the view.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
}

// Update takes health snapshots and scroll keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.HealthMsg:
		m.err = msg.Err
		if msg.Err == nil {
			m.h, m.have = msg.Health, true
			m.updated = m.c.Clock()
		}
		m.version++
	case tea.KeyPressMsg:
		m.offset = m.c.Keys.Scroll(msg, m.offset, max(m.height-2, 1), len(m.lines()))
	}
	m.clamp()
	return m, nil
}

func (m *Model) clamp() {
	m.offset = max(min(m.offset, len(m.lines())-m.bodyHeight()), 0)
}

// bodyHeight is the scrolling area: below the banner when there is one.
func (m Model) bodyHeight() int {
	if m.banner() != "" {
		return max(m.height-1, 0)
	}
	return m.height
}

// banner is the loud line shown while scoring is paused.
func (m Model) banner() string {
	if m.have && m.h.Pipeline == api.PipelinePaused {
		return PauseText(m.h)
	}
	return ""
}

// PauseText says why scoring is paused, e.g. "SCORING PAUSED: Safe-e
// rejected the API key (401): scoring paused, events kept".
func PauseText(h api.Health) string {
	reason := common.Sanitize(h.PauseReason)
	if reason == "" {
		reason = "no reason given"
	}
	return "SCORING PAUSED: " + reason
}

func (m Model) lines() []string {
	c := m.cache
	if c.version != m.version || c.width != m.width || c.styles != m.c.Styles {
		*c = content{version: m.version, width: m.width, styles: m.c.Styles, lines: m.render()}
	}
	return c.lines
}

// View renders the banner (if scoring is paused) and the visible lines.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	st := m.c.Styles
	var b strings.Builder
	if ban := m.banner(); ban != "" {
		b.WriteString(st.Banner.Render(common.Fit(ban, m.width, false)))
		b.WriteByte('\n')
	}
	lines := m.lines()
	end := min(m.offset+m.bodyHeight(), len(lines))
	b.WriteString(strings.Join(lines[m.offset:end], "\n"))
	return common.FitBlock(b.String(), m.width, m.height)
}
