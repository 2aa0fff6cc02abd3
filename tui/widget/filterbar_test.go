package widget

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

func newBar() FilterBar {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return NewFilterBar(func(expr string) error {
		_, err := decision.ParseFilter(expr, now)
		return err
	})
}

func typeText(f FilterBar, s string) FilterBar {
	for _, r := range s {
		f, _ = f.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return f
}

// barLines renders the bar as plain text lines.
func barLines(t *testing.T, f FilterBar, width int) []string {
	t.Helper()
	out := f.View(width, common.NewStyles(common.Theme{Plain: true}))
	lines := strings.Split(ansi.Strip(out), "\n")
	if len(lines) != FilterBarHeight {
		t.Fatalf("bar has %d lines, want %d", len(lines), FilterBarHeight)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > width {
			t.Fatalf("line %q is %d wide in %d", l, w, width)
		}
	}
	return lines
}

func TestFilterBarApplyAndCancel(t *testing.T) {
	f := newBar()
	if f.IsOpen() {
		t.Fatal("a new bar must be closed")
	}
	if f2, ev := f.Update(press("x")); ev != FilterNone || f2.Value() != "" {
		t.Fatal("a closed bar must ignore keys")
	}
	f.Open("")
	if l := barLines(t, f, 60); !strings.HasPrefix(l[0], "/  action:deny") {
		t.Errorf("empty bar should show the prompt, the cursor and an example: %q", l[0])
	}
	f = typeText(f, "action:deny")
	if l := barLines(t, f, 60); !strings.Contains(l[1], "enter apply") {
		t.Errorf("valid expression should show the keys, got %q", l[1])
	}
	f, ev := f.Update(press("enter"))
	if ev != FilterApplied || f.IsOpen() || f.Value() != "action:deny" {
		t.Fatalf("enter: event %v open %v value %q", ev, f.IsOpen(), f.Value())
	}
	f.Open("action:deny")
	f = typeText(f, " bot>90")
	f, ev = f.Update(press("esc"))
	if ev != FilterCancelled || f.IsOpen() {
		t.Fatalf("esc: event %v open %v", ev, f.IsOpen())
	}
	if h := f.History(); len(h) != 1 || h[0] != "action:deny" {
		t.Errorf("history %q: a cancelled filter must not be remembered", h)
	}
}

func TestFilterBarErrorBlocksApply(t *testing.T) {
	f := newBar()
	f.Open("")
	f = typeText(f, "action:deny risk>=x")
	f, ev := f.Update(press("enter"))
	if ev != FilterNone || !f.IsOpen() {
		t.Fatalf("enter on a bad expression: event %v open %v; it must stay open", ev, f.IsOpen())
	}
	var fe *decision.FilterError
	if !errors.As(f.err, &fe) || fe.Term != "risk>=x" {
		t.Fatalf("error %v, want a FilterError on risk>=x", f.err)
	}
	// Fixing the term clears the error as you type.
	f, _ = f.Update(press("backspace"))
	f = typeText(f, "60")
	if f.err != nil {
		t.Fatalf("risk>=60 still an error: %v", f.err)
	}
	if _, ev := f.Update(press("enter")); ev != FilterApplied {
		t.Fatal("a fixed expression must apply")
	}
}

// caretAt returns the cell column of the caret on the error line, or -1.
func caretAt(line string) int {
	i := strings.IndexByte(line, '^')
	if i < 0 {
		return -1
	}
	return ansi.StringWidth(line[:i])
}

func TestFilterBarCaretPointsAtBadTerm(t *testing.T) {
	const notNumber = `"x" is not a number`
	tests := []struct {
		name  string
		expr  string
		width int
		// term is where the bad term starts in the expression; the caret
		// must be under it on screen.
		term     string
		wantLine string // exact error line, when given
		contains string
	}{
		{name: "message right of caret", expr: "action:deny risk>=x", width: 60, term: "risk>=x",
			wantLine: strings.Repeat(" ", 14) + "^ " + notNumber},
		{name: "message left of caret", expr: "action:deny action:deny risk>=x", width: 40, term: "risk>=x",
			wantLine: strings.Repeat(" ", 6) + notNumber + " ^"},
		{name: "long message cut after caret", expr: "foo:bar", width: 40, term: "foo:bar",
			contains: `^ unknown field "foo"`},
		{name: "long message cut before caret", expr: "action:deny action:deny action:deny foo:bar", width: 40, term: "foo:bar",
			contains: `unknown field "foo" (want type… ^`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newBar()
			f.Open(tc.expr)
			l := barLines(t, f, tc.width)
			want := strings.Index(l[0], tc.term)
			if want < 0 {
				t.Fatalf("term %q not on the input line %q", tc.term, l[0])
			}
			if got := caretAt(l[1]); got != want {
				t.Errorf("caret at %d, term at %d:\n%s\n%s", got, want, l[0], l[1])
			}
			if tc.wantLine != "" && l[1] != tc.wantLine {
				t.Errorf("error line %q, want %q", l[1], tc.wantLine)
			}
			if tc.contains != "" && !strings.Contains(l[1], tc.contains) {
				t.Errorf("error line %q lacks %q", l[1], tc.contains)
			}
		})
	}
}

