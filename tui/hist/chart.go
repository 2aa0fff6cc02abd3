package hist

import (
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/riskwatch/riskwatch/tui/common"
)

// Glyphs of the chart. Each action has its own block, so the split reads
// without colour: lighter is milder.
var actionGlyph = [scored]rune{'░', '▒', '█'}

const (
	glyphPrev      = '─' // the previous window's level
	glyphChallenge = '┊' // the challenge threshold
	glyphDeny      = '┃' // the deny threshold
	glyphAxis      = '─'
	glyphSelected  = '▲'
)

// axisWidth is the y axis: a 5-cell count and a tick.
const axisWidth = 6

// ink names the style of a chart cell.
type ink uint8

const (
	inkNone ink = iota
	inkAllow
	inkChallenge
	inkDeny
	inkDim
	inkChallengeLine
	inkDenyLine
	inkSelected
	numInks
)

// cell is one character of the chart and its style.
type cell struct {
	r   rune
	ink ink
}

// chart is what the chart needs to draw.
type chart struct {
	bars    []bar
	rows    int // rows above the baseline
	cw      int // columns per bucket
	log     bool
	compare bool
	sel     int
	// lines: draw the thresholds at challenge and deny (score points).
	lines           bool
	challenge, deny float64
}

// inkStyles maps each ink to its style.
func inkStyles(st *common.Styles) [numInks]lipgloss.Style {
	return [numInks]lipgloss.Style{
		inkAllow:         st.Action[0],
		inkChallenge:     st.Action[1],
		inkDeny:          st.Action[2],
		inkDim:           st.Dim,
		inkChallengeLine: st.Warn,
		inkDenyLine:      st.Bad,
		inkSelected:      st.Title,
	}
}

// sgr is an ink's escape sequences: what opens and what closes it. A chart
// is thousands of short runs, so each style is rendered once per frame and
// its sequences reused, instead of calling Render per run.
type sgr struct{ open, close string }

func inkCodes(st *common.Styles) [numInks]sgr {
	var out [numInks]sgr
	for k, style := range inkStyles(st) {
		if ink(k) == inkNone {
			continue
		}
		r := style.Render("x")
		if i := strings.IndexByte(r, 'x'); i >= 0 {
			out[k] = sgr{open: r[:i], close: r[i+1:]}
		}
	}
	return out
}

// barWidth is the drawn part of a bucket's columns; the rest is a gap.
func (c *chart) barWidth() int {
	if c.cw >= minColumn {
		return c.cw - 1
	}
	return c.cw
}

// peak is the tallest count drawn (current or, when compared, previous).
func (c *chart) peak() uint64 {
	var p uint64
	for _, b := range c.bars {
		p = max(p, b.total)
		if c.compare {
			p = max(p, b.prev)
		}
	}
	return p
}

// lineColumn is the chart column of a threshold at score t: the gap just
// before its bucket when buckets have gaps, else the bucket's first column.
func (c *chart) lineColumn(t float64) int {
	if len(c.bars) == 0 {
		return -1
	}
	w := c.bars[0].hi - c.bars[0].lo
	i := min(max(int(t)/w, 0), len(c.bars)-1)
	col := i * c.cw
	if c.cw >= minColumn && i > 0 {
		col--
	}
	return col
}

