package health

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

const labelWidth = 11

// errorKinds are the kinds api.Health names, shown in this order (even at
// zero) before any other kind.
var errorKinds = []string{"unauthorized", "bad_event", "retryable", "timeout", "network"}

// item is one styled piece of a flowing line.
type item struct {
	text  string
	style lipgloss.Style
}

func (m Model) render() []string {
	st := m.c.Styles
	var out []string
	switch {
	case !m.have && m.err == nil:
		return []string{st.Dim.Render(common.Truncate("waiting for the collector…", m.width))}
	case !m.have:
		return []string{st.Bad.Render(common.Truncate("collector unreachable: "+common.Sanitize(m.err.Error()), m.width))}
	}
	h := m.h
	flow := func(label string, items ...item) {
		out = append(out, flowLines(label, items, m.width, st)...)
	}

	pipe := item{text: orUnknown(h.Pipeline), style: st.Good}
	switch h.Pipeline {
	case api.PipelinePaused, api.PipelineStalled:
		pipe.style = st.Bad
	case api.PipelineStopped, "":
		pipe.style = st.Warn
	}
	mode := item{text: "mode " + orUnknown(h.Mode), style: st.Bold}
	if h.Mode == api.ModeEmulator {
		mode.style = st.Emulator
	}
	reach := item{text: "reachable", style: st.Good}
	if !h.SafeeReachable {
		reach = item{text: "UNREACHABLE", style: st.Bad}
	}
	flow("Pipeline", pipe, mode, item{text: "Safe-e " + common.Sanitize(h.SafeeURL), style: lipgloss.Style{}}, reach)
	if Halted(h) {
		flow("Paused", item{text: PauseText(h), style: st.Bad})
	}
	upd := item{text: "updated " + common.Age(m.c.Clock(), m.updated), style: st.Dim}
	if m.err != nil {
		upd = item{text: "refresh failed: " + common.Sanitize(m.err.Error()), style: st.Bad}
	}
	flow("Status", upd, item{text: "last event " + common.Age(m.c.Clock(), h.LastEvent), style: st.Dim})

	breaker := item{text: "breaker " + orUnknown(h.Breaker), style: st.Good}
	switch h.Breaker {
	case api.BreakerOpen:
		breaker.style = st.Bad
	case api.BreakerHalfOpen:
		breaker.style = st.Warn
	}
	flow("Queue",
		item{text: "inbox " + common.Count(h.Inbox)},
		item{text: "in flight " + strconv.Itoa(h.InFlight)},
		item{text: "retries " + common.Count(h.Retries)},
		breaker)

	var errs []item
	for _, k := range errorKinds {
		errs = append(errs, countItem(k, h.Errors[k], st))
	}
	var others []string
	for k := range h.Errors {
		if !slices.Contains(errorKinds, k) {
			others = append(others, k)
		}
	}
	slices.Sort(others)
	for _, k := range others {
		errs = append(errs, countItem(common.Sanitize(k), h.Errors[k], st))
	}
	// Shown once they happen: failed store commits (retried) and secrets
	// Safe-e echoed that were redacted.
	if h.CommitFailures > 0 {
		errs = append(errs, countItem("store commit failures", h.CommitFailures, st))
	}
	if h.Redactions > 0 {
		errs = append(errs, countItem("secrets redacted", h.Redactions, st))
	}
	flow("Errors", errs...)

	spark := max(min((m.width-labelWidth)/2-16, Window), 0)
	p50, p99 := item{text: "p50 " + common.Latency(h.LatencyP50)}, item{text: "p99 " + common.Latency(h.LatencyP99)}
	if spark >= 8 {
		now := m.c.Clock()
		p50.text += " " + widget.Sparkline(m.latency.series(now, spark, false, nil))
		p99.text += " " + widget.Sparkline(m.latency.series(now, spark, true, nil))
	}
	flow("Latency", p50, p99, item{text: "highest each minute, since the dashboard started", style: st.Dim})
	if sv := m.store; sv != nil {
		flow("Throughput", m.throughput(sv, spark)...)
	}
	codes := make([]int, 0, len(h.StatusCodes))
	for c := range h.StatusCodes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var resp []item
	for _, c := range codes {
		it := item{text: strconv.Itoa(c) + " ×" + common.Count(h.StatusCodes[c])}
		switch {
		case c >= 500 || c == 401 || c == 403:
			it.style = st.Bad
		case c >= 400:
			it.style = st.Warn
		}
		resp = append(resp, it)
	}
	if len(resp) == 0 {
		resp = append(resp, item{text: "none yet", style: st.Dim})
	}
	flow("Responses", resp...)

	store := []item{}
	if h.StorePath != "" {
		store = append(store, item{text: common.Sanitize(h.StorePath), style: st.Bold})
	}
	store = append(store,
		item{text: common.Bytes(h.StoreSize)},
		item{text: common.Count(h.Decisions) + " decisions"},
		item{text: common.Count(h.Rejected) + " rejected"})
	flow("Store", store...)
	if s := m.store; s != nil {
		var by []item
		for _, a := range decision.Actions {
			by = append(by, item{text: string(a) + " " + common.Count(s.totals.ByAction[a]), style: st.ActionStyle(a)})
		}
		if !s.totals.First.IsZero() {
			by = append(by, item{text: "since " + s.totals.First.In(m.c.Clock().Location()).Format("2006-01-02 15:04"), style: st.Dim})
		}
		flow("Stored", by...)
	}

	if inForce, failed := common.ShadowLines(h.Shadow, m.c.Clock()); inForce != "" {
		shadow := []item{{text: inForce}}
		if failed != "" {
			shadow = append(shadow, item{text: failed, style: st.Bad})
		}
		flow("Shadow", shadow...)
	}

	if h.AlertError != "" {
		flow("Alerts", item{text: "evaluation failed: " + common.Sanitize(h.AlertError), style: st.Bad})
	}
	for _, n := range h.Notifiers {
		flow("Notifier", notifierItems(n, m.c, st)...)
	}

	if len(h.Rejects) > 0 {
		out = append(out, "", st.Title.Render(common.Truncate("Rejected input, newest first (from the store)", m.width)))
		loc := m.c.Clock().Location()
		for _, r := range h.Rejects {
			line := "  " + r.Time.In(loc).Format("01-02 15:04:05") + " " + common.Sanitize(r.Source) + " " +
				common.Sanitize(r.Position) + ": " + common.Sanitize(r.Reason)
			out = append(out, st.Warn.Render(common.Truncate(line, m.width)))
		}
	}

	out = append(out, "", st.Title.Render(common.Truncate("Sources (read and rejected since the collector started)", m.width)))
	if len(h.Sources) == 0 {
		return append(out, st.Dim.Render(common.Truncate("  no sources configured", m.width)))
	}
	out = append(out, "  "+m.sources.Header(st.TableHeader))
	src := sourceRows{sources: h.Sources, styles: st}
	for i, s := range h.Sources {
		out = append(out, "  "+m.sources.Render(src, i, 1, -1, st))
		out = append(out, m.partitions(s.Partitions)...)
		if len(h.Rejects) > 0 {
			continue // the store's list above says it all, with times
		}
		for _, r := range s.LastRejects {
			out = append(out, st.Dim.Render(common.Truncate("    rejected: "+common.Sanitize(r), m.width)))
		}
	}
	return out
}

