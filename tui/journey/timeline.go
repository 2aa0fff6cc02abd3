package journey

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// timelineChrome is the timeline's lines besides its rows and the
// identity header: the title, the sparkline line and the table header.
const timelineChrome = 3

// idHeaderMinHeight is the least height that shows the identity header
// (one line per kind) above a timeline.
const idHeaderMinHeight = 16

// Timeline columns, in display order.
const (
	tcMark = iota
	tcTime
	tcGap
	tcEvent
	tcIP
	tcCountry
	tcDevice
	tcRisk
	tcATO
	tcBot
	tcSignals
	tcAction
	tcChain
	numTLCols
)

// chainMark flags the rows of a takeover chain in the narrow first column.
const chainMark = "!"

// changedMark prefixes a value that differs from the previous event's.
const changedMark = "+"

func newTLState() tlState {
	cols := [numTLCols]widget.Column{
		tcMark:    {Title: " ", Min: 1, Max: 1, Priority: 0},
		tcTime:    {Title: "TIME", Min: 14, Max: 14, Priority: 0, Right: true},
		tcGap:     {Title: "GAP", Min: 7, Max: 7, Priority: 3, Right: true},
		tcEvent:   {Title: "EVENT", Min: 10, Pref: 16, Max: 24, Priority: 1},
		tcIP:      {Title: "IP", Min: 16, Max: 40, Priority: 4},
		tcCountry: {Title: "CC", Min: 3, Max: 4, Priority: 6},
		tcDevice:  {Title: "DEVICE", Min: 12, Pref: 22, Max: 26, Priority: 5},
		tcRisk:    {Title: "RISK", Min: 4, Max: 4, Priority: 2, Right: true},
		tcATO:     {Title: "ATO", Min: 3, Max: 4, Priority: 7, Right: true},
		tcBot:     {Title: "BOT", Min: 3, Max: 4, Priority: 9, Right: true},
		tcSignals: {Title: "SIGNALS", Min: 12, Pref: 24, Max: 48, Priority: 10},
		tcAction:  {Title: "ACTION", Min: 9, Max: 9, Priority: 0},
		tcChain:   {Title: "TAKEOVER", Min: 16, Max: 16, Priority: 8},
	}
	idCols := [numIDCols]widget.Column{
		icKind:  {Title: "KIND", Min: 7, Max: 7, Priority: 0},
		icValue: {Title: "VALUE", Min: 12, Pref: 30, Max: 60, Priority: 0},
		icCount: {Title: "EVENTS", Min: 6, Max: 8, Priority: 1, Right: true},
		icFirst: {Title: "FIRST SEEN", Min: 14, Max: 14, Priority: 2},
		icLast:  {Title: "LAST SEEN", Min: 14, Max: 14, Priority: 2},
	}
	return tlState{
		table:   widget.NewTable(cols[:]...),
		idTable: widget.NewTable(idCols[:]...),
		req:     common.Request[*timeline]{View: common.ViewJourneys, Cancel: true},
	}
}

// Identity table columns (I lists every value the user used).
const (
	icKind = iota
	icValue
	icCount
	icFirst
	icLast
	numIDCols
)

func (t *tlState) openUser(user string) {
	if t.user != user {
		t.data, t.err, t.cursor, t.top, t.oldestFirst = nil, nil, 0, 0, false
		t.idsOpen, t.idCursor, t.idTop = false, 0, 0
	}
	t.open, t.user = true, user
}

// loadTimeline reads the shown user's newest events and derives the rows
// in the command, so a long journey costs Update nothing.
func (m *Model) loadTimeline() tea.Cmd {
	t := &m.tl
	m.refresh.Started(m.c.Clock())
	user, data := t.user, m.c.Data
	return t.req.Go(m.c, func(ctx context.Context) (*timeline, error) {
		// The links for the title are read beside the journey; a
		// journey without them shows no links.
		links := make(chan *decision.Links, 1)
		go func() {
			ls, err := data.Links(ctx, api.LinksQuery{User: user})
			if err != nil {
				links <- nil
				return
			}
			links <- &ls
		}()
		ds, err := data.Journey(ctx, api.JourneyQuery{User: user, Limit: EventsLimit, Brief: true})
		ls := <-links
		if err != nil {
			return nil, fmt.Errorf("journey of %q: %w", user, err)
		}
		tl := buildTimeline(ds)
		tl.links = ls
		return tl, nil
	})
}

