package common

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Piece is one item of a line that drops items to fit its width: the text
// as measured (plain) and as drawn (styled, possibly in several styles).
type Piece struct {
	Plain  string
	Styled string
	// Priority orders pieces by importance: 0 is kept longest.
	Priority int
}

// StyledPiece returns a piece of text drawn in one style.
func StyledPiece(text string, style lipgloss.Style, priority int) Piece {
	return Piece{Plain: text, Styled: style.Render(text), Priority: priority}
}

// JoinFit joins pieces in their order with sep (drawn in sepStyle),
// dropping the least important (highest Priority, the later of equals)
// until the line fits width; if even one piece is too wide it is clipped.
// Empty pieces are skipped. The result is one line of at most width cells.
func JoinFit(width int, sep string, sepStyle lipgloss.Style, ps ...Piece) string {
	if width <= 0 {
		return ""
	}
	keep := make([]bool, len(ps))
	size, kept := 0, 0
	sepW := ansi.StringWidth(sep)
	for i := range ps {
		if ps[i].Plain != "" {
			keep[i] = true
			size += ansi.StringWidth(ps[i].Plain)
			kept++
		}
	}
	size += max(kept-1, 0) * sepW
	for size > width && kept > 1 {
		worst := -1
		for i, p := range ps {
			if keep[i] && (worst < 0 || p.Priority >= ps[worst].Priority) {
				worst = i
			}
		}
		keep[worst] = false
		kept--
		size -= ansi.StringWidth(ps[worst].Plain) + sepW
	}
	var b strings.Builder
	first := true
	for i, p := range ps {
		if !keep[i] {
			continue
		}
		if !first {
			b.WriteString(sepStyle.Render(sep))
		}
		first = false
		b.WriteString(p.Styled)
	}
	return Clip(b.String(), width)
}
