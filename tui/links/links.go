// Package links is the Links view (SPEC section 14): the users that share
// an IP, a network, an email domain or a device with one user, as a tree in
// the manner of k9s's xray view: the user, what is shared, who shares it
// (and with d, what those users share with others). / filters the tree,
// enter opens the journey of the user under the cursor, F and N label
// every user of the cluster shown fraud or legit, z undoes, esc goes back.
package links

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// KeyMap holds the view's own bindings.
type KeyMap struct {
	Open   key.Binding
	Filter key.Binding
	Depth  key.Binding
	// Label's F, N and z label the cluster shown (its f and n are unused).
	Label widget.LabelKeys
}

// Model is the Links view of one user.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int

	user  string
	depth int
	req   common.Request[decision.Links]
	links *decision.Links
	err   error
	rows  []decision.LinkRow
	texts []string // the lower-cased text of each row, for the filter

	// shown are the rows the filter keeps (all without one), by index.
	shown  []int
	cursor int // index in shown
	top    int

	filter    widget.LineEdit
	filtering bool
	prompt    widget.LabelPrompt
}

// New returns an empty Links view.
func New(c *common.Common) Model {
	return Model{
		c:     c,
		depth: 1,
		req:   common.Request[decision.Links]{View: common.ViewLinks, Cancel: true},
		keys: KeyMap{
			Open:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "journey")),
			Filter: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
			Depth:  key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "depth 1/2")),
			Label:  clusterLabelKeys(),
		},
	}
}

// clusterLabelKeys are F, N and z, said of the cluster.
func clusterLabelKeys() widget.LabelKeys {
	k := widget.DefaultLabelKeys()
	k.FraudAll.SetHelp("F", "label cluster fraud")
	k.LegitAll.SetHelp("N", "label cluster legit")
	return k
}

// Open shows user's links, reading them.
func (m *Model) Open(user string) tea.Cmd {
	if user != m.user {
		m.links, m.err, m.rows, m.texts, m.shown = nil, nil, nil, nil, nil
		m.cursor, m.top = 0, 0
		m.filter.SetValue("")
	}
	m.user = user
	return m.load()
}

// User returns the user shown.
func (m Model) User() string { return m.user }

func (m *Model) load() tea.Cmd {
	user, depth, data := m.user, m.depth, m.c.Data
	return m.req.Go(m.c, func(ctx context.Context) (decision.Links, error) {
		ls, err := data.Links(ctx, api.LinksQuery{User: user, Depth: depth})
		if err != nil {
			return ls, fmt.Errorf("links of %q: %w", user, err)
		}
		return ls, nil
	})
}

// SetSize gives the view its area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.scroll()
}

// InputActive reports whether the filter or the label prompt takes the
// keyboard.
func (m Model) InputActive() bool { return m.filtering || m.prompt.IsOpen() }

// HandlesBack reports whether esc cancels the label prompt or clears a
// filter before leaving.
func (m Model) HandlesBack() bool { return m.filtering || m.prompt.IsOpen() || m.filter.Value() != "" }

// ShortHelp lists the main keys.
func (m Model) ShortHelp() []key.Binding {
	if m.prompt.IsOpen() {
		return m.prompt.ShortHelp()
	}
	if m.filtering {
		return []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear")),
		}
	}
	return []key.Binding{m.keys.Open, m.keys.Filter, m.keys.Depth, m.keys.Label.FraudAll, m.keys.Label.LegitAll, m.c.Keys.Back}
}

// FullHelp lists every key of the view.
func (m Model) FullHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{m.keys.Open, m.keys.Filter, m.keys.Depth, m.keys.Label.FraudAll, m.keys.Label.LegitAll, m.keys.Label.Undo,
		k.Back, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
}

