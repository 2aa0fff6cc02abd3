// Package explain is the Explain view: what drives a window of decisions
// against a baseline (SPEC section 11), one row per driver with its count
// now and before, the change of its share, the ratio, the excess, p and a
// sparkline of its rate. It opens from Live (x: Live's filter) and from a
// Histograms bar (x: the bar's score range); w, b and m choose the window,
// the baseline and the mode; enter shows Live filtered to the selected
// driver; esc returns.
//
// The explanation is read with api.Reader.Explain in a command; an answer
// to a query the user has moved past is dropped.
package explain

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// Windows and Baselines are what w and b step through.
var (
	Windows   = []string{"5m", "10m", "30m", "1h"}
	Baselines = []string{"1h", "24h", "1d", "7d"}
)

// KeyMap holds the view's own bindings.
type KeyMap struct {
	Window   key.Binding
	Baseline key.Binding
	Mode     key.Binding
	Reload   key.Binding
	Open     key.Binding
}

func defaultKeyMap() KeyMap {
	return KeyMap{
		Window:   key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "window 5m/10m/30m/1h")),
		Baseline: key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "baseline 1h/24h/same time 1d/7d")),
		Mode:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "volume or denies")),
		Reload:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "explain again")),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "show the driver in Live")),
	}
}

// Model is the Explain view.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int

	q   api.ExplainQuery
	req common.Request[api.Explanation]
	// data is the last answer, nil before the first; err is why the last
	// query failed.
	data *api.Explanation
	err  error
	sel  int
	top  int

	table *widget.Table
}

// New returns the Explain view, with nothing to explain until Open.
func New(c *common.Common) Model {
	return Model{
		c:    c,
		keys: defaultKeyMap(),
		q:    api.ExplainQuery{Window: "10m", Baseline: "1h"},
		req:  common.Request[api.Explanation]{View: common.ViewExplain, Cancel: true},
		table: widget.NewTable(
			widget.Column{Title: "DRIVER", Min: 16, Pref: 36, Max: 60, Priority: 0},
			widget.Column{Title: "NOW", Min: 5, Max: 8, Priority: 1, Right: true},
			widget.Column{Title: "BEFORE", Min: 6, Max: 8, Priority: 2, Right: true},
			widget.Column{Title: "SHARE", Min: 7, Max: 8, Priority: 3, Right: true},
			widget.Column{Title: "RATIO", Min: 6, Max: 7, Priority: 4, Right: true},
			widget.Column{Title: "EXCESS", Min: 6, Max: 8, Priority: 1, Right: true},
			widget.Column{Title: "P", Min: 7, Max: 7, Priority: 5, Right: true},
			widget.Column{Title: "RATE", Min: api.SeriesBins, Max: api.SeriesBins, Priority: 6},
		),
	}
}

// Open explains the window as q asks (empty window and baseline take the
// view's current ones; an empty until ends the window now, at each read)
// and forgets the last answer.
func (m *Model) Open(filter, window, baseline, until string) tea.Cmd {
	m.q.Filter, m.q.Until = filter, until
	if window != "" {
		m.q.Window = window
	}
	if baseline != "" {
		m.q.Baseline = baseline
	}
	m.data, m.err, m.sel, m.top = nil, nil, 0, 0
	return m.load()
}

// Query returns what the view explains.
func (m Model) Query() api.ExplainQuery { return m.q }

// Loading reports whether an answer is awaited.
func (m Model) Loading() bool { return m.req.Busy() }

// load asks for the explanation of q, ending at its Until or now.
func (m *Model) load() tea.Cmd {
	q := m.q
	if q.Until == "" {
		q.Until = m.c.Clock().UTC().Format(time.RFC3339Nano)
	}
	data := m.c.Data
	return m.req.Go(m.c, func(ctx context.Context) (api.Explanation, error) { return data.Explain(ctx, q) })
}

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.table.SetWidth(m.width)
	m.scroll()
}

// scroll keeps the selected row on screen.
func (m *Model) scroll() {
	m.top = max(min(m.top, m.sel), m.sel-m.listHeight()+1, 0)
}

// ShortHelp lists the main keys.
func (m Model) ShortHelp() []key.Binding {
	return []key.Binding{m.keys.Open, m.keys.Window, m.keys.Baseline, m.keys.Mode}
}

// FullHelp lists every key of the view.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Up, k.Down, k.Top, k.Bottom, m.keys.Open, m.keys.Window, m.keys.Baseline, m.keys.Mode, m.keys.Reload}
}

// Update handles keys and answers.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.Answer[api.Explanation]:
		if !m.req.Take(msg) {
			return m, nil
		}
		m.err = msg.Err
		if msg.Err == nil {
			v := msg.Value
			m.data, m.sel, m.top = &v, 0, 0
			m.table.SizeTo(rows{&m}, len(v.Drivers))
		}
	case tea.KeyPressMsg:
		return m.onKey(msg)
	}
	return m, nil
}

