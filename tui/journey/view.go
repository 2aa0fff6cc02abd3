package journey

import (
	"strings"

	"github.com/riskwatch/riskwatch/tui/common"
)

// View renders the list or the timeline in exactly the view's height, each
// line within its width. Only the rows on screen are formatted.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	var lines []string
	if m.tl.open {
		lines = m.timelineView()
	} else {
		lines = m.listView()
	}
	return common.FitBlock(strings.Join(lines, "\n"), m.width, m.height)
}
