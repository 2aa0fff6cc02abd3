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
	if m.bar.IsOpen() {
		barH = widget.FilterBarHeight
	}
	fixed := 1 + barH + 1 // info line, filter bar, table header
	full := headerLines(m.width)
	m.fullHeader = m.height-full-fixed >= max(5, m.height/2)
	if m.fullHeader {
		m.tableH = m.height - full - fixed
	} else {
		m.tableH = m.height - 1 - fixed
	}
	m.tableH = max(m.tableH, 0)
	m.snap()
}

// View renders the view in exactly its height, each line within its width.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	now := m.c.Clock()
	st := m.c.Styles
	parts := make([]string, 0, 6)
	parts = append(parts, m.rateHeader(now, m.fullHeader), m.infoLine(now))
	if m.bar.IsOpen() {
		parts = append(parts, m.bar.View(m.width, st))
	}
	parts = append(parts, m.table.Header(st.TableHeader))
	if m.ring.Len() == 0 {
		parts = append(parts, st.Dim.Render(common.Truncate(m.emptyText(), m.width)))
	} else if m.tableH > 0 {
		n := int(min(uint64(m.tableH), m.ring.End()-m.top))
		src := rows{ring: m.ring, styles: st, loc: now.Location()}
		parts = append(parts, m.table.Render(src, int(m.top), n, int(m.cursor), st))
	}
	return common.FitBlock(strings.Join(parts, "\n"), m.width, m.height)
}

func (m Model) emptyText() string {
	switch {
	case m.loading:
		return "loading…"
	case m.loadErr != nil:
		return "could not load decisions: " + common.Sanitize(m.loadErr.Error())
	case m.filterExpr != "":
		return "no decisions match " + common.Sanitize(m.filterExpr) + " yet"
	}
	return "no decisions yet: waiting for events"
}

// infoLine shows the display state, the filter, Safe-e latency, errors and
// the age of the last event, dropping the least important to fit.
func (m Model) infoLine(now time.Time) string {
	st := m.c.Styles
	segs := make([]widget.Segment, 0, 7)
	if m.follow {
		segs = append(segs, widget.Segment{Text: "● following", Style: st.Good, Priority: 2})
	} else {
		segs = append(segs, widget.Segment{
			Text:     "PAUSED " + common.Count(m.NewCount()) + " new (G resume)",
			Style:    st.Warn,
			Priority: 0,
		})
	}
	if m.filterExpr != "" {
		segs = append(segs, widget.Segment{Text: "filter: " + common.Sanitize(m.filterExpr), Style: st.StatusInfo, Priority: 1})
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
	if m.loadErr != nil && m.ring.Len() > 0 {
		segs = append(segs, widget.Segment{Text: "reload failed", Style: st.StatusErr, Priority: 1})
	}
	return widget.StatusLine(m.width, st.Dim, segs...)
}
