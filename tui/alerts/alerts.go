// Package alerts is the Alerts view (SPEC section 13): every alert rule
// with its phase, value and threshold, then the newest firings and
// resolutions with the drivers of each firing's window. Enter on a rule
// or a transition opens Live on the decisions of that window that match
// the alert's filter; x opens the explanation of that window against the
// alert's baseline (what drives it, SPEC section 11). The root reads the alerts every few seconds and
// hands them over (common.AlertsMsg); the view reads nothing itself.
package alerts

import (
	"fmt"
	"math"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
)

// Model is the Alerts view.
type Model struct {
	c      *common.Common
	width  int
	height int
	a      api.Alerts
	err    error
	have   bool
	// sel is the selected row: a rule (below len(a.Alerts)) or a
	// transition of the history after them.
	sel     int
	open    key.Binding
	explain key.Binding
}

// New returns the Alerts view, empty until the first answer.
func New(c *common.Common) Model {
	return Model{
		c:       c,
		open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open the window in Live")),
		explain: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "explain the window")),
	}
}

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.clamp()
}

// ShortHelp lists the main keys.
func (m Model) ShortHelp() []key.Binding {
	return []key.Binding{m.open, m.explain, m.c.Keys.Down, m.c.Keys.Up}
}

// FullHelp lists every key of the view.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{m.open, m.explain, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
}

// rows is how many selectable rows there are.
func (m Model) rows() int { return len(m.a.Alerts) + len(m.a.History) }

// Update takes the alerts and the keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.AlertsMsg:
		m.err = msg.Err
		if msg.Err == nil {
			m.a, m.have = msg.Alerts, true
		}
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.open):
			return m, m.openSelected()
		case key.Matches(msg, m.explain):
			return m, m.explainSelected()
		}
		m.sel = m.c.Keys.Scroll(msg, m.sel, max(m.height-4, 1), m.rows()-1)
	}
	m.clamp()
	return m, nil
}

// openSelected opens Live on the selected row's window and filter.
func (m Model) openSelected() tea.Cmd {
	if m.sel < 0 || m.sel >= m.rows() {
		return nil
	}
	var filter string
	var w api.AlertWindow
	if m.sel < len(m.a.Alerts) {
		s := m.a.Alerts[m.sel]
		filter, w = s.Filter, s.Window
	} else {
		e := m.a.History[m.sel-len(m.a.Alerts)]
		filter, w = e.Filter, e.Window
	}
	if w.From.IsZero() {
		return common.Status("not evaluated yet: no window to open", common.LevelWarn)
	}
	return common.ShowLive(WindowFilter(filter, w, m.c.Clock()))
}

// explainSelected opens the explanation of the selected row's window and
// filter against its baseline: a transition's own, or for a rule the
// baseline of its newest firing listed (else the Explain view's current
// one).
func (m Model) explainSelected() tea.Cmd {
	if m.sel < 0 || m.sel >= m.rows() {
		return nil
	}
	var msg common.ExplainMsg
	var w api.AlertWindow
	if m.sel < len(m.a.Alerts) {
		s := m.a.Alerts[m.sel]
		w = s.Window
		msg = ExplainOf(s.Filter, w, nil)
		for _, e := range m.a.History {
			if e.Alert == s.Name && e.Collector == s.Collector && e.State == api.AlertFiring {
				msg.Baseline = ExplainOf(e.Filter, e.Window, e.Baseline).Baseline
				break
			}
		}
	} else {
		e := m.a.History[m.sel-len(m.a.Alerts)]
		w = e.Window
		msg = ExplainOf(e.Filter, w, e.Baseline)
	}
	if w.From.IsZero() || !w.From.Before(w.To) {
		return common.Status("not evaluated yet: no window to explain", common.LevelWarn)
	}
	return func() tea.Msg { return msg }
}

// ExplainOf is the Explain view's query for an alert's window w and its
// baseline (nil for a fixed band: the view keeps its own): the window's
// width ending at its end; a baseline that ends where the window starts
// is the previous period of its width, one a whole number of days before
// it the same time of day ("Nd", which the Explain view reads as each of
// the N days before: for a weekly baseline, the whole week).
func ExplainOf(filter string, w api.AlertWindow, base *api.AlertWindow) common.ExplainMsg {
	msg := common.ExplainMsg{Filter: filter, Window: span(w.To.Sub(w.From)), Until: w.To.UTC().Format(time.RFC3339Nano)}
	if base != nil && base.From.Before(base.To) {
		const day = 24 * time.Hour
		switch back := w.From.Sub(base.From); {
		case base.To.Equal(w.From):
			msg.Baseline = span(base.To.Sub(base.From))
		case back > 0 && back%day == 0:
			msg.Baseline = fmt.Sprintf("%dd", back/day)
		}
	}
	return msg
}

// span writes d as a Go duration without its zero tails ("10m", "1h").
func span(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// WindowFilter is filter restricted to the window w, as the filter
// language writes it at now: since: a whole number of seconds ago (rounded
// up, so the window's first decisions are in) and until: its end.
func WindowFilter(filter string, w api.AlertWindow, now time.Time) string {
	ago := int64(math.Ceil(now.Sub(w.From).Seconds()))
	terms := []string{}
	if filter != "" {
		terms = append(terms, filter)
	}
	if ago > 0 {
		terms = append(terms, fmt.Sprintf("since:%ds", ago))
	}
	terms = append(terms, "until:"+w.To.UTC().Format(time.RFC3339))
	return strings.Join(terms, " ")
}

func (m *Model) clamp() {
	m.sel = max(min(m.sel, m.rows()-1), 0)
}

// View renders the rules, then the history, keeping the selection in
// sight.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	lines, selLine := m.render()
	off := max(min(selLine-m.height+1, len(lines)-m.height), 0)
	return common.FitBlock(strings.Join(lines[off:min(off+m.height, len(lines))], "\n"), m.width, m.height)
}
