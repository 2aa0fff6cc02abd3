package tui

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/health"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// tooSmall is what a terminal under MinWidth x MinHeight shows.
const tooSmall = "terminal too small (need 40x10)"

// View renders the whole screen in the alternate screen, without mouse
// capture so the terminal's own selection and copy keep working.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeNone
	v.WindowTitle = "riskwatch"
	return v
}

// render lays out tab bar, body, status line and help line in exactly the
// terminal's size.
func (m *Model) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	if m.width < MinWidth || m.height < MinHeight {
		return common.Truncate(tooSmall, m.width)
	}
	bh := m.bodyHeight()
	var body, help string
	if m.helpOpen {
		lines := m.helpLines()
		off := max(min(m.helpOffset, len(lines)-bh), 0)
		body = common.FitBlock(strings.Join(lines[off:], "\n"), m.width, bh)
		help = m.helpScreenLine(len(lines) > bh)
	} else {
		body = m.body()
		help = m.helpLine()
	}
	return strings.Join([]string{m.tabBar(), body, m.statusLine(), help}, "\n")
}

func (m *Model) body() string { return m.pages[m.focus()].view() }

// tabBar shows the views with their keys; when the full labels do not fit,
// only the focused one keeps its name.
func (m *Model) tabBar() string {
	st := m.c.Styles
	render := func(short bool) (string, int) {
		var b strings.Builder
		w := 0
		add := func(s string, style func(...string) string) {
			b.WriteString(style(s))
			w += ansi.StringWidth(s)
		}
		if !short {
			add("riskwatch", st.Brand.Render)
			add("  ", st.Tab.Render)
		}
		for i := range common.NumTabs {
			v := common.ViewID(i)
			label := strconv.Itoa(i+1) + " " + v.String()
			if short && v != m.activeTab() {
				label = strconv.Itoa(i + 1)
			}
			if i > 0 {
				add(" ", st.Tab.Render)
			}
			if v == m.activeTab() {
				add("["+label+"]", st.TabActive.Render)
			} else {
				add(label, st.Tab.Render)
			}
		}
		if f := m.focus(); !f.IsTab() {
			add(" › ["+f.String()+"]", st.TabActive.Render)
		}
		return b.String(), w
	}
	if s, w := render(false); w <= m.width {
		return s
	}
	s, _ := render(true)
	return common.Clip(s, m.width)
}

// statusLine shows what an on-call engineer must not miss first: scoring
// paused or stopped, Safe-e unreachable, disconnection, the EMULATOR mode;
// then messages, display pause, last event age, errors and the source.
func (m *Model) statusLine() string {
	st := m.c.Styles
	var segs []widget.Segment
	if m.haveHealth && m.h.Mode != api.ModeReadOnly {
		switch {
		case health.Halted(m.h):
			segs = append(segs, widget.Segment{Text: health.PauseText(m.h), Style: st.Banner, Priority: 0})
		case m.h.Pipeline == api.PipelineStopped:
			segs = append(segs, widget.Segment{Text: "scoring stopped", Style: st.StatusWarn, Priority: 1})
		case !m.h.SafeeReachable:
			segs = append(segs, widget.Segment{Text: "Safe-e unreachable: retrying", Style: st.StatusErr, Priority: 1})
		}
	}
	if m.disconnected {
		segs = append(segs, widget.Segment{Text: "DISCONNECTED: reconnecting", Style: st.StatusErr, Priority: 0})
	}
	if seg, ok := m.alertBanner(); ok {
		segs = append(segs, seg)
	}
	if m.healthErr != nil {
		segs = append(segs, widget.Segment{Text: "collector unreachable", Style: st.StatusErr, Priority: 1})
	}
	for _, mh := range m.h.Members {
		if m.haveHealth && mh.Health == nil {
			segs = append(segs, widget.Segment{Text: "collector " + common.Sanitize(mh.Name) + " unreachable", Style: st.StatusErr, Priority: 1})
		}
	}
	mode := m.opts.Mode
	if m.haveHealth && m.h.Mode != "" {
		mode = m.h.Mode
	}
	switch mode {
	case api.ModeEmulator:
		segs = append(segs, widget.Segment{Text: " EMULATOR ", Style: st.Emulator, Priority: 1})
	case "":
	default:
		segs = append(segs, widget.Segment{Text: common.Sanitize(mode), Style: st.StatusText, Priority: 3})
	}
	if m.status != "" {
		style := st.StatusInfo
		switch m.statusLevel {
		case common.LevelWarn:
			style = st.StatusWarn
		case common.LevelError:
			style = st.StatusErr
		}
		segs = append(segs, widget.Segment{Text: common.Sanitize(m.status), Style: style, Priority: 1})
	}
	if m.live.Paused() && m.focus() == common.ViewLive {
		segs = append(segs, widget.Segment{Text: "display paused", Style: st.StatusWarn, Priority: 2})
	}
	last := m.live.LastEvent()
	if m.haveHealth && m.h.LastEvent.After(last) {
		last = m.h.LastEvent
	}
	if !last.IsZero() {
		segs = append(segs, widget.Segment{Text: "last event " + common.Age(m.c.Clock(), last), Style: st.StatusText, Priority: 3})
	}
	if m.haveHealth {
		errs := common.ErrorTotal(m.h)
		style := st.StatusText
		if errs > 0 {
			style = st.StatusErr
		}
		segs = append(segs, widget.Segment{Text: "errors " + common.Count(errs), Style: style, Priority: 4})
	}
	if m.opts.Source != "" {
		segs = append(segs, widget.Segment{Text: common.Sanitize(m.opts.Source), Style: st.StatusText, Priority: 5})
	}
	return widget.StatusLine(m.width, st.Dim, segs...)
}

// helpScreenLine is the help line under the full help: how to close it,
// and how to scroll it when it overflows.
func (m *Model) helpScreenLine(overflows bool) string {
	k := m.c.Keys
	if overflows {
		return widget.ShortHelp(m.width, m.c.Styles, k.CloseHelp, k.Down, k.Up, k.Quit)
	}
	return widget.ShortHelp(m.width, m.c.Styles, k.CloseHelp, k.Quit)
}

// helpLine shows the focused view's main keys, then the global ones.
func (m *Model) helpLine() string {
	k := m.c.Keys
	b := m.pages[m.focus()].shortHelp()
	if m.inputActive() {
		return widget.ShortHelp(m.width, m.c.Styles, b...)
	}
	// ? comes first: however narrow the terminal, the way to every
	// other key stays on screen.
	b = append(append([]key.Binding{k.Help}, b...), k.NextView, k.Quit)
	return widget.ShortHelp(m.width, m.c.Styles, b...)
}

// helpLines lists every key of the focused view and the global keys, in
// columns as the width allows; there may be more lines than fit.
func (m *Model) helpLines() []string {
	view := m.pages[m.focus()].fullHelp()
	groups := []widget.HelpGroup{}
	if len(view) > 0 {
		groups = append(groups, widget.HelpGroup{Title: m.focus().String(), Bindings: view})
	}
	groups = append(groups, widget.HelpGroup{Title: "Global", Bindings: m.c.Keys.Global()})
	groups = append(groups, m.pages[m.focus()].helpGroups()...)
	return strings.Split(widget.FullHelp(m.width, m.bodyHeight(), m.c.Styles, groups...), "\n")
}