// partitionsShown bounds the lines of a Kafka source's partitions; the
// rest are summed up in one line.
const partitionsShown = 8

// partitions are a Kafka source's lines under its row: each partition's
// stored offset, end and lag, the ones furthest behind first.
func (m Model) partitions(ps []api.Partition) []string {
	if len(ps) == 0 {
		return nil
	}
	st := m.c.Styles
	ps = slices.Clone(ps)
	slices.SortStableFunc(ps, func(a, b api.Partition) int { return cmp.Compare(b.Lag, a.Lag) })
	var out []string
	for _, p := range ps[:min(len(ps), partitionsShown)] {
		end := "end unknown"
		if p.HighWatermark >= 0 {
			end = "end " + common.Count(uint64(p.HighWatermark))
		}
		line := fmt.Sprintf("    partition %d: offset %s · %s · lag %s", p.Partition, common.Count(uint64(max(p.Offset, 0))), end, common.Count(uint64(max(p.Lag, 0))))
		style := st.Dim
		if p.Lag > 0 {
			style = st.Warn
		}
		out = append(out, style.Render(common.Truncate(line, m.width)))
	}
	if rest := ps[min(len(ps), partitionsShown):]; len(rest) > 0 {
		var lag int64
		for _, p := range rest {
			lag += max(p.Lag, 0)
		}
		line := fmt.Sprintf("    %d more partitions, lag %s", len(rest), common.Count(uint64(lag)))
		out = append(out, st.Dim.Render(common.Truncate(line, m.width)))
	}
	return out
}