func (m Model) onKey(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	switch {
	case key.Matches(msg, m.keys.Window):
		m.q.Window = next(Windows, m.q.Window)
		cmd = m.load()
	case key.Matches(msg, m.keys.Baseline):
		m.q.Baseline = next(Baselines, m.q.Baseline)
		cmd = m.load()
	case key.Matches(msg, m.keys.Mode):
		m.q.Mode = 1 - m.q.Mode
		cmd = m.load()
	case key.Matches(msg, m.keys.Reload):
		cmd = m.load()
	case key.Matches(msg, m.keys.Open):
		if d := m.selected(); d != nil {
			cmd = common.ShowLive(strings.TrimSpace(m.q.Filter + " " + d.Term))
		}
	default:
		n := m.drivers()
		m.sel = max(min(m.c.Keys.Scroll(msg, m.sel, max(m.listHeight()-1, 1), n-1), n-1), 0)
		m.scroll()
	}
	return m, cmd
}

// next returns the entry after cur in list, the first when cur is last or
// not in it.
func next(list []string, cur string) string {
	for i, v := range list {
		if v == cur {
			return list[(i+1)%len(list)]
		}
	}
	return list[0]
}

func (m Model) drivers() int {
	if m.data == nil {
		return 0
	}
	return len(m.data.Drivers)
}

// Selected returns the selected driver, nil when there is none.
func (m Model) selected() *api.Driver {
	if m.sel < 0 || m.sel >= m.drivers() {
		return nil
	}
	return &m.data.Drivers[m.sel]
}

// headLines is the title, the sides and the column titles.
const headLines = 4

func (m Model) listHeight() int { return max(m.height-headLines, 0) }

// View renders the explanation.
func (m Model) View() string {
	st := m.c.Styles
	var b strings.Builder
	mode := "volume: what is over-represented against the baseline"
	if m.q.Mode == api.ExplainDeny {
		mode = "denies: what is over-represented among the window's denies"
	}
	filter := m.q.Filter
	if filter == "" {
		filter = "all decisions"
	}
	fmt.Fprintf(&b, "%s  %s\n", st.Title.Render("Explain "+common.Sanitize(filter)), st.Dim.Render(mode))
	b.WriteString(m.sides())
	b.WriteByte('\n')
	switch {
	case m.err != nil:
		b.WriteString(st.Bad.Render(common.Sanitize("explain failed: " + m.err.Error())))
	case m.data == nil:
		b.WriteString(st.Dim.Render("explaining…"))
	case len(m.data.Drivers) == 0:
		fmt.Fprintf(&b, "\n%s", st.Dim.Render(fmt.Sprintf("no driver: nothing is over-represented beyond chance (%d tests)", m.data.Tests)))
	default:
		b.WriteByte('\n')
		b.WriteString(m.table.Header(st.TableHeader))
		b.WriteByte('\n')
		b.WriteString(m.table.Render(rows{&m}, m.top, max(min(m.listHeight(), len(m.data.Drivers)-m.top), 0), m.sel, st))
	}
	return common.FitBlock(b.String(), m.width, m.height)
}

// sides describes the window and the baseline compared.
func (m Model) sides() string {
	st := m.c.Styles
	q := m.q
	if m.data == nil {
		span := "last " + q.Window
		if q.Until != "" {
			span = q.Window + " to " + common.Sanitize(q.Until)
		}
		return st.Dim.Render(fmt.Sprintf("%s against %s", span, describeBaseline(q.Baseline)))
	}
	e := m.data
	hm := func(t time.Time) string { return t.UTC().Format("15:04") }
	if e.Mode == api.ExplainDeny {
		rate := 0.0
		if e.DenyRate != nil {
			rate = *e.DenyRate
		}
		return fmt.Sprintf("%s–%s  %s denies against %s allows (deny rate %.1f%%)", hm(e.Window.From), hm(e.Window.To),
			common.Count(e.Window.Count), common.Count(e.Baseline.Count), 100*rate)
	}
	return fmt.Sprintf("%s–%s  %s decisions  against %s: %s  excess %+.0f", hm(e.Window.From), hm(e.Window.To),
		common.Count(e.Window.Count), describeBaseline(q.Baseline), common.Count(e.Baseline.Count), e.Excess)
}

func describeBaseline(b string) string {
	if strings.HasSuffix(b, "d") {
		return "the same time over " + b
	}
	return "the " + b + " before"
}

// rows is the table's view of the drivers.
type rows struct{ m *Model }

// Cells fills the row of driver i.
func (r rows) Cells(i int, dst []string) {
	d := &r.m.data.Drivers[i]
	var names []string
	for _, v := range d.Values() {
		names = append(names, common.Sanitize(v.String()))
	}
	dst[0] = strings.Join(names, " + ")
	dst[1] = common.Count(d.Window)
	dst[2] = common.Count(d.Baseline)
	dst[3] = fmt.Sprintf("%+.1fpt", 100*d.ShareChange)
	dst[4] = fmt.Sprintf("%.1f", d.Ratio)
	if d.Ratio >= 100 {
		dst[4] = fmt.Sprintf("%.0f", d.Ratio)
	}
	dst[5] = fmt.Sprintf("%+.0f", d.Excess)
	dst[6] = fmt.Sprintf("%.0e", d.P)
	dst[7] = widget.Sparkline(d.Series)
}

// CellStyle marks the excess.
func (r rows) CellStyle(_, col int) *lipgloss.Style {
	if col == 5 {
		return &r.m.c.Styles.Warn
	}
	return nil
}