// sharedText sums up what the user shares with others for the title:
// "shares IP with 12 users (3 denied) · device with 2 users"; "" when
// nothing. (Email domains are left out: free-mail ones link everyone.)
func sharedText(ls *decision.Links) string {
	var parts []string
	for _, k := range []struct {
		kind decision.LinkKind
		name string
	}{{decision.LinkIP, "IP"}, {decision.LinkUA, "device"}} {
		s := ls.SharedBy(k.kind)
		if s.Users == 0 {
			continue
		}
		p := k.name + " with " + common.Count(uint64(s.Users))
		if s.Supernode {
			p += "+"
		}
		p += " users"
		if s.Users == 1 {
			p = k.name + " with 1 user"
		}
		if s.Denied > 0 {
			p += " (" + common.Count(uint64(s.Denied)) + " denied)"
		}
		if len(parts) == 0 {
			p = "shares " + p
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " · ")
}

// onTimeline takes an answer, keeping the selected event selected.
func (t *tlState) onTimeline(msg common.Answer[*timeline]) {
	if !t.req.Take(msg) {
		return
	}
	t.err = msg.Err
	if msg.Err != nil {
		return
	}
	prev := ""
	if r := t.selected(); r != nil {
		prev = r.d.ID
	}
	t.data = msg.Value
	for p := range t.data.rows {
		if t.row(p).d.ID == prev {
			t.cursor = p
			return
		}
	}
	t.cursor = min(t.cursor, max(len(t.data.rows)-1, 0))
}

// count is the number of events loaded.
func (t *tlState) count() int {
	if t.data == nil {
		return 0
	}
	return len(t.data.rows)
}

// row returns the event at display position p.
func (t *tlState) row(p int) *row {
	n := t.count()
	if p < 0 || p >= n {
		return nil
	}
	if t.oldestFirst {
		return &t.data.rows[p]
	}
	return &t.data.rows[n-1-p]
}

func (t *tlState) selected() *row { return t.row(t.cursor) }

// toggleOrder flips newest/oldest first, keeping the same event selected.
func (t *tlState) toggleOrder(n int) {
	t.oldestFirst = !t.oldestFirst
	if c := t.count(); c > 0 {
		t.cursor = c - 1 - t.cursor
	}
	t.scroll(n)
}

func (t *tlState) move(msg tea.KeyPressMsg, k *common.KeyMap, n int) {
	t.cursor = moveCursor(msg, k, t.cursor, t.count(), n)
	t.scroll(n)
}

func (t *tlState) scroll(n int) {
	t.top = scrollTop(t.cursor, t.top, t.count(), n)
}

// tlRows adapts a timeline to widget.RowSource in display order; top is
// the first row on screen, which always shows its date.
type tlRows struct {
	t      *tlState
	top    int
	loc    *time.Location
	styles *common.Styles
}

// Time formats of the timeline: to the second, with the date where it
// changes from the row above.
const (
	clockLayout = "15:04:05"
	dateLayout  = "01-02 15:04:05"
)

// Cells writes an event's columns, sanitized; changed values carry
// changedMark, chain rows chainMark.
func (s tlRows) Cells(i int, dst []string) {
	r := s.t.row(i)
	if r == nil {
		clear(dst)
		return
	}
	d := r.d
	dst[tcMark] = ""
	if r.step != decision.StepNone {
		dst[tcMark] = chainMark
	}
	at := d.EventTime.In(s.loc)
	dst[tcTime] = at.Format(clockLayout)
	if p := s.t.row(i - 1); i == s.top || p == nil || !sameDay(p.d.EventTime.In(s.loc), at) {
		dst[tcTime] = at.Format(dateLayout)
	}
	dst[tcGap] = "-"
	if !r.first {
		dst[tcGap] = Gap(r.gap)
	}
	dst[tcEvent] = common.TypeStatus(d)
	dst[tcIP] = marked(common.Sanitize(d.IP), r.newIP)
	dst[tcCountry] = marked(common.Sanitize(d.Country), r.newCountry)
	dst[tcDevice] = marked(r.dev.String(), r.newDevice)
	if d.Action == decision.ActionError {
		dst[tcRisk], dst[tcATO], dst[tcBot] = "-", "-", "-"
	} else {
		dst[tcRisk] = common.Score(d.Risk)
		dst[tcATO] = common.Score(d.AccountTakeover)
		dst[tcBot] = common.Score(d.Bot)
	}
	dst[tcSignals] = common.Sanitize(strings.Join(d.Signals, ","))
	dst[tcAction] = common.ActionLabel(d.Action)
	dst[tcChain] = r.step.String()
}

// CellStyle colours the action, the chain and the changed values.
func (s tlRows) CellStyle(i, col int) *lipgloss.Style {
	r := s.t.row(i)
	if r == nil {
		return nil
	}
	st := s.styles
	switch col {
	case tcAction:
		if ai := r.d.Action.Index(); ai >= 0 {
			return &st.Action[ai]
		}
	case tcMark, tcChain:
		if r.step != decision.StepNone {
			return &st.Bad
		}
	case tcIP:
		if r.newIP {
			return &st.Warn
		}
	case tcCountry:
		if r.newCountry {
			return &st.Warn
		}
	case tcDevice:
		if r.newDevice {
			return &st.Warn
		}
	}
	return nil
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

func marked(s string, changed bool) string {
	if changed && s != "" {
		return changedMark + s
	}
	return s
}

// Gap formats the time between two events in at most 7 cells: "+45s",
// "+1m30s", "+2h05m", "+3d04h", "+420d".
func Gap(d time.Duration) string {
	if d < 0 {
		return "-" + Gap(-d)[1:]
	}
	s := int64(d / time.Second)
	two := func(n int64) string {
		if n < 10 {
			return "0" + strconv.FormatInt(n, 10)
		}
		return strconv.FormatInt(n, 10)
	}
	switch {
	case s < 60:
		return "+" + strconv.FormatInt(s, 10) + "s"
	case s < 3600:
		return "+" + strconv.FormatInt(s/60, 10) + "m" + two(s%60) + "s"
	case s < 86400:
		return "+" + strconv.FormatInt(s/3600, 10) + "h" + two(s%3600/60) + "m"
	case s < 100*86400:
		return "+" + strconv.FormatInt(s/86400, 10) + "d" + two(s%86400/3600) + "h"
	}
	return "+" + strconv.FormatInt(s/86400, 10) + "d"
}

// timelineView renders the title, the identity header (when it fits), the
// sparkline line with the legend, the table header and the visible
// events; or, after I, every identity the user used.
func (m Model) timelineView() []string {
	st := m.c.Styles
	t := &m.tl
	out := []string{m.timelineTitle()}
	if t.idsOpen && t.data != nil {
		return append(out, m.identityTable()...)
	}
	out = append(out, m.identityHeader()...)
	out = append(out, m.sparkLine(), t.table.Header(st.TableHeader))
	switch {
	case t.data == nil && t.err == nil:
		out = append(out, st.Dim.Render(common.Truncate("loading journey…", m.width)))
	case t.data == nil:
		out = append(out, st.Bad.Render(common.Truncate(common.Sanitize(t.err.Error()), m.width)))
	case t.count() == 0:
		out = append(out, st.Dim.Render(common.Truncate("no stored events for "+common.Sanitize(t.user), m.width)))
	default:
		n := min(m.timelineRows(), t.count()-t.top)
		if n > 0 {
			src := tlRows{t: t, top: t.top, loc: m.c.Clock().Location(), styles: st}
			out = append(out, t.table.Render(src, t.top, n, t.cursor, st))
		}
	}
	return out
}

// timelineTitle names the user and sums up the journey.
func (m Model) timelineTitle() string {
	st := m.c.Styles
	t := &m.tl
	if m.prompt.IsOpen() {
		return m.prompt.View(m.width, st)
	}
	segs := []widget.Segment{{Text: "User " + common.Sanitize(t.user), Style: st.Title, Priority: 0}}
	if d := t.data; d != nil && len(d.rows) > 0 {
		newest := d.rows[len(d.rows)-1].d
		if newest.Label != "" {
			ls := st.Good
			if newest.Label == decision.LabelFraud {
				ls = st.Bad
			}
			segs = append(segs, widget.Segment{Text: "label " + common.LabelMark(newest.Label), Style: ls, Priority: 1})
		}
		if newest.Email != "" {
			segs = append(segs, widget.Segment{Text: common.Sanitize(newest.Email), Style: st.Bold, Priority: 4})
		}
		events := common.Count(uint64(len(d.rows))) + " events"
		if len(d.rows) >= EventsLimit {
			events = "newest " + events
		}
		segs = append(segs,
			widget.Segment{Text: events, Style: st.Bold, Priority: 1},
			widget.Segment{Text: "max risk " + common.Score(d.maxRisk), Style: st.Bold, Priority: 3},
			widget.Segment{Text: common.Count(uint64(d.denies)) + " denied", Style: st.Action[decision.ActionDeny.Index()], Priority: 3},
			widget.Segment{Text: "first " + common.Age(m.c.Clock(), d.rows[0].d.EventTime), Style: st.Dim, Priority: 5},
		)
	}
	if t.data != nil && t.data.links != nil {
		if s := sharedText(t.data.links); s != "" {
			segs = append(segs, widget.Segment{Text: s, Style: st.Warn, Priority: 5})
		}
	}
	order := "newest first"
	if t.oldestFirst {
		order = "oldest first"
	}
	segs = append(segs, widget.Segment{Text: order, Style: st.Dim, Priority: 2})
	if t.req.Busy() {
		segs = append(segs, widget.Segment{Text: "loading…", Style: st.Dim, Priority: 6})
	}
	if t.err != nil && t.data != nil {
		segs = append(segs, widget.Segment{Text: "refresh failed: " + common.Sanitize(t.err.Error()), Style: st.Bad, Priority: 2})
	}
	return widget.StatusLine(m.width, st.Dim, segs...)
}

// sparkLine draws the risk across the journey, oldest to newest, after a
// note when a takeover chain is marked, and the legend of the timeline's
// marks when there is room.
func (m Model) sparkLine() string {
	st := m.c.Styles
	d := m.tl.data
	if d == nil || len(d.rows) == 0 {
		return ""
	}
	const (
		label    = "risk "
		suffix   = " oldest→newest"
		minSpark = 8
	)
	var b strings.Builder
	room := m.width
	if d.chain > 0 {
		note := chainMark + " account takeover chain: " + strconv.Itoa(d.chain) + " events"
		if room < len(note)+2+len(label)+minSpark {
			return st.Bad.Render(common.Truncate(note, m.width))
		}
		b.WriteString(st.Bad.Render(note) + "  ")
		room -= len(note) + 2
	}
	room -= len(label)
	legend := ""
	for _, l := range legends {
		if room-ansi.StringWidth(l) >= minSpark {
			legend = l
			room -= ansi.StringWidth(l)
			break
		}
	}
	withSuffix := room-ansi.StringWidth(suffix) >= minSpark
	if withSuffix {
		room -= ansi.StringWidth(suffix)
	}
	if room <= 0 {
		return common.Clip(b.String(), m.width)
	}
	b.WriteString(st.Label.Render(label))
	b.WriteString(st.Spark[common.SeriesEvents].Render(widget.Sparkline(riskSeries(d.rows, room))))
	if withSuffix {
		b.WriteString(st.Dim.Render(suffix))
	}
	b.WriteString(st.Dim.Render(legend))
	return common.Clip(b.String(), m.width)
}

// legends explain the marks of the timeline's cells, the longest first:
// the sparkline line shows the first that fits.
var legends = []string{
	"  " + changedMark + " differs from the event before · " + chainMark + " takeover chain step",
	"  " + changedMark + " changed · " + chainMark + " takeover",
}

// riskSeries is the risk of each event, oldest first, folded to at most
// width points by taking the highest of each run (so a spike is never
// averaged away). Error decisions count as 0.
func riskSeries(rows []row, width int) []uint64 {
	n := len(rows)
	if n == 0 || width <= 0 {
		return nil
	}
	points := min(n, width)
	out := make([]uint64, points)
	for i := range rows {
		p := i * points / n
		if r := rows[i].d; r.Action != decision.ActionError {
			out[p] = max(out[p], uint64(r.Risk+0.5))
		}
	}
	return out
}