// Update takes the answer and the keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.Answer[decision.Links]:
		if !m.req.Take(msg) {
			return m, nil
		}
		m.err = msg.Err
		if msg.Err == nil {
			ls := msg.Value
			m.links = &ls
			m.rows = ls.Tree()
			m.texts = make([]string, len(m.rows))
			m.rowTexts()
			m.applyFilter()
		}
	case common.LabelledMsg:
		if m.links != nil {
			applyLabels(m.links, msg.Entries)
			m.rowTexts()
			m.applyFilter()
		}
	case tea.PasteMsg:
		if m.prompt.IsOpen() {
			return m, m.prompt.Update(m.c, msg)
		}
		if m.filtering && m.filter.Update(msg) {
			m.applyFilter()
		}
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

// rowTexts sets the lower-cased text of each row, for the filter.
func (m *Model) rowTexts() {
	for i := range m.rows {
		m.texts[i] = strings.ToLower(m.rows[i].Text(m.links))
	}
}

// applyLabels shows newly recorded user labels on the linked users (a
// retract clears one) until the next read gives them from the ledger.
func applyLabels(ls *decision.Links, entries []decision.LabelEntry) {
	for _, e := range entries {
		if e.Kind != decision.SubjectUser {
			continue
		}
		class := string(e.Class)
		if e.Class == decision.LabelRetract {
			class = ""
		}
		for i := range ls.Links {
			for j := range ls.Links[i].Users {
				if u := &ls.Links[i].Users[j]; u.UserID == e.Subject {
					u.Label = class
				}
			}
		}
	}
}

// labelCluster opens the reason prompt for labelling every user of the
// rows shown (the user asked about and each linked user the filter keeps)
// fraud or legit, saying how many.
func (m *Model) labelCluster(fraud bool) tea.Cmd {
	if m.links == nil {
		return common.Status("F and N label the cluster shown: no links yet", common.LevelWarn)
	}
	class := decision.LabelLegit
	if fraud {
		class = decision.LabelFraud
	}
	seen := map[string]bool{}
	var inputs []api.LabelInput
	for _, i := range m.shown {
		if u := m.rows[i].UserID(m.links); u != "" && !seen[u] {
			seen[u] = true
			inputs = append(inputs, api.LabelInput{Kind: decision.SubjectUser, Subject: u, Class: class})
		}
	}
	if len(inputs) == 0 {
		return common.Status("no user is shown to label", common.LevelWarn)
	}
	what := fmt.Sprintf("%d users of %s's cluster", len(inputs), m.user)
	if f := m.filter.Value(); f != "" {
		what += fmt.Sprintf(" matching %q", f)
	}
	m.prompt.Open(what+" "+string(class), inputs)
	return nil
}

func (m Model) key(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	if m.prompt.IsOpen() {
		return m, m.prompt.Update(m.c, msg)
	}
	if m.filtering {
		switch msg.String() {
		case "enter":
			m.filtering = false
		case "esc":
			m.filtering = false
			m.filter.SetValue("")
			m.applyFilter()
		default:
			if m.filter.Update(msg) {
				m.applyFilter()
			}
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, m.c.Keys.Back):
		m.filter.SetValue("")
		m.applyFilter()
	case key.Matches(msg, m.keys.Filter):
		m.filtering = true
	case key.Matches(msg, m.keys.Depth):
		m.depth = 3 - m.depth
		return m, m.load()
	case key.Matches(msg, m.keys.Label.FraudAll, m.keys.Label.LegitAll):
		return m, m.labelCluster(key.Matches(msg, m.keys.Label.FraudAll))
	case key.Matches(msg, m.keys.Label.Undo):
		return m, common.UndoLabel()
	case key.Matches(msg, m.keys.Open):
		if r := m.selected(); r != nil {
			if u := r.UserID(m.links); u != "" {
				return m, common.OpenJourney(u)
			}
			return m, common.Status("enter opens a user's journey: move to a user", common.LevelInfo)
		}
	default:
		m.cursor = m.c.Keys.Scroll(msg, m.cursor, max(m.bodyHeight()-1, 1), len(m.shown)-1)
		m.scroll()
	}
	return m, nil
}

