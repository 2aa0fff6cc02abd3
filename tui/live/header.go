package live

import (
	"strconv"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// Header geometry: each series' line is a label, its rate over the last
// minute, its chart and the chart's scale.
const (
	labelWidth = 10
	valueWidth = 10
	scaleWidth = 11 // " max 12.3k"
	minSpark   = 12
)

// fullHeaderLines is the height of the full header: a line per series,
// the time axis and the baseline line.
const fullHeaderLines = int(common.NumSeries) + 2

// BaselineMinutes is the window the baseline line compares: the last five
// minutes (the current one so far) against the same minutes an hour and a
// day earlier.
const BaselineMinutes = 5

var seriesLabels = [common.NumSeries]string{"events", "allow", "challenge", "deny", "errors"}

// headerCache holds the rendered rates header until the counts, the
// baselines, the size, the second (the current bucket and the trailing
// minute move with it) or the theme change.
type headerCache struct {
	version uint64
	base    int64
	width   int
	second  int64
	full    bool
	styles  *common.Styles
	text    string
	bufs    [common.NumSeries][]uint64
}

// rateHeader renders the rates: in full, a line per series with its rate
// and a chart of the recent minutes on a labelled scale, the chart's time
// axis and the baseline line; compact, one line of rates.
func (m *Model) rateHeader(now time.Time, full bool) string {
	hc := m.header
	second := now.Unix()
	if hc.text != "" && hc.version == m.rates.Version() && hc.base == m.base.minute && hc.width == m.width &&
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
	hc.version, hc.base, hc.width, hc.second = m.rates.Version(), m.base.minute, m.width, second
	hc.full, hc.styles, hc.text = full, st, text
	return text
}

// renderFullHeader draws one line per series: the action series share one
// scale so that their heights compare, events has its own; each line ends
// with the scale's top. Under them, the time axis (the span, where the
// per-minute cells end and the 10-second ones start, and the current,
// incomplete bucket), then the baseline line.
func (m *Model) renderFullHeader(now time.Time) string {
	st := m.c.Styles
	sparkW := m.width - labelWidth - valueWidth - 1 - scaleWidth
	var shape chartShape
	if sparkW >= minSpark {
		shape = shapeFor(sparkW)
	}
	cur := -1
	var peaks [common.NumSeries]uint64
	for s := range common.NumSeries {
		m.header.bufs[s], cur = m.rates.Chart(now, shape, s, m.header.bufs[s][:0])
		for _, v := range m.header.bufs[s] {
			peaks[s] = max(peaks[s], v)
		}
	}
	var actions uint64
	for s := common.SeriesAllow; s < common.NumSeries; s++ {
		actions = max(actions, peaks[s])
	}
	lines := make([]string, 0, fullHeaderLines)
	for s := range common.NumSeries {
		line := st.Label.Render(common.Fit(seriesLabels[s], labelWidth, false)) +
			st.Bold.Render(common.Fit(common.Count(m.rates.PerMinute(now, s))+"/min", valueWidth, true))
		if shape.cells() > 0 {
			peak := actions
			if s == common.SeriesEvents {
				peak = peaks[s]
			}
			line += " " + m.chart(m.header.bufs[s], cur, peak, s) +
				st.Dim.Render(common.Fit("max "+common.Compact(peak), scaleWidth, true))
		}
		lines = append(lines, line)
	}
	axis := ""
	if shape.cells() > 0 {
		axis = strings.Repeat(" ", labelWidth+valueWidth+1) + axisLine(shape, cur)
	}
	lines = append(lines, st.Dim.Render(axis), m.baselineLine(now))
	return strings.Join(lines, "\n")
}

// chart draws one series' cells to peak: the complete ones in the series'
// style, the current bucket dim (its rate so far), the future blank.
func (m *Model) chart(vals []uint64, cur int, peak uint64, s common.Series) string {
	st := m.c.Styles
	if cur < 0 {
		return st.Spark[s].Render(widget.SparklineTo(vals, peak))
	}
	return st.Spark[s].Render(widget.SparklineTo(vals[:cur], peak)) +
		st.Dim.Render(widget.SparklineTo(vals[cur:cur+1], peak)) +
		strings.Repeat(" ", len(vals)-cur-1)
}

// axisLine labels the chart's cells: its start ("33m ago, per min"), the
// first 10-second cell ("│per 10s") and the current bucket ("▲now"), each
// where it fits.
func axisLine(c chartShape, cur int) string {
	line := []rune(strings.Repeat(" ", c.cells()))
	put := func(at int, s string) bool {
		r := []rune(s)
		if at < 0 || at+len(r) > len(line) {
			return false
		}
		for i := max(at-1, 0); i < min(at+len(r)+1, len(line)); i++ {
			if line[i] != ' ' {
				return false
			}
		}
		copy(line[at:], r)
		return true
	}
	if cur >= 0 && !put(cur, "▲now") && !put(cur-3, "now▲") {
		line[cur] = '▲'
	}
	if c.fineMinutes > 0 && c.minutes > 0 {
		_ = put(c.minutes, "│per 10s") || put(c.minutes, "│10s") || put(c.minutes, "│")
	}
	span := strconv.Itoa(c.minutes + c.fineMinutes)
	_ = put(0, span+"m ago, per min") || put(0, span+"m ago") || put(0, span+"m")
	return string(line)
}

// baseline is what the baseline line compares the last BaselineMinutes
// with: the counts by action of the same minutes an hour and a day
// earlier, read for the minute ending the window.
type baseline struct {
	minute    int64 // unix minute the window ended with; 0 before the first read
	hour, day [decision.NumActions]uint64
}

// baselineLine compares the shares of deny, challenge and errors over the
// last BaselineMinutes with the same minutes an hour and a day before:
// "deny 5.1% (1h ago 1.2%, yesterday 1.0%)".
func (m *Model) baselineLine(now time.Time) string {
	st := m.c.Styles
	cur := m.rates.Minutes(now, BaselineMinutes)
	have := m.base.minute == unixMinute(now)
	ps := make([]common.Piece, 0, 3)
	for i, s := range []common.Series{common.SeriesDeny, common.SeriesChallenge, common.SeriesError} {
		prefix := ""
		if i == 0 {
			prefix = "last " + strconv.Itoa(BaselineMinutes) + "m: "
		}
		text := seriesLabels[s] + " " + shareOf(cur, s)
		if have {
			text += " (1h ago " + shareOf(m.base.hour, s) + ", yesterday " + shareOf(m.base.day, s) + ")"
		}
		ps = append(ps, common.Piece{
			Plain:    prefix + text,
			Styled:   st.Label.Render(prefix) + st.Spark[s].Render(seriesLabels[s]) + text[len(seriesLabels[s]):],
			Priority: i,
		})
	}
	return common.JoinFit(m.width, " · ", st.Dim, ps...)
}

// shareOf is series s's share of all decisions in by.
func shareOf(by [decision.NumActions]uint64, s common.Series) string {
	return common.Share(seriesValue(by, s), seriesValue(by, common.SeriesEvents))
}
