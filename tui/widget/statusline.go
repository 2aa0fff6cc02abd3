package widget

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/tui/common"
)

// Segment is one piece of a status line: plain text, its style, and how
// important it is (0 is kept longest).
type Segment struct {
	Text     string
	Style    lipgloss.Style
	Priority int
}

// StatusSep separates status line segments.
const StatusSep = " │ "

// StatusLine joins segments in their order, dropping the least important
// ones (highest Priority) until the rest fit in width; if even the most
// important one does not fit, it is cut. The result is one line of at most
// width cells.
func StatusLine(width int, sepStyle lipgloss.Style, segs ...Segment) string {
	if width <= 0 {
		return ""
	}
	keep := make([]bool, len(segs))
	widths := make([]int, len(segs))
	for i, s := range segs {
		widths[i] = ansi.StringWidth(s.Text)
		keep[i] = s.Text != ""
	}
	sepW := ansi.StringWidth(StatusSep)
	total := func() int {
		n, k := 0, 0
		for i := range segs {
			if keep[i] {
				n += widths[i]
				k++
			}
		}
		if k > 1 {
			n += sepW * (k - 1)
		}
		return n
	}
	for total() > width {
		worst := -1
		for i, s := range segs {
			if keep[i] && (worst < 0 || s.Priority >= segs[worst].Priority) {
				worst = i
			}
		}
		kept := 0
		for _, k := range keep {
			if k {
				kept++
			}
		}
		if kept <= 1 {
			break
		}
		keep[worst] = false
	}
	var b strings.Builder
	room := width
	for i, s := range segs {
		if !keep[i] || room <= 0 {
			continue
		}
		if b.Len() > 0 {
			if room <= sepW {
				break
			}
			b.WriteString(sepStyle.Render(StatusSep))
			room -= sepW
		}
		text := s.Text
		if widths[i] > room {
			text = common.Truncate(text, room)
		}
		b.WriteString(s.Style.Render(text))
		room -= ansi.StringWidth(text)
	}
	return b.String()
}
