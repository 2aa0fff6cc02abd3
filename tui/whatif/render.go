package whatif

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// Flip table columns, in display order.
const (
	fcTime = iota
	fcEvent
	fcUser
	fcIP
	fcScore
	fcActual
	fcSimulated
	fcID
	numFlipCols
)

func newFlipTable() *widget.Table {
	cols := [numFlipCols]widget.Column{
		fcTime:      {Title: "TIME", Min: 14, Max: 14, Priority: 2},
		fcEvent:     {Title: "EVENT", Min: 10, Pref: 16, Max: 24, Priority: 4},
		fcUser:      {Title: "USER", Min: 8, Pref: 12, Max: 20, Priority: 3},
		fcIP:        {Title: "IP", Min: 15, Max: 39, Priority: 6},
		fcScore:     {Title: "SCORE", Min: 5, Max: 5, Priority: 1, Right: true},
		fcActual:    {Title: "ACTUAL", Min: 9, Max: 9, Priority: 0},
		fcSimulated: {Title: "WOULD BE", Min: 11, Max: 11, Priority: 0},
		fcID:        {Title: "ID", Min: 32, Max: 32, Priority: 9},
	}
	return widget.NewTable(cols[:]...)
}

// Per-type table columns.
const (
	tcType = iota
	tcEvents
	tcAllow
	tcChallenge
	tcDeny
	tcChanged
	numTypeCols
)

func newTypeTable() *widget.Table {
	cols := [numTypeCols]widget.Column{
		tcType:      {Title: "TYPE", Min: 8, Pref: 16, Max: 24, Priority: 0},
		tcEvents:    {Title: "EVENTS", Min: 6, Max: 9, Priority: 2, Right: true},
		tcAllow:     {Title: "ALLOW", Min: 9, Max: 15, Priority: 3, Right: true},
		tcChallenge: {Title: "CHALLENGE", Min: 9, Max: 15, Priority: 3, Right: true},
		tcDeny:      {Title: "DENY", Min: 9, Max: 15, Priority: 3, Right: true},
		tcChanged:   {Title: "CHANGED", Min: 7, Max: 9, Priority: 1, Right: true},
	}
	return widget.NewTable(cols[:]...)
}

// layout is how the height is shared: the title and thresholds lines, the
// matrix, the per-type block (when it fits) and the list.
type layout struct {
	today    bool // a line for today's policy
	change   bool // the matrix's "change" row
	labels   bool // the label metrics and curves
	types    int  // type rows shown; 0 hides the block
	flipRows int
}

// flipsMin is the list's least height: its title, header and one row.
const flipsMin = 3

func (m Model) layout() layout {
	l := layout{today: m.height >= 12, change: m.height >= 22}
	rest := m.height - 2
	if l.today {
		rest--
	}
	matrix := 5
	if l.change {
		matrix++
	}
	rest -= matrix
	if m.hasLabels() && rest-labelLines-flipsMin >= 2 {
		l.labels = true
		rest -= labelLines
	}
	if m.wi != nil && rest-flipsMin >= 2 {
		l.types = min(len(m.wi.w.ByType), (rest-flipsMin)/2)
	}
	if l.types > 0 {
		rest -= l.types + 1
	}
	l.flipRows = max(rest-2, 0)
	return l
}

// View renders the view in exactly its height, each line within its width.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	if m.policyMode {
		return common.FitBlock(strings.Join(m.policyLines(), "\n"), m.width, m.height)
	}
	lay := m.layout()
	lines := []string{m.titleLine(), m.thresholdsLine()}
	if lay.today {
		lines = append(lines, m.c.Styles.Bold.Render(common.Truncate(m.todayText(), m.width)))
	}
	switch {
	case m.wi == nil && m.wiErr == nil:
		lines = append(lines, m.c.Styles.Dim.Render(common.Truncate("computing…", m.width)))
	case m.wi == nil:
		lines = append(lines, m.c.Styles.Bad.Render(common.Truncate(common.Sanitize(m.wiErr.Error()), m.width)))
	default:
		lines = append(lines, m.matrix(lay.change)...)
		if lay.labels {
			lines = append(lines, m.labelBlock()...)
		}
		if lay.types > 0 {
			lines = append(lines, m.typeBlock(lay.types)...)
		}
		lines = append(lines, m.flipBlock(lay.flipRows)...)
	}
	return common.FitBlock(strings.Join(lines, "\n"), m.width, m.height)
}