func TestFilterBarCaretFollowsScroll(t *testing.T) {
	f := newBar()
	f.Open("action:deny action:deny risk>=x")
	l := barLines(t, f, 20)
	if strings.Contains(l[0], "action:deny action") {
		t.Fatalf("input should have scrolled at width 20: %q", l[0])
	}
	want := strings.Index(l[0], "risk>=x")
	if want < 0 || caretAt(l[1]) != want {
		t.Errorf("caret at %d, term on screen at %d:\n%s\n%s", caretAt(l[1]), want, l[0], l[1])
	}

	// The bad term scrolled out of sight: the message names it instead.
	f.Open("risk>=x action:deny action:deny")
	l = barLines(t, f, 20)
	if caretAt(l[1]) >= 0 || !strings.HasPrefix(l[1], "term 1") {
		t.Errorf("term out of sight: error line %q, want the full error without a caret", l[1])
	}
}

func TestFilterBarHistory(t *testing.T) {
	f := newBar()
	apply := func(expr string) {
		t.Helper()
		f.Open("")
		f = typeText(f, expr)
		var ev FilterEvent
		if f, ev = f.Update(press("enter")); ev != FilterApplied {
			t.Fatalf("%q not applied", expr)
		}
	}
	apply("action:deny")
	apply("risk>=60")
	apply("risk>=60") // the same twice in a row is kept once
	apply("ip:10.0.0.0/8")
	apply("   ") // empty: applied (clears the filter) but not remembered
	if h := f.History(); strings.Join(h, ",") != "action:deny,risk>=60,ip:10.0.0.0/8" {
		t.Fatalf("history %q", h)
	}

	f.Open("")
	f = typeText(f, "user:draft")
	steps := []struct {
		key  string
		want string
	}{
		{"up", "ip:10.0.0.0/8"},
		{"up", "risk>=60"},
		{"up", "action:deny"},
		{"up", "action:deny"}, // oldest: stays
		{"down", "risk>=60"},
		{"down", "ip:10.0.0.0/8"},
		{"down", "user:draft"}, // past the newest: what was being typed
		{"down", "user:draft"},
		{"ctrl+p", "ip:10.0.0.0/8"},
		{"ctrl+n", "user:draft"},
	}
	for i, s := range steps {
		f, _ = f.Update(press(s.key))
		if f.Value() != s.want {
			t.Fatalf("step %d (%s): value %q, want %q", i, s.key, f.Value(), s.want)
		}
	}
}

func TestFilterBarHistoryBounded(t *testing.T) {
	f := newBar()
	for i := range maxHistory + 10 {
		f.Open("")
		f = typeText(f, "risk>="+strings.Repeat("1", 1+i%3)+string(rune('0'+i%10)))
		f, _ = f.Update(press("enter"))
	}
	if n := len(f.History()); n > maxHistory {
		t.Fatalf("history holds %d, want at most %d", n, maxHistory)
	}
}

func TestFilterBarPaste(t *testing.T) {
	f := newBar()
	f.Open("")
	f, _ = f.Update(tea.PasteMsg{Content: "action:deny\nrisk>=60"})
	if f.Value() != "action:deny risk>=60" || f.err != nil {
		t.Fatalf("pasted %q err %v", f.Value(), f.err)
	}
}

func FuzzFilterBar(f *testing.F) {
	f.Add("action:deny risk>=x", 40)
	f.Add(`"東京 ip:999 -`, 12)
	f.Add("since:abc \x1b[2J\xff", 7)
	f.Fuzz(func(t *testing.T, expr string, width int) {
		width = 1 + int(uint(width)%160)
		b := newBar()
		b.Open(expr)
		out := b.View(width, common.NewStyles(common.Theme{Dark: true}))
		lines := strings.Split(out, "\n")
		if len(lines) != FilterBarHeight {
			t.Fatalf("%d lines", len(lines))
		}
		for _, l := range lines {
			if w := ansi.StringWidth(l); w > width {
				t.Fatalf("line %q is %d wide in %d", ansi.Strip(l), w, width)
			}
		}
	})
}
