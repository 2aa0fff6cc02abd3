package widget

import (
	"strings"
	"testing"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// press builds a key press from a name as tea reports it ("ctrl+w",
// "left") or a single character.
func press(k string) tea.KeyPressMsg {
	named := map[string]tea.KeyPressMsg{
		"left":          {Code: tea.KeyLeft},
		"right":         {Code: tea.KeyRight},
		"up":            {Code: tea.KeyUp},
		"down":          {Code: tea.KeyDown},
		"home":          {Code: tea.KeyHome},
		"end":           {Code: tea.KeyEnd},
		"enter":         {Code: tea.KeyEnter},
		"esc":           {Code: tea.KeyEscape},
		"backspace":     {Code: tea.KeyBackspace},
		"delete":        {Code: tea.KeyDelete},
		"space":         {Code: tea.KeySpace, Text: " "},
		"alt+left":      {Code: tea.KeyLeft, Mod: tea.ModAlt},
		"alt+right":     {Code: tea.KeyRight, Mod: tea.ModAlt},
		"alt+backspace": {Code: tea.KeyBackspace, Mod: tea.ModAlt},
	}
	if m, ok := named[k]; ok {
		return m
	}
	if c, ok := strings.CutPrefix(k, "ctrl+"); ok && c != "" {
		return tea.KeyPressMsg{Code: rune(c[0]), Mod: tea.ModCtrl}
	}
	r, _ := utf8.DecodeRuneInString(k)
	return tea.KeyPressMsg{Code: r, Text: k}
}

// edit types text (each rune a key) then applies keys, returning the text
// with a "|" where the cursor is.
func edit(start string, keys ...string) string {
	var e LineEdit
	e.SetValue(start)
	for _, k := range keys {
		e.Update(press(k))
	}
	v := []rune(e.Value())
	return string(v[:e.pos]) + "|" + string(v[e.pos:])
}

func TestLineEditKeys(t *testing.T) {
	tests := []struct {
		name  string
		start string
		keys  []string
		want  string
	}{
		{"type at end", "ab", []string{"c"}, "abc|"},
		{"insert in middle", "ac", []string{"left", "b"}, "ab|c"},
		{"space", "a", []string{"space", "b"}, "a b|"},
		{"backspace", "abc", []string{"backspace"}, "ab|"},
		{"backspace at start", "abc", []string{"home", "backspace"}, "|abc"},
		{"delete", "abc", []string{"home", "delete"}, "|bc"},
		{"delete at end", "abc", []string{"delete"}, "abc|"},
		{"ctrl+a ctrl+e", "abc", []string{"ctrl+a", "x", "ctrl+e", "y"}, "xabcy|"},
		{"left stops at 0", "ab", []string{"left", "left", "left"}, "|ab"},
		{"right stops at end", "ab", []string{"right"}, "ab|"},
		{"ctrl+w deletes a word", "action:deny risk>=60", []string{"ctrl+w"}, "action:deny |"},
		{"ctrl+w over spaces", "action:deny   ", []string{"ctrl+w"}, "|"},
		{"alt+backspace", "a b", []string{"alt+backspace"}, "a |"},
		{"ctrl+u kills before", "abc def", []string{"left", "left", "ctrl+u"}, "|ef"},
		{"ctrl+k kills after", "abc def", []string{"home", "right", "ctrl+k"}, "a|"},
		{"word left", "one two three", []string{"alt+left", "alt+left"}, "one |two three"},
		{"word right", "one two three", []string{"home", "alt+right", "alt+right"}, "one two| three"},
		{"ctrl+b ctrl+f", "ab", []string{"ctrl+b", "ctrl+b", "ctrl+f"}, "a|b"},
		{"wide runes", "東京", []string{"left", "x"}, "東x|京"},
		{"unknown ctrl ignored", "ab", []string{"ctrl+z"}, "ab|"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := edit(tc.start, tc.keys...); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLineEditPasteAndHostileInput(t *testing.T) {
	var e LineEdit
	e.SetValue("ip:")
	if !e.Update(tea.PasteMsg{Content: "10.0.0.0/8\n\x1b[2Jrisk>=60\tx\xff"}) {
		t.Fatal("paste not used")
	}
	if got := e.Value(); got != "ip:10.0.0.0/8 [2Jrisk>=60 x" {
		t.Errorf("pasted value = %q: line breaks must become spaces, controls and bad UTF-8 go", got)
	}
	if e.Update(tea.KeyReleaseMsg{Code: 'a'}) {
		t.Error("a key release must be ignored")
	}
	e.SetValue(strings.Repeat("x", 5000))
	if n := utf8.RuneCountInString(e.Value()); n != maxInput {
		t.Errorf("SetValue kept %d runes, want the %d limit", n, maxInput)
	}
	e.Update(tea.PasteMsg{Content: "more"})
	if n := utf8.RuneCountInString(e.Value()); n != maxInput {
		t.Errorf("paste past the limit gives %d runes", n)
	}
}

func TestLineEditViewScrollsToCursor(t *testing.T) {
	cursor := lipgloss.NewStyle().Reverse(true)
	var e LineEdit
	e.SetValue("0123456789abcdef")
	if got := ansi.Strip(e.View(10, cursor)); got != "789abcdef " {
		t.Errorf("cursor at end: view %q, want the tail and the cursor cell", got)
	}
	if off := e.Offset(10); off != 7 {
		t.Errorf("Offset = %d, want 7 hidden cells", off)
	}
	e.Update(press("home"))
	if got := ansi.Strip(e.View(10, cursor)); got != "0123456789" {
		t.Errorf("cursor at start: view %q", got)
	}
	if off := e.Offset(10); off != 0 {
		t.Errorf("Offset at start = %d", off)
	}
	for w := 0; w <= 20; w++ {
		for pos := 0; pos <= 16; pos++ {
			e.pos = pos
			if got := ansi.StringWidth(e.View(w, cursor)); got > w {
				t.Fatalf("width %d pos %d: view is %d wide", w, pos, got)
			}
		}
	}
	e.SetValue("東京東京東京")
	if got := ansi.StringWidth(e.View(5, cursor)); got > 5 {
		t.Errorf("wide runes: view is %d wide in 5", got)
	}
}

func FuzzLineEdit(f *testing.F) {
	f.Add("action:deny", "left,ctrl+w,x", 12)
	f.Add("東京 ip:10.0.0.0/8", "home,delete,alt+right,backspace", 3)
	f.Add("\x1b[31m\n", "ctrl+k,ctrl+u", 1)
	f.Fuzz(func(t *testing.T, text, keys string, width int) {
		width %= 200
		var e LineEdit
		e.SetValue(text)
		for _, k := range strings.Split(keys, ",") {
			if k != "" {
				e.Update(press(k))
			}
			if e.pos < 0 || e.pos > len(e.value) {
				t.Fatalf("cursor %d outside 0..%d", e.pos, len(e.value))
			}
		}
		v := e.Value()
		if !utf8.ValidString(v) || strings.ContainsAny(v, "\x1b\n\r\t") {
			t.Fatalf("unsafe value %q", v)
		}
		if got := ansi.StringWidth(e.View(width, lipgloss.NewStyle())); width > 0 && got > width {
			t.Fatalf("view is %d wide in %d", got, width)
		}
	})
}
