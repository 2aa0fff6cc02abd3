package hist

import (
	"math"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/riskwatch/riskwatch/tui/common"
)

// Glyphs of the chart. Each action has its own block, so the split reads
// without colour: lighter is milder. The previous window is a thin bar
// beside each bar; the simulated thresholds and today's policy are
// vertical lines of their own glyphs in the gaps between bars.
var actionGlyph = [scored]rune{'░', '▒', '█'}

const (
	glyphPrev           = '│' // the previous window's bar
	glyphChallenge      = '┊' // the simulated challenge threshold
	glyphDeny           = '┃' // the simulated deny threshold
	glyphTodayChallenge = '╎' // today's policy's challenge threshold
	glyphTodayDeny      = '╏' // today's policy's deny threshold
	glyphAxis           = '─'
	glyphSelected       = '▲'
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
	inkTodayLine
	inkSelected
	numInks
)

// cell is one character of the chart and its style.
type cell struct {
	r   rune
	ink ink
}

// vline is a threshold drawn as a vertical line at score t.
type vline struct {
	t  float64
	cl cell
}

// chart is what the chart needs to draw.
type chart struct {
	bars    []bar
	rows    int // rows above the baseline
	cw      int // columns per bucket
	log     bool
	compare bool
	sel     int
	// lines are the thresholds to draw, each over the ones before it.
	lines []vline
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
		inkTodayLine:     st.Dim,
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

// columns splits a bucket's cw columns into its bar, the previous
// window's column (0 when not compared) and the gap after them. The bar
// keeps at least one column; the gap goes first when there is no room,
// the previous window's column then standing between the bars.
func (c *chart) columns() (bar, prev, gap int) {
	if c.compare && c.cw >= 2 {
		prev = 1
	}
	if c.cw-prev > minBar || (prev == 0 && c.cw >= minColumn) {
		gap = 1
	}
	return c.cw - prev - gap, prev, gap
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

// lineColumn is the chart column of a threshold at score t: the column
// just before its bucket (the previous bucket's gap, or its previous
// window's column) when there is one, else the bucket's first column.
func (c *chart) lineColumn(t float64) int {
	if len(c.bars) == 0 {
		return -1
	}
	w := c.bars[0].hi - c.bars[0].lo
	i := min(max(int(t)/w, 0), len(c.bars)-1)
	col := i * c.cw
	if _, prev, gap := c.columns(); prev+gap > 0 && i > 0 {
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
	for _, l := range c.lines {
		x := c.lineColumn(l.t)
		for lvl := 1; lvl <= c.rows; lvl++ {
			put(lvl, x, l.cl)
		}
	}
	peak := c.peak()
	bw, pw, _ := c.columns()
	for i, b := range c.bars {
		x0 := i * c.cw
		h := level(b.total, peak, c.rows, c.log)
		parts := split(b.counts, h)
		lvl := 1
		for a, n := range parts {
			for range n {
				for x := x0; x < x0+bw; x++ {
					put(lvl, x, cell{actionGlyph[a], inkAllow + ink(a)})
				}
				lvl++
			}
		}
		if pw > 0 {
			for lvl := 1; lvl <= level(b.prev, peak, c.rows, c.log); lvl++ {
				put(lvl, x0+bw, cell{glyphPrev, inkDim})
			}
		}
	}
	codes := inkCodes(st)
	labels := c.ticks(peak)
	out := make([]string, 0, c.rows+2)
	for r, row := range grid {
		label, tick := labels[c.rows-r], "│"
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

// ticks labels the y axis: the peak at the top, and below it round counts
// (multiples of 1, 2 or 5 times a power of ten on a linear scale, powers
// of ten on a log one) at the level a bar of that count reaches, at least
// two rows apart. The result is indexed by level (0..rows); unlabelled
// levels are "".
func (c *chart) ticks(peak uint64) []string {
	labels := make([]string, c.rows+1)
	if c.rows <= 0 || peak == 0 {
		return labels
	}
	labels[c.rows] = common.Compact(peak)
	var values []uint64
	if c.log {
		for v := uint64(1); v < peak; v *= 10 {
			values = append(values, v)
		}
	} else {
		step := niceStep(float64(peak) / max(float64(c.rows)/3, 1))
		for v := step; v < peak; v += step {
			values = append(values, v)
		}
	}
	last := c.rows
	for i := len(values) - 1; i >= 0; i-- {
		lvl := level(values[i], peak, c.rows, c.log)
		if lvl <= 0 || last-lvl < 2 {
			continue
		}
		labels[lvl] = common.Compact(values[i])
		last = lvl
	}
	return labels
}

// niceStep is the smallest of 1, 2 and 5 times a power of ten that is at
// least x (and at least 1).
func niceStep(x float64) uint64 {
	if x <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return uint64(m * p)
		}
	}
	return uint64(10 * p)
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