// titleLine shows the scores and windows (chosen ones in brackets) and
// what the matrix counts.
func (m Model) titleLine() string {
	st := m.c.Styles
	var scores, scoresPlain, wins, winsPlain []string
	for s := range decision.NumScores {
		p, t := tab(st, s.String(), s == m.th.Score)
		scoresPlain, scores = append(scoresPlain, p), append(scores, t)
	}
	for i, w := range common.Windows {
		p, t := tab(st, w.Label, i == m.win)
		winsPlain, wins = append(winsPlain, p), append(wins, t)
	}
	ps := []common.Piece{
		common.StyledPiece("What-if", st.Title, 3),
		{Plain: strings.Join(scoresPlain, " "), Styled: strings.Join(scores, " "), Priority: 0},
		{Plain: strings.Join(winsPlain, " "), Styled: strings.Join(wins, " "), Priority: 1},
	}
	if a := m.wi; a != nil {
		ps = append(ps, common.StyledPiece(common.Count(a.scored)+" scored", st.Bold, 2))
		if a.w.Errors > 0 {
			ps = append(ps, common.StyledPiece(common.Count(a.w.Errors)+" errors not scored", st.Dim, 4))
		}
	}
	if m.wiReq.Busy() {
		ps = append(ps, common.StyledPiece("computing…", st.Dim, 2))
	}
	return common.JoinFit(m.width, " │ ", st.Dim, ps...)
}

// tab returns a choice as measured and as drawn: the chosen one bracketed.
func tab(st *common.Styles, label string, on bool) (plain, styled string) {
	if on {
		return "[" + label + "]", st.TabActive.Render("[" + label + "]")
	}
	return label, st.Tab.Render(label)
}

// thresholdsLine shows the simulated thresholds (the one the arrows move
// in brackets), how many decisions would change, and the saved thresholds
// when they differ; or the value being typed.
func (m Model) thresholdsLine() string {
	st := m.c.Styles
	if m.editing {
		now := m.th.Challenge
		if m.which == Deny {
			now = m.th.Deny
		}
		prompt := "set " + m.which.String() + " to: "
		line := st.FilterPrompt.Render(prompt) + m.input.View(8, st.Selected)
		if m.editErr != "" {
			line += " " + st.FilterError.Render(common.Sanitize(m.editErr))
		} else {
			line += st.Dim.Render(" (now " + common.Decimal(now) + ") enter set · esc cancel")
		}
		return common.Clip(line, m.width)
	}
	show := func(w Which, v float64) (string, string) {
		text := w.String() + " ≥" + common.Decimal(v)
		if w == m.which {
			return "[" + text + "]", st.Selected.Render("[" + text + "]")
		}
		return text, text
	}
	cp, cs := show(Challenge, m.th.Challenge)
	dp, ds := show(Deny, m.th.Deny)
	ps := []common.Piece{{Plain: cp + " " + dp, Styled: cs + " " + ds, Priority: 0}}
	if m.wi != nil && m.wi.q == m.current() {
		ps = append(ps, common.StyledPiece(common.Count(m.wi.flips)+" would change", st.Warn, 1))
	}
	if today := m.todayText(); today != "" && !m.layout().today {
		ps = append(ps, common.StyledPiece(today, st.Bold, 3))
	}
	if m.th != m.saved {
		ps = append(ps, common.StyledPiece("saved: "+m.saved.Score.String()+" "+common.Decimal(m.saved.Challenge)+"/"+common.Decimal(m.saved.Deny)+" (s saves)", st.Dim, 2))
	}
	return common.JoinFit(m.width, " │ ", st.Dim, ps...)
}