// selected returns the row under the cursor.
func (m Model) selected() *decision.LinkRow {
	if m.cursor < 0 || m.cursor >= len(m.shown) {
		return nil
	}
	return &m.rows[m.shown[m.cursor]]
}

// applyFilter keeps the rows whose text holds the filter, with the rows
// they hang from, so that each match shows its path from the user.
func (m *Model) applyFilter() {
	f := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	m.shown = m.shown[:0]
	keep := make([]bool, len(m.rows))
	for i := range m.rows {
		if f == "" || strings.Contains(m.texts[i], f) {
			for p := i; p >= 0 && !keep[p]; p = m.rows[p].Parent {
				keep[p] = true
			}
		}
	}
	for i, k := range keep {
		if k {
			m.shown = append(m.shown, i)
		}
	}
	m.scroll()
}

// bodyHeight is the number of tree lines on screen (below the title, above
// the filter line).
func (m Model) bodyHeight() int { return max(m.height-2, 0) }

func (m *Model) scroll() {
	m.cursor = max(min(m.cursor, len(m.shown)-1), 0)
	h := max(m.bodyHeight(), 1)
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if m.cursor >= m.top+h {
		m.top = m.cursor - h + 1
	}
	m.top = max(min(m.top, len(m.shown)-h), 0)
}

// View renders the title, the visible part of the tree and the filter
// line, in exactly the view's area.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	st := m.c.Styles
	title := "Links of " + common.Sanitize(m.user) + " · last 30d · depth " + fmt.Sprint(m.depth)
	lines := []string{st.Title.Render(common.Truncate(title, m.width))}
	switch {
	case m.user == "":
		lines = append(lines, st.Dim.Render(common.Truncate("press l on a user (Live, Journeys) to see who shares something with them", m.width)))
	case m.links == nil && m.err == nil:
		lines = append(lines, st.Dim.Render(common.Truncate("reading links…", m.width)))
	case m.err != nil && m.links == nil:
		lines = append(lines, st.Bad.Render(common.Truncate(common.Sanitize(m.err.Error()), m.width)))
	case len(m.links.Links) == 0:
		lines = append(lines, st.Dim.Render(common.Truncate(common.Sanitize(m.user)+" shares no IP, network, email domain or device with another user", m.width)))
	default:
		end := min(m.top+m.bodyHeight(), len(m.shown))
		for i := m.top; i < end; i++ {
			lines = append(lines, m.rowLine(&m.rows[m.shown[i]], i == m.cursor))
		}
	}
	body := strings.Join(lines, "\n")
	return common.FitBlock(body, m.width, m.height-1) + "\n" + m.filterLine()
}

// rowLine renders one row: the tree, then the row's words, styled by what
// the row is.
func (m Model) rowLine(r *decision.LinkRow, selected bool) string {
	st := m.c.Styles
	text := common.Truncate(common.Sanitize(r.Prefix+r.Text(m.links)), m.width)
	switch {
	case selected:
		return st.Selected.Render(common.Fit(text, m.width, false))
	case r.Level == 0:
		return st.Title.Render(text)
	case r.User != nil && r.User.Denies > 0:
		return st.Bad.Render(text)
	case r.User == nil && r.Link.Supernode:
		return st.Dim.Render(text)
	case r.User == nil:
		return st.Bold.Render(text)
	}
	return text
}

// filterLine is the filter being typed, or the one applied, or a hint.
func (m Model) filterLine() string {
	st := m.c.Styles
	switch {
	case m.prompt.IsOpen():
		return m.prompt.View(m.width, st)
	case m.filtering:
		return st.Label.Render("/ ") + m.filter.View(max(m.width-2, 1), st.Selected)
	case m.filter.Value() != "":
		return st.Dim.Render(common.Truncate(fmt.Sprintf("filter %q: %d of %d rows · esc clears", m.filter.Value(), len(m.shown), len(m.rows)), m.width))
	}
	return ""
}
