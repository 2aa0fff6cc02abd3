package hist

import (
	"strconv"
	"strings"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// frame is the rendered view, kept until anything it shows changes.
type frame struct {
	key  frameKey
	text string
}

// frameKey is everything View depends on.
type frameKey struct {
	version, width, height int
	styles                 *common.Styles
	score                  decision.Score
	win                    int
	log, compare, busy     bool
	jumping                bool
	jumpErr                string
	input                  string
	sel                    int
	th                     decision.Thresholds
}

func (m Model) frameKey() frameKey {
	return frameKey{
		version: m.version, width: m.width, height: m.height, styles: m.c.Styles,
		score: m.score, win: m.win, log: m.log, compare: m.compare, busy: m.req.Busy(),
		jumping: m.jumping, jumpErr: m.jumpErr, input: m.input.Value(),
		sel: m.sel, th: m.c.CurrentThresholds(),
	}
}

// View renders the view in exactly its height, each line within its width.
// The text is cached until the data, the size, the theme or a setting
// changes.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	k := m.frameKey()
	if m.cache.text != "" && m.cache.key == k {
		return m.cache.text
	}
	text := common.FitBlock(strings.Join(m.render(), "\n"), m.width, m.height)
	*m.cache = frame{key: k, text: text}
	return text
}

// layout says which lines the view shows at its height: the chart gets
// what the others leave.
type layout struct {
	legend, labels, info, info2 bool
	rows                        int
}

func (m Model) layout() layout {
	h := m.height
	l := layout{legend: h >= 7, labels: h >= 6, info: h >= 4, info2: h >= 14}
	fixed := 2 // the tabs line and the baseline
	for _, on := range []bool{l.legend, l.labels, l.info, l.info2} {
		if on {
			fixed++
		}
	}
	l.rows = max(h-fixed, 0)
	return l
}

func (m Model) render() []string {
	st := m.c.Styles
	out := []string{m.tabsLine()}
	d := m.data
	if d == nil {
		return append(out, st.Dim.Render(common.Truncate("loading histogram…", m.width)))
	}
	if d.failed {
		return append(out, st.Bad.Render(common.Truncate(common.Sanitize(d.err.Error()), m.width)))
	}
	lay := m.layout()
	avail := m.width - axisWidth
	w := m.bucketWidth()
	var prev *decision.Histogram
	if d.hasPrev {
		prev = &d.prev
	}
	bars := group(&d.cur, prev, w)
	lo, _ := m.selected()
	sel := min(lo/w, len(bars)-1)
	th := m.c.CurrentThresholds()
	simulated := th.Score == d.score
	today := d.fit.Total > 0
	if lay.legend {
		out = append(out, m.legend(simulated, th, today, d))
	}
	if lay.rows > 0 && avail > 0 {
		ch := chart{
			bars: bars, rows: lay.rows, cw: columnWidth(avail, w), log: m.log,
			compare: m.compare && d.hasPrev, sel: sel,
		}
		if today {
			ch.lines = append(ch.lines,
				vline{d.fit.Thresholds.Challenge, cell{glyphTodayChallenge, inkTodayLine}},
				vline{d.fit.Thresholds.Deny, cell{glyphTodayDeny, inkTodayLine}})
		}
		if simulated {
			ch.lines = append(ch.lines,
				vline{th.Challenge, cell{glyphChallenge, inkChallengeLine}},
				vline{th.Deny, cell{glyphDeny, inkDenyLine}})
		}
		drawn := ch.render(st)
		if !lay.labels {
			drawn = drawn[:len(drawn)-1]
		}
		out = append(out, drawn...)
	}
	switch {
	case m.jumping && lay.info:
		out = append(out, m.jumpLine())
	case lay.info:
		out = append(out, m.infoLines(bars[sel], d, lay.info2)...)
	}
	return out
}

// jumpLine is the prompt = opens: the score to go to.
func (m Model) jumpLine() string {
	st := m.c.Styles
	line := st.FilterPrompt.Render("go to score: ") + m.input.View(5, st.Selected)
	if m.jumpErr != "" {
		line += " " + st.FilterError.Render(common.Sanitize(m.jumpErr))
	} else {
		line += st.Dim.Render(" 0-100 · enter go · esc cancel")
	}
	return common.Clip(line, m.width)
}

// tabsLine shows the scores and windows (the chosen ones in brackets), the
// totals and the scale.
func (m Model) tabsLine() string {
	st := m.c.Styles
	var scores, scoresPlain []string
	for s := range decision.NumScores {
		name := s.String()
		if s == m.score {
			scores = append(scores, st.TabActive.Render("["+name+"]"))
			scoresPlain = append(scoresPlain, "["+name+"]")
		} else {
			scores = append(scores, st.Tab.Render(name))
			scoresPlain = append(scoresPlain, name)
		}
	}
	var wins, winsPlain []string
	for i, w := range common.Windows {
		if i == m.win {
			wins = append(wins, st.TabActive.Render("["+w.Label+"]"))
			winsPlain = append(winsPlain, "["+w.Label+"]")
		} else {
			wins = append(wins, st.Tab.Render(w.Label))
			winsPlain = append(winsPlain, w.Label)
		}
	}
	ps := []common.Piece{
		{Plain: strings.Join(scoresPlain, " "), Styled: strings.Join(scores, " "), Priority: 0},
		{Plain: strings.Join(winsPlain, " "), Styled: strings.Join(wins, " "), Priority: 1},
	}
	if m.req.Busy() {
		ps = append(ps, common.StyledPiece("loading…", st.Dim, 2))
	}
	if d := m.data; d != nil && d.score == m.score && d.win == m.win {
		ps = append(ps, common.StyledPiece(common.Count(d.cur.Total)+" scored", st.Bold, 2))
		if d.hasPrev {
			ps = append(ps, common.StyledPiece("prev "+common.Count(d.prev.Total)+" "+delta(d.cur.Total, d.prev.Total), st.Dim, 4))
		}
	}
	scale := "linear"
	if m.log {
		scale = "log scale"
	}
	ps = append(ps, common.StyledPiece(scale, st.Dim, 3))
	return common.JoinFit(m.width, " │ ", st.Dim, ps...)
}