// todayText is today's policy beside the simulated thresholds: what it
// is, how much it reproduces, and the key that sets it ("" before it is
// known).
func (m Model) todayText() string {
	fit, ok := m.Today()
	if !ok || fit.Total == 0 {
		return ""
	}
	if m.th.Challenge == fit.Thresholds.Challenge && m.th.Deny == fit.Thresholds.Deny {
		return TodayText(fit) + " (simulated)"
	}
	return TodayText(fit) + " (f sets it)"
}

// matrix renders the actual × simulated matrix with the actual counts as
// the last column and the simulated counts as the last row (and, when
// asked, the change per action).
func (m Model) matrix(change bool) []string {
	st := m.c.Styles
	w := &m.wi.w
	total := m.wi.scored
	var rows, cols [3]uint64
	for a := range 3 {
		for s := range 3 {
			c := w.Matrix[a][s]
			rows[a] += c
			cols[s] += c
		}
	}
	names := [3]string{"allow", "challenge", "deny"}
	short := [3]string{"allow", "chal", "deny"}
	numW := len(common.Count(total))
	const labelW = 10
	cell := max(numW, len("challenge")) + 1
	heads := names
	if labelW+4*cell+2 > m.width {
		cell = max(numW, len("allow")) + 1
		heads = short
	}
	head := st.TableHeader.Render(common.Fit("act\\sim", labelW, false))
	for s := range 3 {
		head += st.TableHeader.Render(common.Fit(heads[s], cell, true))
	}
	head += st.Dim.Render(" │") + st.TableHeader.Render(common.Fit("actual", cell, true))
	out := []string{common.Clip(head, m.width)}
	for a := range 3 {
		line := st.Action[a].Render(common.Fit(names[a], labelW, false))
		for s := range 3 {
			text := common.Fit(common.Count(w.Matrix[a][s]), cell, true)
			switch {
			case a == s:
				line += st.Dim.Render(text)
			case w.Matrix[a][s] > 0:
				line += st.Warn.Render(text)
			default:
				line += text
			}
		}
		line += st.Dim.Render(" │") + st.Bold.Render(common.Fit(common.Count(rows[a]), cell, true))
		out = append(out, common.Clip(line, m.width))
	}
	sim := st.Bold.Render(common.Fit("simulated", labelW, false))
	for s := range 3 {
		sim += st.Bold.Render(common.Fit(common.Count(cols[s]), cell, true))
	}
	sim += st.Dim.Render(" │") + st.Bold.Render(common.Fit(common.Count(total), cell, true))
	out = append(out, common.Clip(sim, m.width))
	if change {
		line := st.Label.Render(common.Fit("change", labelW, false))
		for s := range 3 {
			line += common.Fit(signed(int64(cols[s])-int64(rows[s])), cell, true)
		}
		out = append(out, common.Clip(line, m.width))
	}
	return out
}

// signed formats a difference with its sign: +12, -3, 0.
func signed(n int64) string {
	switch {
	case n > 0:
		return "+" + common.Count(uint64(n))
	case n < 0:
		return "-" + common.Count(uint64(-n))
	}
	return "0"
}

// typeRow is one event type's matrix.
type typeRow struct {
	name string
	m    *[decision.NumActions][3]uint64
	n    uint64
}

