package widget

import (
	"strings"
	"unicode"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/tui/common"
)

// maxInput bounds what the line editor holds, so a huge paste cannot make
// every keystroke slow.
const maxInput = 1024

// LineEdit is a single-line text editor: readline keys, paste, and a view
// that scrolls horizontally to keep the cursor visible.
type LineEdit struct {
	value []rune
	pos   int
}

// Value returns the text.
func (e LineEdit) Value() string { return string(e.value) }

// SetValue replaces the text and moves the cursor to its end.
func (e *LineEdit) SetValue(s string) {
	e.value = []rune(cleanInput(s))
	if len(e.value) > maxInput {
		e.value = e.value[:maxInput]
	}
	e.pos = len(e.value)
}

// Update edits the text for a key press or a paste; other messages are
// ignored. It reports whether the message was used.
func (e *LineEdit) Update(msg tea.Msg) bool {
	switch msg := msg.(type) {
	case tea.PasteMsg:
		e.insert(cleanInput(msg.Content))
		return true
	case tea.KeyPressMsg:
		return e.key(msg)
	}
	return false
}

func (e *LineEdit) key(k tea.KeyPressMsg) bool {
	switch k.String() {
	case "left", "ctrl+b":
		e.pos = max(0, e.pos-1)
	case "right", "ctrl+f":
		e.pos = min(len(e.value), e.pos+1)
	case "home", "ctrl+a":
		e.pos = 0
	case "end", "ctrl+e":
		e.pos = len(e.value)
	case "alt+left", "ctrl+left", "alt+b":
		e.pos = e.wordStart()
	case "alt+right", "ctrl+right", "alt+f":
		e.pos = e.wordEnd()
	case "backspace", "ctrl+h":
		if e.pos > 0 {
			e.value = append(e.value[:e.pos-1], e.value[e.pos:]...)
			e.pos--
		}
	case "delete", "ctrl+d":
		if e.pos < len(e.value) {
			e.value = append(e.value[:e.pos], e.value[e.pos+1:]...)
		}
	case "ctrl+u":
		e.value = append(e.value[:0], e.value[e.pos:]...)
		e.pos = 0
	case "ctrl+k":
		e.value = e.value[:e.pos]
	case "ctrl+w", "alt+backspace", "ctrl+backspace":
		start := e.wordStart()
		e.value = append(e.value[:start], e.value[e.pos:]...)
		e.pos = start
	default:
		if k.Text == "" || k.Mod&(tea.ModCtrl|tea.ModAlt) != 0 {
			return false
		}
		e.insert(cleanInput(k.Text))
	}
	return true
}

func (e *LineEdit) insert(s string) {
	r := []rune(s)
	if room := maxInput - len(e.value); len(r) > room {
		r = r[:max(room, 0)]
	}
	if len(r) == 0 {
		return
	}
	v := make([]rune, 0, len(e.value)+len(r))
	v = append(v, e.value[:e.pos]...)
	v = append(v, r...)
	v = append(v, e.value[e.pos:]...)
	e.value = v
	e.pos += len(r)
}

func (e LineEdit) wordStart() int {
	i := e.pos
	for i > 0 && unicode.IsSpace(e.value[i-1]) {
		i--
	}
	for i > 0 && !unicode.IsSpace(e.value[i-1]) {
		i--
	}
	return i
}

func (e LineEdit) wordEnd() int {
	i := e.pos
	for i < len(e.value) && unicode.IsSpace(e.value[i]) {
		i++
	}
	for i < len(e.value) && !unicode.IsSpace(e.value[i]) {
		i++
	}
	return i
}

// View renders the text in width cells with the cursor drawn in cursor
// style, scrolled so the cursor is visible (see Offset).
func (e LineEdit) View(width int, cursor lipgloss.Style) string {
	if width <= 0 {
		return ""
	}
	before, _ := e.visibleBefore(width)
	bw := ansi.StringWidth(before)
	under := " "
	after := ""
	if e.pos < len(e.value) {
		under = string(e.value[e.pos])
		after = string(e.value[e.pos+1:])
	}
	room := width - bw - ansi.StringWidth(under)
	if room < 0 {
		return common.Clip(before, width)
	}
	return before + cursor.Render(under) + common.Clip(after, room)
}

// Offset is how many cells of the text View hides on the left at width, to
// keep the cursor in sight; a column of the text minus Offset is its column
// on screen.
func (e LineEdit) Offset(width int) int {
	_, hidden := e.visibleBefore(width)
	return hidden
}

// visibleBefore returns the part of the text before the cursor that View
// shows at width, and how many cells it hides on the left: the cursor cell
// must fit after it.
func (e LineEdit) visibleBefore(width int) (string, int) {
	before := string(e.value[:e.pos])
	bw := ansi.StringWidth(before)
	if width <= 0 || bw <= width-1 {
		return before, 0
	}
	shown := ansi.TruncateLeft(before, bw-(width-1), "")
	return shown, bw - ansi.StringWidth(shown)
}

// cleanInput makes typed or pasted text a single safe line: line breaks and
// tabs become spaces, other control characters and invalid UTF-8 go.
func cleanInput(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r == utf8.RuneError || unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}
