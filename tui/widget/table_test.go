package widget

import (
	"strconv"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/tui/common"
)

// threeCols: A is most important and grows most, C next, B is a fixed
// right-aligned number.
func threeCols() []Column {
	return []Column{
		{Title: "AAAA", Min: 4, Pref: 6, Max: 10, Priority: 0},
		{Title: "B", Min: 3, Max: 3, Priority: 2, Right: true},
		{Title: "CCCCC", Min: 5, Pref: 8, Max: 8, Priority: 1},
	}
}

func TestTableLayout(t *testing.T) {
	tests := []struct {
		width  int
		shown  []int
		widths []int
	}{
		// Everything fits at Min (14); the spare 6 goes to Pref by
		// priority (A +2, C +3), then toward Max (A +1).
		{20, []int{0, 1, 2}, []int{7, 3, 8}},
		// Plenty of room: every column at Max, the rest unused.
		{100, []int{0, 1, 2}, []int{10, 3, 8}},
		// Exactly the minimums.
		{14, []int{0, 1, 2}, []int{4, 3, 5}},
		// B (least important) goes first; A grows into the spare 2.
		{12, []int{0, 2}, []int{6, 5}},
		// C does not fit after A, but the narrower, less important B
		// does; A takes the spare cell.
		{9, []int{0, 1}, []int{5, 3}},
		// Only A fits; it grows to its Pref and Max.
		{7, []int{0}, []int{7}},
		// A does not fit but the narrow B does: show what fits.
		{3, []int{1}, []int{3}},
		// Nothing fits at its Min: the most important column, cut.
		{2, []int{0}, []int{2}},
		{0, []int{}, []int{}},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.width), func(t *testing.T) {
			tb := NewTable(threeCols()...)
			tb.SetWidth(tc.width)
			if !equalInts(tb.shown, tc.shown) || !equalInts(tb.widths, tc.widths) {
				t.Fatalf("width %d: shown %v widths %v, want %v %v", tc.width, tb.shown, tb.widths, tc.shown, tc.widths)
			}
			for col := range 3 {
				want := false
				for _, s := range tc.shown {
					want = want || s == col
				}
				if tb.Shown(col) != want {
					t.Errorf("Shown(%d) = %v, want %v", col, !want, want)
				}
			}
			if w := ansi.StringWidth(tb.Header(lipgloss.NewStyle())); w > tc.width {
				t.Errorf("header is %d wide in %d", w, tc.width)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTableLayoutCachedPerWidth(t *testing.T) {
	tb := NewTable(threeCols()...)
	tb.SetWidth(20)
	tb.widths[0] = 99 // a re-layout would overwrite this
	tb.SetWidth(20)
	if tb.widths[0] != 99 || tb.Width() != 20 {
		t.Fatal("SetWidth with the same width laid the columns out again")
	}
	tb.SetWidth(21)
	if tb.widths[0] == 99 {
		t.Fatal("SetWidth with a new width kept the old layout")
	}
}

// countingRows serves rows "r<i>" and counts what the table asks for.
type countingRows struct {
	asked []int
	style *lipgloss.Style
}

func (c *countingRows) Cells(i int, dst []string) {
	c.asked = append(c.asked, i)
	dst[0] = "row" + strconv.Itoa(i)
	dst[1] = strconv.Itoa(i % 1000)
	dst[2] = strings.Repeat("x", i%12)
}

func (c *countingRows) CellStyle(_, col int) *lipgloss.Style {
	if col == 2 {
		return c.style
	}
	return nil
}

func TestTableRendersOnlyVisibleRows(t *testing.T) {
	st := common.NewStyles(common.Theme{Plain: true})
	tb := NewTable(threeCols()...)
	tb.SetWidth(20)
	src := &countingRows{}
	out := tb.Render(src, 5000, 3, 5001, st)
	if !equalInts(src.asked, []int{5000, 5001, 5002}) {
		t.Fatalf("table asked for rows %v, want only 5000-5002", src.asked)
	}
	lines := strings.Split(out, "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), out)
	}
	plain := ansi.Strip(lines[0])
	if plain != "row5000   0 xxxxxxxx" {
		t.Errorf("row 5000 = %q", plain)
	}
	// The selected row is drawn reversed (plain theme) across the width.
	if !strings.Contains(lines[1], "\x1b[7m") {
		t.Errorf("selected row not highlighted: %q", lines[1])
	}
	if w := ansi.StringWidth(lines[1]); w != 20 {
		t.Errorf("selected row is %d wide, want the full 20", w)
	}
	// 5002 % 12 = 10 x's, cut to the column's 8 cells.
	if got := ansi.Strip(lines[2]); got != "row5002   2 xxxxxxx…" {
		t.Errorf("right-aligned number or cell text wrong: %q", got)
	}
}

func TestTableCellStyle(t *testing.T) {
	st := common.NewStyles(common.Theme{Dark: true})
	red := st.Action[2]
	tb := NewTable(threeCols()...)
	tb.SetWidth(30)
	out := tb.Render(&countingRows{style: &red}, 3, 1, -1, st)
	if !strings.Contains(out, "38;2;") {
		t.Errorf("cell style not applied: %q", out)
	}
	if got := ansi.Strip(out); !strings.Contains(got, "xxx") {
		t.Errorf("styled cell lost its text: %q", got)
	}
}

func TestTableEveryWidthFits(t *testing.T) {
	st := common.NewStyles(common.Theme{Dark: true})
	wide := []Column{
		{Title: "TIME", Min: 8, Max: 8, Priority: 1},
		{Title: "東京 WIDE", Min: 3, Pref: 9, Max: 30, Priority: 3},
		{Title: "N", Min: 2, Max: 6, Priority: 0, Right: true},
	}
	for w := 0; w <= 80; w++ {
		tb := NewTable(wide...)
		tb.SetWidth(w)
		src := &wideRows{}
		lines := append([]string{tb.Header(st.TableHeader)}, strings.Split(tb.Render(src, 0, 4, 1, st), "\n")...)
		for _, l := range lines {
			if got := ansi.StringWidth(l); got > w {
				t.Fatalf("width %d: line %q is %d wide", w, ansi.Strip(l), got)
			}
		}
	}
}

type wideRows struct{}

func (wideRows) Cells(i int, dst []string) {
	dst[0] = "10:00:0" + strconv.Itoa(i)
	dst[1] = strings.Repeat("東", i*5)
	dst[2] = strconv.Itoa(i * 12345)
}

func (wideRows) CellStyle(int, int) *lipgloss.Style { return nil }

// SizeTo keeps each column as narrow as its content, down to its Min, and
// follows the content when it changes.
func TestTableSizeTo(t *testing.T) {
	tb := NewTable(
		Column{Title: "USER", Min: 4, Pref: 14, Max: 32},
		Column{Title: "EMAIL", Min: 5, Pref: 22, Max: 40},
		Column{Title: "N", Min: 3, Max: 8, Right: true},
	)
	tb.SetWidth(100)
	src := cellRows{{"ab", "a@b.c", "7"}, {"carol", "c@d.e", "12"}}
	tb.SizeTo(src, len(src))
	if got := tb.Header(lipgloss.NewStyle()); got != "USER  EMAIL   N" {
		t.Errorf("header %q, want the columns as wide as their content", got)
	}
	long := cellRows{{"a-very-long-user-id-indeed-yes-it-is", "x", "1"}}
	tb.SizeTo(long, 1)
	if got := tb.Header(lipgloss.NewStyle()); got != "USER"+strings.Repeat(" ", 29)+"EMAIL   N" {
		t.Errorf("header %q, want USER grown to its Max (32) and EMAIL back to its title", got)
	}
}

// cellRows is a RowSource of plain cells.
type cellRows [][]string

func (r cellRows) Cells(i int, dst []string)          { copy(dst, r[i]) }
func (r cellRows) CellStyle(int, int) *lipgloss.Style { return nil }
