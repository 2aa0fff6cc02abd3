package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// esc goes back where the user came from (issue 11): each path a person
// takes through the views comes back the same way.
func TestBackStack(t *testing.T) {
	t.Run("journey from Live returns to Live with its row", func(t *testing.T) {
		d, m, _ := start(t, 100, 30)
		d.Key("k")
		d.Key("k")
		sel, _ := m.live.Selected()
		d.Key("u")
		d.WaitFor("the journey", func() bool { return m.focus() == common.ViewJourneys && m.journeys.User() == sel.UserID })
		d.Key("esc")
		if m.focus() != common.ViewLive || len(m.stack) != 1 {
			t.Fatalf("esc from the journey: focus %v stack %v, want Live", m.focus(), m.stack)
		}
		if now, _ := m.live.Selected(); now.ID != sel.ID {
			t.Errorf("back in Live the selected row is %s, was %s", now.ID, sel.ID)
		}
	})
	t.Run("a histogram bar in Live returns to Histograms", func(t *testing.T) {
		d, m, _ := start(t, 100, 30)
		d.Key("2")
		d.WaitFor("the histogram", func() bool { return !m.hist.Loading() })
		d.Key("enter")
		d.WaitFor("Live filtered to the bar", func() bool { return m.focus() == common.ViewLive && m.live.Filter() != "" })
		d.Key("esc")
		if m.focus() != common.ViewHistograms {
			t.Fatalf("esc from the drill: focus %v, want Histograms", m.focus())
		}
		// Back in Live from its tab, nowhere to go back to: esc clears
		// the bar's filter.
		d.Key("1")
		d.Key("esc")
		if m.focus() != common.ViewLive || m.live.Filter() != "" {
			t.Fatalf("esc in Live with a drilled filter and no way back: focus %v filter %q", m.focus(), m.live.Filter())
		}
	})
	t.Run("esc in Live clears the filter first", func(t *testing.T) {
		d, m, _ := start(t, 100, 30)
		d.Key("/")
		d.Type("action:deny")
		d.Key("enter")
		d.WaitFor("the filter", func() bool { return m.live.Filter() == "action:deny" && !m.live.Loading() })
		d.Key("esc")
		if m.live.Filter() != "" || m.focus() != common.ViewLive {
			t.Fatalf("esc with a filter: filter %q focus %v, want it cleared in Live", m.live.Filter(), m.focus())
		}
	})
	t.Run("detail, journey, back, back", func(t *testing.T) {
		d, m, _ := start(t, 100, 30)
		d.Key("enter")
		d.WaitFor("the detail", func() bool { return m.focus() == common.ViewDetail })
		d.Key("u")
		d.WaitFor("the journey", func() bool { return m.focus() == common.ViewJourneys })
		if tab := ansiLine(d.Screen(), 0); !strings.Contains(tab, "[3 Journeys]") {
			t.Errorf("tab bar %q does not mark Journeys", tab)
		}
		d.Key("esc")
		if m.focus() != common.ViewDetail {
			t.Fatalf("esc from the journey: focus %v, want the detail it was opened from", m.focus())
		}
		if tab := ansiLine(d.Screen(), 0); !strings.Contains(tab, "[1 Live]") || !strings.Contains(tab, "› [Detail]") {
			t.Errorf("tab bar %q: want Live with the detail over it", tab)
		}
		d.Key("esc")
		if m.focus() != common.ViewLive || len(m.stack) != 1 {
			t.Fatalf("second esc: focus %v stack %v, want Live", m.focus(), m.stack)
		}
		d.Key("esc") // nowhere further back: nothing happens
		if m.focus() != common.ViewLive {
			t.Fatalf("esc at the bottom moved to %v", m.focus())
		}
	})
	t.Run("a timeline opened from the list returns to the list", func(t *testing.T) {
		d, m, _ := start(t, 100, 30)
		d.Key("3")
		d.WaitFor("the users", func() bool { return !m.journeys.Loading() })
		d.Key("enter")
		d.WaitFor("the timeline", func() bool { return m.journeys.TimelineOpen() })
		d.Key("esc")
		if m.focus() != common.ViewJourneys || m.journeys.TimelineOpen() {
			t.Fatalf("esc in a timeline from the list: focus %v timeline %v, want the list", m.focus(), m.journeys.TimelineOpen())
		}
	})
	t.Run("a tab key starts over", func(t *testing.T) {
		d, m, _ := start(t, 100, 30)
		d.Key("enter")
		d.WaitFor("the detail", func() bool { return m.focus() == common.ViewDetail })
		d.Key("4")
		if m.focus() != common.ViewWhatIf || len(m.stack) != 1 {
			t.Fatalf("4 from the detail: focus %v stack %v", m.focus(), m.stack)
		}
	})
}

