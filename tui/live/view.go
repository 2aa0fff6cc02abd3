package live

import (
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// layout decides, for the current size, whether the rates header fits in
// full and how many table rows remain.
func (m *Model) layout() {
	barH := 0
	switch {
	case m.bar.IsOpen():
		barH = widget.FilterBarHeight
	case m.jump.open, m.prompt.IsOpen():
		barH = 1
	}
	fixed := 1 + barH + 1 // info line, filter bar or time prompt, table header
	charts := m.width-labelWidth-valueWidth-1-scaleWidth >= minSpark
	m.fullHeader = charts && m.height-fullHeaderLines-fixed >= max(5, m.height/2)
	if m.fullHeader {
		m.tableH = m.height - fullHeaderLines - fixed
	} else {
		m.tableH = m.height - 1 - fixed
	}
	m.tableH = max(m.tableH, 0)
	m.snap()
}

// View renders the view in exactly its height, each line within its width.
// The rates header is made to fit its width (and cached), so only the
// lines under it are cut to fit.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	now := m.c.Clock()
	st := m.c.Styles
	head := m.rateHeader(now, m.fullHeader)
	headH := strings.Count(head, "\n") + 1
	if headH >= m.height {
		return common.FitBlock(head, m.width, m.height)
	}
	parts := make([]string, 0, 5)
	parts = append(parts, m.infoLine(now))
	switch {
	case m.bar.IsOpen():
		parts = append(parts, m.bar.View(m.width, st))
	case m.jump.open:
		parts = append(parts, m.jump.view(m.width, st))
	case m.prompt.IsOpen():
		parts = append(parts, m.prompt.View(m.width, st))
	}
	parts = append(parts, m.table.Header(st.TableHeader))
	if m.rows.Len() == 0 {
		parts = append(parts, st.Dim.Render(common.Truncate(m.emptyText(), m.width)))
	} else if m.tableH > 0 {
		n := min(m.tableH, m.rows.End()-m.top)
		src := rows{rows: m.rows, styles: st, loc: now.Location()}
		parts = append(parts, m.table.Render(src, m.top, n, m.cursor, st))
	}
	return head + "\n" + common.FitBlock(strings.Join(parts, "\n"), m.width, m.height-headH)
}

func (m Model) emptyText() string {
	switch {
	case m.latestReq.Busy():
		return "loading…"
	case m.loadErr != nil:
		return "could not load decisions: " + common.Sanitize(m.loadErr.Error())
	case m.filterExpr != "":
		return "no decisions match " + common.Sanitize(m.filterExpr) + " yet"
	}
	return "no decisions yet: waiting for events"
}

// infoLine shows the display state, the filter and how many rows match
// it, Safe-e latency, errors and the age of the last event, dropping the
// least important to fit.
func (m Model) infoLine(now time.Time) string {
	st := m.c.Styles
	segs := make([]widget.Segment, 0, 9)
	switch {
	case m.follow:
		segs = append(segs, widget.Segment{Text: "● following", Style: st.Good, Priority: 2})
	case m.hist.detached():
		segs = append(segs, widget.Segment{
			Text:     "PAUSED in history, " + common.Count(m.NewCount()) + " new (G newest)",
			Style:    st.Warn,
			Priority: 0,
		})
	default:
		segs = append(segs, widget.Segment{
			Text:     "PAUSED " + common.Count(m.NewCount()) + " new (G resume)",
			Style:    st.Warn,
			Priority: 0,
		})
	}
	if m.filterExpr != "" {
		segs = append(segs, widget.Segment{Text: "filter: " + common.Sanitize(m.filterExpr), Style: st.StatusInfo, Priority: 1})
	}
	if c, ok := m.counter.value(); ok {
		text := common.Count(c.total) + " decisions"
		if m.filterExpr != "" {
			text = common.Count(c.matching) + " of " + common.Count(c.total)
		}
		segs = append(segs, widget.Segment{Text: text, Style: st.Bold, Priority: 2})
	}
	switch {
	case m.hist.olderReq.Busy() || m.hist.newerReq.Busy():
		segs = append(segs, widget.Segment{Text: "reading history…", Style: st.Dim, Priority: 3})
	case !m.follow && m.hist.atOldest && m.cursor == m.rows.First():
		segs = append(segs, widget.Segment{Text: "oldest row", Style: st.Dim, Priority: 3})
	}
	if m.haveHealth {
		segs = append(segs, widget.Segment{
			Text:     "Safe-e p50 " + common.Latency(m.health.LatencyP50) + " p99 " + common.Latency(m.health.LatencyP99),
			Style:    st.StatusText,
			Priority: 4,
		})
		errs := common.ErrorTotal(m.health)
		es := st.StatusText
		if errs > 0 {
			es = st.StatusErr
		}
		segs = append(segs, widget.Segment{Text: "errors " + common.Count(errs), Style: es, Priority: 4})
	}
	segs = append(segs, widget.Segment{Text: "last event " + common.Age(now, m.lastEvent), Style: st.StatusText, Priority: 3})
	if m.missed > 0 {
		segs = append(segs, widget.Segment{Text: "missed " + common.Count(uint64(m.missed)) + " (reloaded)", Style: st.StatusWarn, Priority: 4})
	}
	if m.loadErr != nil && m.rows.Len() > 0 {
		segs = append(segs, widget.Segment{Text: "reload failed", Style: st.StatusErr, Priority: 1})
	}
	return widget.StatusLine(m.width, st.Dim, segs...)
}
