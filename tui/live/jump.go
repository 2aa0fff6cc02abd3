package live

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// jumpBar is the prompt T opens: a time to jump to.
type jumpBar struct {
	open  bool
	input widget.LineEdit
	err   string
}

// jumpSyntax is what the prompt takes, for the help screen.
var jumpSyntax = []widget.HelpEntry{
	{Key: "15m  2h  1d12h", Desc: "that long ago"},
	{Key: "14:30  14:30:05", Desc: "today, local time (yesterday if later than now)"},
	{Key: "2026-11-25 14:30", Desc: "a local date and time (seconds optional)"},
	{Key: "2026-11-25T14:30:00Z", Desc: "an RFC 3339 time"},
	{Key: "then", Desc: "Live shows the newest rows of the filter with an event time before it (until: joins the filter; esc clears it)"},
}

func (j *jumpBar) start() {
	j.open, j.err = true, ""
	j.input.SetValue("")
}

func (j jumpBar) shortHelp() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "jump")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// view renders the prompt in one line of width cells: the input, then the
// error or a reminder of what it takes.
func (j jumpBar) view(width int, st *common.Styles) string {
	const prompt = "jump to: "
	line := st.FilterPrompt.Render(prompt) + j.input.View(min(24, max(width-len(prompt), 1)), st.Selected)
	if j.err != "" {
		line += " " + st.FilterError.Render(common.Sanitize(j.err))
	} else {
		line += st.Dim.Render(" 15m, 14:30, 2026-11-25 14:30 · enter jump · esc cancel")
	}
	return common.Clip(line, width)
}

func (m Model) updateJump(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "enter":
			t, err := ParseJump(m.jump.input.Value(), m.c.Clock())
			if err != nil {
				m.jump.err = err.Error()
				return m, nil
			}
			m.jump.open = false
			m.layout()
			cmd := m.jumpTo(t)
			return m, cmd
		case "esc":
			m.jump.open = false
			m.layout()
			return m, nil
		}
	}
	if m.jump.input.Update(msg) {
		m.jump.err = ""
	}
	return m, nil
}

// jumpTo shows the rows around event time t: the filter gains until:t
// (replacing any until: it had), so the table holds the newest rows of
// the filter before t, and scrolling up pages back from there. esc clears
// the filter as usual.
func (m *Model) jumpTo(t time.Time) tea.Cmd {
	m.drilled = false
	return m.applyFilter(m.filter.WithUntil(t).String())
}

// localLayouts are the local times the prompt takes besides durations and
// RFC 3339.
var localLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "15:04:05", "15:04"}

// ParseJump reads a time to jump to, relative to now: a duration ago
// (15m, 2h, 1d12h), a time of day (today, or yesterday when that is
// later than now), a local date and time, or an RFC 3339 time. Local
// times are in now's location.
func ParseJump(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("type a time: 15m, 14:30 or 2026-11-25 14:30")
	}
	for _, layout := range localLayouts {
		t, err := time.ParseInLocation(layout, s, now.Location())
		if err != nil {
			continue
		}
		if !strings.Contains(layout, "-") {
			y, mo, d := now.Date()
			t = time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), 0, now.Location())
			if t.After(now) {
				t = t.AddDate(0, 0, -1)
			}
		}
		return t, nil
	}
	if !strings.ContainsAny(s, " \"") {
		if f, err := decision.ParseFilter("until:"+s, now); err == nil {
			return f.Until(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want 15m, 14:30, 2026-11-25 14:30 or an RFC 3339 time", s)
}
