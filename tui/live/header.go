package live

import (
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// Header cell geometry: a label, the last minute's count, a sparkline.
const (
	cellMinWidth = 40
	labelWidth   = 10
	valueWidth   = 10
	minSpark     = 4
)

var seriesLabels = [common.NumSeries]string{"events", "allow", "challenge", "deny", "errors"}

// headerCache holds the rendered rates header until the counts, the size,
// the second (rates are per trailing minute) or the theme change.
type headerCache struct {
	version uint64
	width   int
	second  int64
	full    bool
	styles  *common.Styles
	text    string
	buf     []uint64
}

// headerColumns is how many series cells fit side by side in width w.
func headerColumns(w int) int {
	return min(max(w/cellMinWidth, 1), int(common.NumSeries))
}

// headerLines is the height of the full header at width w.
func headerLines(w int) int {
	c := headerColumns(w)
	return (int(common.NumSeries) + c - 1) / c
}

// rateHeader renders the per-minute rates: in full, one cell per series with
// a sparkline of the last minutes; compact, one line of counts.
func (m *Model) rateHeader(now time.Time, full bool) string {
	hc := m.header
	second := now.Unix()
	if hc.text != "" && hc.version == m.rates.Version() && hc.width == m.width &&
		hc.second == second && hc.full == full && hc.styles == m.c.Styles {
		return hc.text
	}
	st := m.c.Styles
	var text string
	if full {
		text = m.renderFullHeader(now)
	} else {
		segs := make([]widget.Segment, 0, common.NumSeries)
		prio := [common.NumSeries]int{0, 3, 2, 1, 4}
		for s := range common.NumSeries {
			segs = append(segs, widget.Segment{
				Text:     seriesLabels[s] + " " + common.Count(m.rates.PerMinute(now, s)) + "/min",
				Style:    st.Spark[s],
				Priority: prio[s],
			})
		}
		text = widget.StatusLine(m.width, st.Dim, segs...)
	}
	*hc = headerCache{version: m.rates.Version(), width: m.width, second: second,
		full: full, styles: st, text: text, buf: hc.buf}
	return text
}

func (m *Model) renderFullHeader(now time.Time) string {
	st := m.c.Styles
	cols := headerColumns(m.width)
	cellW := m.width / cols
	sparkW := min(cellW-labelWidth-valueWidth-2, RateWindow)
	var b strings.Builder
	for s := range common.NumSeries {
		if s > 0 && int(s)%cols == 0 {
			b.WriteByte('\n')
		}
		cell := st.Label.Render(common.Fit(seriesLabels[s], labelWidth, false)) +
			st.Bold.Render(common.Fit(common.Count(m.rates.PerMinute(now, s))+"/min", valueWidth, true))
		used := labelWidth + valueWidth
		if sparkW >= minSpark {
			m.header.buf = m.rates.Series(now, sparkW, s, m.header.buf[:0])
			cell += " " + st.Spark[s].Render(widget.Sparkline(m.header.buf))
			used += 1 + sparkW
		}
		if int(s)%cols != cols-1 && s != common.NumSeries-1 {
			cell += strings.Repeat(" ", max(cellW-used, 0))
		}
		b.WriteString(cell)
	}
	return b.String()
}