// With QuitConfirm (the demo, whose data goes with it) q asks once more.
func TestQuitConfirm(t *testing.T) {
	d, m, _ := start(t, 100, 30)
	m.opts.QuitConfirm = "press q again to quit: the demo's data will be deleted"
	d.Key("q")
	if m.c.Context().Err() != nil || !strings.Contains(d.Screen(), "press q again to quit") {
		t.Fatalf("the first q quit or did not ask:\n%s", d.Screen())
	}
	d.Key("j") // any other key disarms it
	d.Key("q")
	if m.c.Context().Err() != nil {
		t.Fatal("q, another key, q: quit without confirmation")
	}
	d.Key("q")
	if m.c.Context().Err() == nil {
		t.Fatal("q twice in a row did not quit")
	}
	d.WaitFor("the quit message", d.Quit)
}

func ansiLine(screen string, n int) string {
	lines := strings.Split(screen, "\n")
	if n < len(lines) {
		return lines[n]
	}
	return ""
}

// The help lists every key that works, ctrl+l, ctrl+c and shift+tab
// included, and on Live every term of the filter language and the times
// T takes.
func TestHelpListsEveryKeyAndTheFilterSyntax(t *testing.T) {
	d, m, _ := start(t, 200, 50)
	d.Key("?")
	help := ansi.Strip(strings.Join(m.helpLines(), "\n"))
	for _, want := range []string{"ctrl+l", "redraw the screen", "ctrl+c", "shift+tab", "previous view", "esc", "1-6",
		"T", "jump to time", "g", "oldest loaded", "Filter (/)", "Jump to a time (T)"} {
		if !strings.Contains(help, want) {
			t.Errorf("the help lacks %q:\n%s", want, help)
		}
	}
	for _, e := range widget.FilterSyntax() {
		if !strings.Contains(help, e.Key) {
			t.Errorf("the help lacks the filter term %q", e.Key)
		}
	}
	for _, term := range []string{"type:", "status:", "action:", "user:", "email:", "domain:", "ip:", "country:", "signal:",
		"policy:", "ua:", "source:", "shadow:", "rule:", "risk", "ato", "bot", "abuse", "since:", "until:", "-term"} {
		if !strings.Contains(help, term) {
			t.Errorf("the help lacks %q of the filter language", term)
		}
	}
}

// The display's pause belongs to Live: the status line says so there and
// nowhere else.
func TestPauseShowsOnlyOnLive(t *testing.T) {
	d, m, _ := start(t, 120, 30)
	d.Key("space")
	if !m.live.Paused() || !strings.Contains(m.statusLine(), "display paused") {
		t.Fatalf("Live paused: status %q", ansi.Strip(m.statusLine()))
	}
	for _, k := range []string{"2", "3", "4", "5"} {
		d.Key(k)
		if strings.Contains(m.statusLine(), "display paused") {
			t.Errorf("view %s shows Live's pause: %q", k, ansi.Strip(m.statusLine()))
		}
	}
	d.Key("1")
	if !strings.Contains(m.statusLine(), "display paused") {
		t.Error("back on Live the pause is not shown")
	}
}