// notifierItems are one alert notifier's target and counters; one that
// failed shows its last error.
func notifierItems(n api.NotifierHealth, c *common.Common, st *common.Styles) []item {
	target := item{text: common.Sanitize(n.Target), style: st.Good}
	if n.Failed > 0 || n.Dropped > 0 || (n.LastError != "" && n.LastErrorAt.After(n.LastSuccess)) {
		target.style = st.Bad
	}
	items := []item{target, {text: "sent " + common.Count(n.Sent)}}
	if n.Queued > 0 {
		items = append(items, item{text: "queued " + strconv.Itoa(n.Queued), style: st.Warn})
	}
	for _, x := range []struct {
		name string
		n    uint64
	}{{"retries", n.Retries}, {"failed", n.Failed}, {"dropped", n.Dropped}} {
		if x.n > 0 {
			items = append(items, countItem(x.name, x.n, st))
		}
	}
	if n.LastError != "" {
		items = append(items, item{text: "last error " + common.Age(c.Clock(), n.LastErrorAt) + ": " + common.Sanitize(n.LastError), style: st.Bad})
	}
	return items
}

// throughput is the decisions per minute over the last Window minutes of
// event time, from the store: this minute's so far, a sparkline, and the
// busiest minute.
func (m Model) throughput(s *stored, spark int) []item {
	st := m.c.Styles
	var vals []uint64
	var peak uint64
	for _, mc := range s.minutes {
		vals = append(vals, mc.Total())
		peak = max(peak, mc.Total())
	}
	var now uint64
	if len(vals) > 0 {
		now = vals[len(vals)-1]
	}
	text := common.Count(now) + "/min this minute"
	if spark >= 8 && len(vals) > 0 {
		text += " " + widget.Sparkline(vals[max(len(vals)-spark, 0):])
	}
	return []item{{text: text}, {text: "busiest " + common.Count(peak) + "/min in the last " + strconv.Itoa(Window) + "m", style: st.Dim}}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return common.Sanitize(s)
}

func countItem(kind string, n uint64, st *common.Styles) item {
	it := item{text: kind + " " + common.Count(n), style: st.Dim}
	if n > 0 {
		it.style = st.Bad
	}
	return it
}

// flowLines writes a label and its items joined by " · ", continuing on
// indented lines when the width runs out; an item wider than a line is cut.
func flowLines(label string, items []item, width int, st *common.Styles) []string {
	const sep = " · "
	indent := labelWidth
	if width < labelWidth+10 {
		indent = 0
	}
	var lines []string
	var b strings.Builder
	col := 0
	start := func(first bool) {
		if indent == 0 {
			if first {
				lines = append(lines, st.Label.Render(common.Truncate(label, width)))
			}
			return
		}
		if first {
			b.WriteString(st.Label.Render(common.Fit(label, indent, false)))
		} else {
			b.WriteString(strings.Repeat(" ", indent))
		}
		col = indent
	}
	flush := func() {
		lines = append(lines, b.String())
		b.Reset()
		col = 0
	}
	start(true)
	onLine := 0
	for _, it := range items {
		text := it.text
		w := ansi.StringWidth(text)
		if onLine > 0 && col+len(sep)+w > width {
			flush()
			start(false)
			onLine = 0
		}
		if onLine > 0 {
			b.WriteString(st.Dim.Render(sep))
			col += len(sep)
		}
		if col+w > width {
			text = common.Truncate(text, width-col)
			w = ansi.StringWidth(text)
		}
		b.WriteString(it.style.Render(text))
		col += w
		onLine++
	}
	if b.Len() > 0 || onLine > 0 {
		flush()
	}
	return lines
}

// Source table columns.
const (
	colName = iota
	colState
	colRead
	colRejected
	colLag
	numCols
)

func newSourceTable() *widget.Table {
	cols := [numCols]widget.Column{
		colName:     {Title: "SOURCE", Min: 12, Pref: 40, Max: 60, Priority: 0},
		colState:    {Title: "STATE", Min: 9, Max: 12, Priority: 1},
		colRead:     {Title: "READ", Min: 7, Max: 14, Priority: 2, Right: true},
		colRejected: {Title: "REJECTED", Min: 8, Max: 10, Priority: 3, Right: true},
		colLag:      {Title: "LAG", Min: 9, Max: 12, Priority: 4, Right: true},
	}
	return widget.NewTable(cols[:]...)
}

type sourceRows struct {
	sources []api.Source
	styles  *common.Styles
}

func (r sourceRows) Cells(i int, dst []string) {
	s := r.sources[i]
	dst[colName] = common.Sanitize(s.Name)
	dst[colState] = common.Sanitize(s.State)
	dst[colRead] = common.Count(s.LinesRead)
	dst[colRejected] = common.Count(s.Rejected)
	dst[colLag] = common.Bytes(max(s.LagBytes, 0))
	if len(s.Partitions) > 0 {
		var lag int64
		for _, p := range s.Partitions {
			lag += max(p.Lag, 0)
		}
		dst[colLag] = common.Count(uint64(lag)) + " rec"
	}
}

func (r sourceRows) CellStyle(i, col int) *lipgloss.Style {
	if col == colRejected && r.sources[i].Rejected > 0 {
		return &r.styles.Warn
	}
	return nil
}
