package widget

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/tui/common"
)

func TestStatusLineDropsLeastImportant(t *testing.T) {
	segs := []Segment{
		{Text: "SCORING PAUSED", Priority: 0},
		{Text: "last event 2s ago", Priority: 3},
		{Text: "errors 5", Priority: 4},
		{Text: "file:/var/log/app.ndjson", Priority: 5},
	}
	plain := lipgloss.NewStyle()
	tests := []struct {
		width int
		want  string
	}{
		{200, "SCORING PAUSED │ last event 2s ago │ errors 5 │ file:/var/log/app.ndjson"},
		{50, "SCORING PAUSED │ last event 2s ago │ errors 5"},
		{40, "SCORING PAUSED │ last event 2s ago"},
		{20, "SCORING PAUSED"},
		// Even the most important segment is cut rather than overflow.
		{8, "SCORING…"},
		{0, ""},
	}
	for _, tc := range tests {
		got := ansi.Strip(StatusLine(tc.width, plain, segs...))
		if got != tc.want {
			t.Errorf("width %d: %q, want %q", tc.width, got, tc.want)
		}
		if w := ansi.StringWidth(got); w > tc.width {
			t.Errorf("width %d: line is %d wide", tc.width, w)
		}
	}
}

func TestStatusLineKeepsOrderAndSkipsEmpty(t *testing.T) {
	got := ansi.Strip(StatusLine(100, lipgloss.NewStyle(),
		Segment{Text: "b", Priority: 9}, Segment{Text: ""}, Segment{Text: "a", Priority: 0}))
	if got != "b │ a" {
		t.Errorf("got %q: segments keep their order, empty ones vanish", got)
	}
}

func bindings() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "pause")),
		key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "hidden"), key.WithDisabled()),
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}
}

func TestShortHelp(t *testing.T) {
	st := common.NewStyles(common.Theme{Plain: true})
	if got := ansi.Strip(ShortHelp(100, st, bindings()...)); got != "space pause · / filter · enter detail · q quit" {
		t.Errorf("full width: %q (disabled bindings must be skipped)", got)
	}
	if got := ansi.Strip(ShortHelp(24, st, bindings()...)); got != "space pause · / filter" {
		t.Errorf("narrow: %q, want the first bindings that fit whole", got)
	}
	for w := 0; w < 60; w++ {
		if got := ansi.StringWidth(ShortHelp(w, st, bindings()...)); got > w {
			t.Fatalf("width %d: %d wide", w, got)
		}
	}
}

func TestFullHelp(t *testing.T) {
	st := common.NewStyles(common.Theme{Plain: true})
	groups := []HelpGroup{{Title: "Live", Bindings: bindings()}, {Title: "Global", Bindings: bindings()[:2]}}
	out := ansi.Strip(FullHelp(80, 20, st, groups...))
	lines := strings.Split(out, "\n")
	// Live + 4 enabled, a blank, Global + 2: 9 lines in one column.
	if len(lines) != 9 || strings.TrimSpace(lines[0]) != "Live" || strings.TrimSpace(lines[6]) != "Global" {
		t.Fatalf("layout:\n%s", out)
	}
	if !strings.Contains(lines[3], "enter") || !strings.Contains(lines[3], "detail") {
		t.Errorf("binding line %q", lines[3])
	}
	if strings.Contains(out, "hidden") {
		t.Error("disabled binding listed")
	}
	// Short of height, the list flows into a second column.
	two := strings.Split(ansi.Strip(FullHelp(80, 5, st, groups...)), "\n")
	if len(two) != 5 || !strings.Contains(two[1], "Global") {
		t.Errorf("two columns expected:\n%s", strings.Join(two, "\n"))
	}
	// Too short even for two columns: one long column, nothing left out,
	// for the caller to scroll.
	long := strings.Split(ansi.Strip(FullHelp(30, 4, st, groups...)), "\n")
	if len(long) != 9 || !strings.Contains(long[8], "filter") {
		t.Errorf("30x4: want all 9 lines in one column:\n%s", strings.Join(long, "\n"))
	}
	for w := 0; w <= 90; w += 3 {
		for h := 0; h <= 12; h++ {
			out := FullHelp(w, h, st, groups...)
			if (h == 0 || w == 0) && out != "" {
				t.Fatalf("%dx%d: want nothing", w, h)
			}
			ls := strings.Split(out, "\n")
			if h >= 9 && len(ls) > h {
				t.Fatalf("%dx%d: %d lines, but they fit in %d", w, h, len(ls), h)
			}
			for _, l := range ls {
				if ansi.StringWidth(l) > w {
					t.Fatalf("%dx%d: line %q too wide", w, h, ansi.Strip(l))
				}
			}
			if w >= 30 && h > 0 && !strings.Contains(out, "quit") {
				t.Fatalf("%dx%d: a binding was left out:\n%s", w, h, out)
			}
		}
	}
}