// typeRows returns the per-type matrices with events, most events first.
func typeRows(byType map[string]*[decision.NumActions][3]uint64) []typeRow {
	out := make([]typeRow, 0, len(byType))
	for name, mx := range byType {
		r := typeRow{name: name, m: mx}
		for a := range 3 {
			for s := range 3 {
				r.n += mx[a][s]
			}
		}
		if r.n > 0 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b typeRow) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// typeSource adapts the per-type rows to widget.RowSource: each action
// column shows "actual→simulated".
type typeSource struct{ rows []typeRow }

// Cells writes a type's name, events, actual→simulated per action and
// changed decisions.
func (s typeSource) Cells(i int, dst []string) {
	r := s.rows[i]
	var act, sim [3]uint64
	var changed uint64
	for a := range 3 {
		for x := range 3 {
			act[a] += r.m[a][x]
			sim[x] += r.m[a][x]
			if a != x {
				changed += r.m[a][x]
			}
		}
	}
	dst[tcType] = common.Sanitize(strings.TrimPrefix(r.name, "$"))
	dst[tcEvents] = common.Count(r.n)
	for a, col := range [3]int{tcAllow, tcChallenge, tcDeny} {
		dst[col] = common.Count(act[a]) + "→" + common.Count(sim[a])
	}
	dst[tcChanged] = common.Count(changed)
}

// CellStyle draws every cell plain.
func (s typeSource) CellStyle(int, int) *lipgloss.Style { return nil }

// typeBlock renders the per-type table: a header and up to n types.
func (m Model) typeBlock(n int) []string {
	st := m.c.Styles
	rows := m.wi.types
	out := []string{m.typeTable.Header(st.TableHeader)}
	if k := min(n, len(rows)); k > 0 {
		out = append(out, m.typeTable.Render(typeSource{rows: rows}, 0, k, -1, st))
	}
	return out
}

// flipSource adapts the list to widget.RowSource.
type flipSource struct {
	flips  []decision.Decision
	q      query
	loc    *time.Location
	styles *common.Styles
}

func (s flipSource) simulated(d *decision.Decision) decision.Action {
	return s.q.th.Of(d)
}

// Cells writes a decision's columns, sanitized.
func (s flipSource) Cells(i int, dst []string) {
	d := &s.flips[i]
	dst[fcTime] = d.EventTime.In(s.loc).Format("01-02 15:04:05")
	dst[fcEvent] = common.TypeStatus(d)
	dst[fcUser] = common.Sanitize(d.UserID)
	dst[fcIP] = common.Sanitize(d.IP)
	dst[fcScore] = common.Score(d.ScoreValue(s.q.th.Score))
	dst[fcActual] = common.ActionLabel(d.Action)
	dst[fcSimulated] = "→ " + common.ActionLabel(s.simulated(d))
	dst[fcID] = common.Sanitize(d.ID)
}

// CellStyle colours the actual and simulated actions; the text says them
// too.
func (s flipSource) CellStyle(i, col int) *lipgloss.Style {
	d := &s.flips[i]
	switch col {
	case fcActual:
		return &s.styles.Action[max(d.Action.Index(), 0)]
	case fcSimulated:
		return &s.styles.Action[max(s.simulated(d).Index(), 0)]
	}
	return nil
}

// flipBlock renders the list's title, header and n rows.
func (m Model) flipBlock(n int) []string {
	st := m.c.Styles
	title := "would change"
	if m.wi != nil && m.flLoaded {
		title += ": " + common.Count(m.wi.flips) + ", newest first"
		switch n := uint64(len(m.flips)); {
		case n >= m.wi.flips:
		case len(m.flips) >= MaxFlips:
			title += " (showing the newest " + common.Count(n) + ")"
		default:
			title += " (" + common.Count(n) + " read, more at the end)"
		}
	}
	if m.flReq.Busy() {
		title += " · updating…"
	}
	if m.flErr != nil {
		title += " · " + common.Sanitize(m.flErr.Error())
	}
	out := []string{st.Title.Render(common.Truncate(title, m.width)), m.flipTable.Header(st.TableHeader)}
	switch {
	case !m.flLoaded && m.flErr == nil:
		out = append(out, st.Dim.Render(common.Truncate("looking for decisions that would change…", m.width)))
	case len(m.flips) == 0 && m.flLoaded:
		out = append(out, st.Dim.Render(common.Truncate("no decision would change", m.width)))
	case n > 0 && len(m.flips) > 0:
		k := min(n, len(m.flips)-m.top)
		src := flipSource{flips: m.flips, q: m.flFor, loc: m.c.Clock().Location(), styles: st}
		out = append(out, m.flipTable.Render(src, m.top, k, m.cursor, st))
	}
	return out
}

// TodayText says what today's policy is and how much of Safe-e's actions
// it reproduces: "today's policy: challenge ≥48, deny ≥71, reproduces
// 94.0%".
func TodayText(f decision.Fit) string {
	return "today's policy: challenge ≥" + common.Decimal(f.Thresholds.Challenge) + ", deny ≥" +
		common.Decimal(f.Thresholds.Deny) + ", reproduces " + common.Share(f.Agree, f.Total)
}