// render draws the rows of bars, the baseline with the selection marker
// and the score labels: rows+2 lines, each axisWidth+len(bars)*cw wide.
func (c *chart) render(st *common.Styles) []string {
	width := len(c.bars) * c.cw
	grid := make([][]cell, c.rows)
	for r := range grid {
		grid[r] = make([]cell, width)
		for x := range grid[r] {
			grid[r][x] = cell{' ', inkNone}
		}
	}
	// put sets the cell at level lvl (1 = just above the baseline).
	put := func(lvl, x int, cl cell) {
		if lvl >= 1 && lvl <= c.rows && x >= 0 && x < width {
			grid[c.rows-lvl][x] = cl
		}
	}
	if c.lines {
		for _, l := range []struct {
			t  float64
			cl cell
		}{{c.challenge, cell{glyphChallenge, inkChallengeLine}}, {c.deny, cell{glyphDeny, inkDenyLine}}} {
			x := c.lineColumn(l.t)
			for lvl := 1; lvl <= c.rows; lvl++ {
				put(lvl, x, l.cl)
			}
		}
	}
	peak := c.peak()
	bw := c.barWidth()
	for i, b := range c.bars {
		h := level(b.total, peak, c.rows, c.log)
		parts := split(b.counts, h)
		owner := make([]ink, 0, h) // the action ink of each level
		for a, n := range parts {
			for range n {
				owner = append(owner, inkAllow+ink(a))
			}
		}
		x0 := i * c.cw
		for lvl, k := range owner {
			for x := x0; x < x0+bw; x++ {
				put(lvl+1, x, cell{actionGlyph[k-inkAllow], k})
			}
		}
		if c.compare && b.prev > 0 {
			p := level(b.prev, peak, c.rows, c.log)
			k := inkDim
			if p <= len(owner) {
				k = owner[p-1]
			}
			for x := x0; x < x0+bw; x++ {
				put(p, x, cell{glyphPrev, k})
			}
		}
	}
	codes := inkCodes(st)
	out := make([]string, 0, c.rows+2)
	for r, row := range grid {
		lvl := c.rows - r
		label := ""
		switch {
		case lvl == c.rows:
			label = common.Compact(peak)
		case c.rows >= 6 && lvl == (c.rows+1)/2:
			label = common.Compact(valueAt(lvl, c.rows, peak, c.log))
		}
		tick := "│"
		if label != "" {
			tick = "┤"
		}
		out = append(out, st.Dim.Render(common.Fit(label, axisWidth-1, true)+tick)+paint(row, &codes))
	}
	base := make([]cell, width)
	for x := range base {
		base[x] = cell{glyphAxis, inkDim}
	}
	if c.sel >= 0 && c.sel < len(c.bars) {
		for x := c.sel * c.cw; x < c.sel*c.cw+bw; x++ {
			base[x] = cell{glyphSelected, inkSelected}
		}
	}
	out = append(out, st.Dim.Render(common.Fit("0", axisWidth-1, true)+"┼")+paint(base, &codes))
	out = append(out, st.Dim.Render(strings.Repeat(" ", axisWidth)+c.labels()))
	return out
}

// labels places the score under the bars every 10, 20 or 50 points,
// whichever keeps the labels apart.
func (c *chart) labels() string {
	if len(c.bars) == 0 {
		return ""
	}
	w := c.bars[0].hi - c.bars[0].lo
	width := len(c.bars) * c.cw
	step := 50
	for _, s := range []int{10, 20, 50} {
		if s/w*c.cw >= 4 {
			step = s
			break
		}
	}
	line := []byte(strings.Repeat(" ", width))
	for v := 0; v <= 100; v += step {
		s := strconv.Itoa(v)
		x := v / w * c.cw
		if v == 100 {
			x = width - len(s)
		}
		if x < 0 || x+len(s) > width || strings.TrimSpace(string(line[max(x-1, 0):x+len(s)])) != "" {
			continue
		}
		copy(line[x:], s)
	}
	return strings.TrimRight(string(line), " ")
}

// paint renders a row of cells, opening and closing each ink once per run.
func paint(row []cell, codes *[numInks]sgr) string {
	var b strings.Builder
	b.Grow(len(row) * 4)
	cur := inkNone
	for _, cl := range row {
		if cl.ink != cur {
			b.WriteString(codes[cur].close)
			b.WriteString(codes[cl.ink].open)
			cur = cl.ink
		}
		b.WriteRune(cl.r)
	}
	b.WriteString(codes[cur].close)
	return b.String()
}