// legend names the glyphs: the actions, the simulated threshold lines
// (when they are on this score), today's policy's lines, and the previous
// window's bar.
func (m Model) legend(simulated bool, th decision.Thresholds, today bool, d *result) string {
	st := m.c.Styles
	ps := make([]common.Piece, 0, 4)
	var plain, styled []string
	for a := range scored {
		g, name := string(actionGlyph[a]), string(decision.Actions[a])
		plain, styled = append(plain, g+" "+name), append(styled, st.Action[a].Render(g)+" "+name)
	}
	ps = append(ps, common.Piece{Plain: strings.Join(plain, " "), Styled: strings.Join(styled, " "), Priority: 0})
	if simulated {
		c, dn := "≥"+common.Decimal(th.Challenge), "≥"+common.Decimal(th.Deny)
		ps = append(ps, common.Piece{
			Plain:    string(glyphChallenge) + c + " " + string(glyphDeny) + dn + " what-if",
			Styled:   st.Warn.Render(string(glyphChallenge)) + c + " " + st.Bad.Render(string(glyphDeny)) + dn + " what-if",
			Priority: 1,
		})
	} else {
		ps = append(ps, common.StyledPiece("what-if thresholds are on "+th.Score.String(), st.Dim, 1))
	}
	if today {
		f := d.fit.Thresholds
		text := string(glyphTodayChallenge) + "≥" + common.Decimal(f.Challenge) + " " + string(glyphTodayDeny) + "≥" +
			common.Decimal(f.Deny) + " today's policy"
		ps = append(ps, common.StyledPiece(text, st.Dim, 2))
	}
	if m.compare && d.hasPrev {
		label := string(glyphPrev) + " prev"
		ps = append(ps, common.Piece{Plain: label, Styled: st.Dim.Render(label), Priority: 2})
	}
	return common.JoinFit(m.width, "  ", st.Dim, ps...)
}

// infoLines describe the selected bar: its range, count and share, the
// split by action, and (on a second line when there is room) the previous
// window and the enter hint.
func (m Model) infoLines(b bar, d *result, two bool) []string {
	st := m.c.Styles
	head := d.score.String() + " " + rangeLabel(b) + ": " + common.Count(b.total) + " of " +
		common.Count(d.cur.Total) + " (" + common.Share(b.total, d.cur.Total) + ")"
	first := []common.Piece{common.StyledPiece(head, st.Bold, 0)}
	for a := range scored {
		name := string(decision.Actions[a])
		text := name + " " + common.Count(b.counts[a])
		if b.counts[a] > 0 {
			text += " (" + common.Share(b.counts[a], b.total) + ")"
		}
		first = append(first, common.Piece{Plain: text, Styled: st.Action[a].Render(name) + text[len(name):], Priority: 1})
	}
	var second []common.Piece
	if d.hasPrev {
		second = append(second, common.StyledPiece("prev "+common.Windows[d.win].Label+" "+common.Count(b.prev)+" "+delta(b.total, b.prev), st.Dim, 2))
	}
	if d.err != nil {
		second = append(second, common.StyledPiece("refresh failed: "+common.Sanitize(d.err.Error()), st.Bad, 1))
	}
	if d.fit.Total > 0 {
		second = append(second, common.StyledPiece("today's policy reproduces "+common.Share(d.fit.Agree, d.fit.Total), st.Dim, 3))
	}
	second = append(second, common.StyledPiece("enter: show in Live", st.Dim, 5))
	if two {
		return []string{common.JoinFit(m.width, " │ ", st.Dim, first...), common.JoinFit(m.width, " │ ", st.Dim, second...)}
	}
	return []string{common.JoinFit(m.width, " │ ", st.Dim, append(first, second...)...)}
}

// rangeLabel names a bar's scores: "40-49", "7", "90-100".
func rangeLabel(b bar) string {
	hi := b.hi - 1
	if b.hi >= 100 {
		hi = 100
	}
	if hi == b.lo {
		return strconv.Itoa(b.lo)
	}
	return strconv.Itoa(b.lo) + "-" + strconv.Itoa(hi)
}

// delta compares a count with the previous window's: "+67%", "-12%",
// "±0%", "new" (from nothing) or "±0" (nothing in both).
func delta(cur, prev uint64) string {
	switch {
	case prev == 0 && cur == 0:
		return "±0"
	case prev == 0:
		return "new"
	}
	pct := (float64(cur) - float64(prev)) / float64(prev) * 100
	r := int64(pct + 0.5)
	if pct < 0 {
		r = -int64(-pct + 0.5)
	}
	switch {
	case r > 0:
		return "+" + strconv.FormatInt(r, 10) + "%"
	case r < 0:
		return strconv.FormatInt(r, 10) + "%"
	}
	return "±0%"
}

// num formats a threshold: 50, 72.5.
