package detail

import (
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// labelWidth is the width of the field names on the left.
const labelWidth = 10

// maxBar is the widest score bar.
const maxBar = 40

// render lays the decision out as lines of at most width cells.
// b holds the pretty-printed request and response, nil while they are
// being formatted.
func render(d *decision.Decision, b *bodies, width int, c *common.Common) []string {
	if width <= 0 {
		return []string{}
	}
	r := renderer{st: c.Styles, width: width, loc: c.Clock().Location(), th: c.Thresholds}
	r.fields(d)
	r.blank()
	r.scores(d)
	r.blank()
	r.signals(d)
	r.blank()
	if b == nil {
		r.heading("Request and response")
		r.lines = append(r.lines, r.st.Dim.Render(common.Truncate("  formatting…", r.width)))
		return r.lines
	}
	if b.err != "" {
		r.heading("Request and response")
		r.wrapped(common.Sanitize("could not be read: "+b.err), r.width, "  ", &r.st.Bad)
		return r.lines
	}
	r.json("Request", d.Request, b.request, b.requestOK)
	r.blank()
	r.json("Response", d.Response, b.response, b.respOK)
	return r.lines
}

type renderer struct {
	st    *common.Styles
	width int
	loc   *time.Location
	th    *decision.Thresholds
	lines []string
}

func (r *renderer) blank() { r.lines = append(r.lines, "") }

func (r *renderer) heading(s string) {
	r.lines = append(r.lines, r.st.Title.Render(common.Truncate(s, r.width)))
}

// kv writes a labelled value, wrapping a long value under itself.
func (r *renderer) kv(label, value string, vs *lipgloss.Style) {
	valueW := r.width - labelWidth
	if valueW < 8 {
		r.lines = append(r.lines, r.st.Label.Render(common.Truncate(label, r.width)))
		r.wrapped(value, r.width, "", vs)
		return
	}
	chunks := strings.Split(ansi.Wrap(value, valueW, ""), "\n")
	for i, ch := range chunks {
		l := strings.Repeat(" ", labelWidth)
		if i == 0 {
			l = r.st.Label.Render(common.Fit(label, labelWidth, false))
		}
		if vs != nil {
			ch = vs.Render(ch)
		}
		r.lines = append(r.lines, l+ch)
	}
}

// wrapped writes plain text cut into lines of width cells after indent.
func (r *renderer) wrapped(text string, width int, indent string, vs *lipgloss.Style) {
	w := max(width-len(indent), 1)
	for _, ch := range strings.Split(ansi.Hardwrap(text, w, true), "\n") {
		if vs != nil {
			ch = vs.Render(ch)
		}
		r.lines = append(r.lines, common.Clip(indent+ch, r.width))
	}
}

func (r *renderer) fields(d *decision.Decision) {
	s := common.Sanitize
	ev := strings.TrimPrefix(s(d.Type), "$")
	if d.Status != "" {
		ev += " / " + strings.TrimPrefix(s(d.Status), "$")
	}
	r.kv("Event", ev, &r.st.Bold)
	// The event time is when it happened; received is when the collector
	// took it, shown when it differs (a backfill, a delayed log).
	when := d.EventTime.In(r.loc).Format("2006-01-02 15:04:05.000 MST")
	if !d.ReceivedAt.IsZero() && !d.ReceivedAt.Equal(d.EventTime) {
		when += "   received " + d.ReceivedAt.In(r.loc).Format("2006-01-02 15:04:05.000")
	}
	if d.ClockSkew {
		when += "   (its timestamp was more than 5m ahead of the clock; see the request)"
	}
	r.kv("Time", when, nil)
	user := s(d.UserID)
	if d.Email != "" {
		user += "   " + s(d.Email)
	}
	r.kv("User", user, nil)
	ip := s(d.IP)
	if d.Country != "" {
		ip += "   country " + s(d.Country)
	}
	r.kv("IP", ip, nil)
	if d.UserAgent != "" {
		r.kv("Device", s(d.UserAgent), nil)
	}
	r.kv("Source", s(d.Source)+"   event "+s(d.EventID), nil)

	act := r.st.ActionStyle(d.Action)
	line := common.ActionLabel(d.Action)
	if d.Policy != "" {
		line += "   policy " + s(d.Policy)
	}
	if d.HTTPStatus != 0 {
		line += "   HTTP " + itoa(d.HTTPStatus)
	}
	if d.Latency > 0 {
		line += "   latency " + common.Latency(d.Latency)
	}
	if d.Attempts > 1 {
		line += "   attempts " + itoa(d.Attempts)
	}
	r.kv("Action", line, &act)
	if d.Label != "" {
		lbl := r.st.Good
		if d.Label == decision.LabelFraud {
			lbl = r.st.Bad
		}
		r.kv("Label", common.LabelMark(d.Label), &lbl)
	}
	if d.Error != "" {
		r.kv("Error", s(d.Error), &r.st.Bad)
	}
}

func (r *renderer) scores(d *decision.Decision) {
	r.heading("Scores")
	if d.Action == decision.ActionError {
		r.lines = append(r.lines, r.st.Dim.Render(common.Truncate("  none: the event was not scored", r.width)))
		return
	}
	barW := min(r.width-labelWidth-6, maxBar)
	for s := decision.ScoreRisk; s < decision.NumScores; s++ {
		v := d.ScoreValue(s)
		l := r.st.Label.Render(common.Fit("  "+scoreTitle(s), labelWidth, false)) +
			r.st.Bold.Render(common.Fit(common.Score(v), 4, true))
		if barW >= 4 {
			l += "  " + r.barStyle(s, v).Render(bar(v, barW))
		}
		r.lines = append(r.lines, common.Clip(l, r.width))
	}
}

func scoreTitle(s decision.Score) string {
	switch s {
	case decision.ScoreATO:
		return "ATO"
	case decision.ScoreAbuse:
		return "abuse"
	}
	return s.String()
}

// barStyle colours a score by the configured thresholds when they are for
// this score.
func (r *renderer) barStyle(s decision.Score, v float64) lipgloss.Style {
	if r.th == nil || r.th.Score != s {
		return r.st.Spark[common.SeriesEvents]
	}
	switch {
	case v >= r.th.Deny:
		return r.st.Action[decision.ActionDeny.Index()]
	case v >= r.th.Challenge:
		return r.st.Action[decision.ActionChallenge.Index()]
	}
	return r.st.Action[decision.ActionAllow.Index()]
}

// bar draws v (0-100) as w cells of full blocks and a partial eighth.
func bar(v float64, w int) string {
	v = min(max(v, 0), 100)
	if v != v {
		v = 0
	}
	eighths := int(v/100*float64(w*8) + 0.5)
	full, part := eighths/8, eighths%8
	var b strings.Builder
	b.WriteString(strings.Repeat("█", full))
	n := full
	if part > 0 && n < w {
		b.WriteRune([]rune("▏▎▍▌▋▊▉")[part-1])
		n++
	}
	b.WriteString(strings.Repeat("·", w-n))
	return b.String()
}

func (r *renderer) signals(d *decision.Decision) {
	r.heading("Signals")
	if len(d.Signals) == 0 {
		r.lines = append(r.lines, r.st.Dim.Render(common.Truncate("  none", r.width)))
		return
	}
	nameW := 0
	for _, sig := range d.Signals {
		nameW = max(nameW, ansi.StringWidth(common.Sanitize(sig)))
	}
	nameW = min(nameW, 30)
	for _, sig := range d.Signals {
		name := common.Sanitize(sig)
		desc := Describe(sig)
		if desc == "" {
			desc = "(no description: a signal this version does not know)"
		}
		descW := r.width - 2 - nameW - 2
		if descW < 12 {
			r.lines = append(r.lines, common.Clip("  "+r.st.Bold.Render(common.Truncate(name, r.width-2)), r.width))
			r.wrapped(desc, r.width, "    ", &r.st.Dim)
			continue
		}
		chunks := strings.Split(ansi.Wrap(desc, descW, ""), "\n")
		for i, ch := range chunks {
			head := strings.Repeat(" ", nameW)
			if i == 0 {
				head = r.st.Bold.Render(common.Fit(name, nameW, false))
			}
			r.lines = append(r.lines, "  "+head+"  "+r.st.Dim.Render(ch))
		}
	}
}

// json writes a body: lines are raw as PrettyJSON made them, ok false when
// raw was not valid JSON.
func (r *renderer) json(title string, raw []byte, lines []string, ok bool) {
	switch {
	case len(raw) == 0 || len(lines) == 0:
		r.heading(title)
		r.lines = append(r.lines, r.st.Dim.Render(common.Truncate("  (none)", r.width)))
		return
	case !ok:
		r.heading(title + " (not valid JSON, shown as received)")
	default:
		r.heading(title)
	}
	for _, l := range lines {
		r.wrapped(common.Sanitize(l), r.width, "  ", nil)
	}
}

func itoa(n int) string {
	return common.Count(uint64(max(n, 0)))
}
