// Package widget holds the rendering pieces the views share: a table that
// renders only the rows on screen with column widths computed once per
// width, sparklines, the status line, the help line and the filter bar.
package widget

import (
	"slices"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/tui/common"
)

// Column describes one table column. Columns are shown in the order given
// and dropped, least important first (highest Priority), when the width
// cannot hold their Min.
type Column struct {
	Title string
	// Min is the narrowest the column is shown; Pref the width it grows to
	// before any column grows further, toward Max.
	Min, Pref, Max int
	// Priority orders columns by importance: 0 is kept longest.
	Priority int
	// Right aligns the cells (numbers).
	Right bool
}

// RowSource supplies the table's rows by position; the table asks only for
// the rows it shows.
type RowSource interface {
	// Cells fills dst, one entry per column, with the text of row i: plain,
	// already sanitized (common.Sanitize) text.
	Cells(i int, dst []string)
	// CellStyle returns the style of cell (i, col), or nil for plain text.
	CellStyle(i, col int) *lipgloss.Style
}

// Table lays out columns to a width and renders rows. The layout is cached
// until the width changes.
type Table struct {
	cols []Column
	// content is the widest cell of each column in the rows given to
	// SizeTo (titles included), nil until then: a column grows no wider.
	content []int
	width   int
	shown   []int // indexes of the visible columns, in display order
	widths  []int // widths of the visible columns
	cells   []string
	header  string
}

// Gap is the space between columns.
const Gap = 1

// NewTable returns a table with the given columns.
func NewTable(cols ...Column) *Table {
	t := &Table{cols: cols, cells: make([]string, len(cols)), width: -1}
	return t
}

// SetWidth lays the columns out for w cells. It does nothing when w has not
// changed.
func (t *Table) SetWidth(w int) {
	if w == t.width {
		return
	}
	t.width = w
	t.layout()
}

// SizeTo sizes the columns to the content of rows 0..n-1 of src: no
// column grows wider than its widest cell or title (nor narrower than its
// Min), so the width left goes to the columns that use it. The rows are
// read once, here; call it when the rows change, not per frame.
func (t *Table) SizeTo(src RowSource, n int) {
	content := make([]int, len(t.cols))
	for i, c := range t.cols {
		content[i] = ansi.StringWidth(c.Title)
	}
	for r := range n {
		src.Cells(r, t.cells)
		for i, cell := range t.cells {
			content[i] = max(content[i], ansi.StringWidth(cell))
		}
	}
	if slices.Equal(content, t.content) {
		return
	}
	t.content = content
	t.layout()
}

// Width returns the width the table is laid out for.
func (t *Table) Width() int { return t.width }

// Shown reports whether column col is visible at the current width.
func (t *Table) Shown(col int) bool {
	for _, c := range t.shown {
		if c == col {
			return true
		}
	}
	return false
}

// layout keeps the most important columns whose minimum widths fit, then
// grows them, most important first, to their preferred width and then to
// their maximum.
func (t *Table) layout() {
	order := make([]int, len(t.cols))
	for i := range order {
		order[i] = i
	}
	// Stable insertion sort by priority (few columns).
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && t.cols[order[j]].Priority < t.cols[order[j-1]].Priority; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	keep := make([]bool, len(t.cols))
	used := 0
	for _, i := range order {
		need := t.cols[i].Min
		if used > 0 {
			need += Gap
		}
		if used+need > t.width {
			continue
		}
		keep[i] = true
		used += need
	}
	if used == 0 && len(order) > 0 && t.width > 0 {
		keep[order[0]] = true // always show something, cut to the width
	}
	t.shown = t.shown[:0]
	t.widths = t.widths[:0]
	total := 0
	for i, k := range keep {
		if k {
			t.shown = append(t.shown, i)
			w := min(t.cols[i].Min, max(t.width, 0))
			t.widths = append(t.widths, w)
			total += w
		}
	}
	if len(t.shown) > 1 {
		total += Gap * (len(t.shown) - 1)
	}
	spare := t.width - total
	for _, limit := range []func(Column) int{
		func(c Column) int { return max(c.Pref, c.Min) },
		func(c Column) int { return max(c.Max, c.Pref, c.Min) },
	} {
		for _, i := range order {
			for j, c := range t.shown {
				if c != i || spare <= 0 {
					continue
				}
				top := limit(t.cols[c])
				if t.content != nil {
					top = min(top, max(t.content[c], t.cols[c].Min))
				}
				if grow := min(top-t.widths[j], spare); grow > 0 {
					t.widths[j] += grow
					spare -= grow
				}
			}
		}
	}
	t.header = t.line(func(j int) string { return t.cols[t.shown[j]].Title }, nil)
}

// Header returns the column titles, styled.
func (t *Table) Header(st lipgloss.Style) string {
	if t.header == "" {
		return ""
	}
	return st.Render(t.header)
}

// Render returns n rows starting at first, one per line, with row selected
// (if in range) drawn in the selection style. Rows are cut to the width.
func (t *Table) Render(src RowSource, first, n, selected int, styles *common.Styles) string {
	var b strings.Builder
	b.Grow(max(n, 0) * (max(t.width, 0) + 16))
	for r := first; r < first+n; r++ {
		if r > first {
			b.WriteByte('\n')
		}
		src.Cells(r, t.cells)
		if r == selected {
			l := t.line(func(j int) string { return t.cells[t.shown[j]] }, nil)
			if pad := t.width - lipgloss.Width(l); pad > 0 {
				l += strings.Repeat(" ", pad)
			}
			b.WriteString(styles.Selected.Render(l))
			continue
		}
		b.WriteString(t.line(func(j int) string { return t.cells[t.shown[j]] },
			func(j int) *lipgloss.Style { return src.CellStyle(r, t.shown[j]) }))
	}
	return b.String()
}

// line renders one row from the visible columns' texts, each cut or padded
// to its width, with optional per-cell styles.
func (t *Table) line(text func(j int) string, style func(j int) *lipgloss.Style) string {
	var b strings.Builder
	b.Grow(max(t.width, 0))
	for j, c := range t.shown {
		if j > 0 {
			b.WriteString(strings.Repeat(" ", Gap))
		}
		cell := common.Fit(text(j), t.widths[j], t.cols[c].Right)
		if style != nil {
			if st := style(j); st != nil {
				cell = st.Render(cell)
			}
		}
		b.WriteString(cell)
	}
	return b.String()
}
