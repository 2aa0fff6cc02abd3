package hist

import (
	"testing"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

func TestBucketWidth(t *testing.T) {
	tests := []struct{ cols, want int }{
		{-5, 10}, {0, 10}, {29, 10}, // too narrow even for 10 bars
		{30, 10}, {59, 10},
		{60, 5}, {149, 5},
		{150, 2}, {299, 2},
		{300, 1}, {1000, 1},
	}
	for _, tc := range tests {
		if got := BucketWidth(tc.cols); got != tc.want {
			t.Errorf("BucketWidth(%d) = %d, want %d", tc.cols, got, tc.want)
		}
	}
	// Whatever the width, the bars fit it, and once there is room for
	// the coarsest, each bar is readable, with or without the previous
	// window beside it, and the bars stand apart.
	for cols := minColumn * 10; cols <= 400; cols++ {
		w := BucketWidth(cols)
		if 100%w != 0 {
			t.Fatalf("width %d does not divide 100", w)
		}
		cw := columnWidth(cols, w)
		if (100/w)*cw > cols || cw < minColumn || cw > maxColumn {
			t.Fatalf("cols %d: %d bars of %d columns", cols, 100/w, cw)
		}
		for _, compare := range []bool{false, true} {
			c := chart{cw: cw, compare: compare}
			bar, prev, gap := c.columns()
			if bar < minBar || prev+gap < 1 || bar+prev+gap != cw || (prev == 1) != compare {
				t.Fatalf("cols %d compare %v: bar %d prev %d gap %d of %d", cols, compare, bar, prev, gap, cw)
			}
		}
	}
}

func TestLevel(t *testing.T) {
	tests := []struct {
		v, peak uint64
		rows    int
		log     bool
		want    int
	}{
		{0, 100, 10, false, 0},
		{1, 100, 10, false, 1}, // any count shows
		{10, 100, 10, false, 1},
		{11, 100, 10, false, 2},
		{50, 100, 10, false, 5},
		{100, 100, 10, false, 10},
		{5, 0, 10, false, 0},
		{5, 5, 0, false, 0},
		// Log scale: log(1+v)/log(1+peak) of the rows, rounded up.
		{1, 1000, 10, true, 2},  // 0.100 -> 1.003 -> 2
		{9, 1000, 10, true, 4},  // 0.333
		{99, 1000, 10, true, 7}, // 0.667
		{1000, 1000, 10, true, 10},
		{1, 1000, 10, false, 1}, // linear for contrast
	}
	for _, tc := range tests {
		if got := level(tc.v, tc.peak, tc.rows, tc.log); got != tc.want {
			t.Errorf("level(%d, %d, %d, log=%v) = %d, want %d", tc.v, tc.peak, tc.rows, tc.log, got, tc.want)
		}
	}
	// The axis labels invert the scale: the count a full column stands for
	// is the peak, and valueAt's count is at the top of its level.
	for _, log := range []bool{false, true} {
		if got := valueAt(10, 10, 1000, log); got != 1000 {
			t.Errorf("valueAt(top, log=%v) = %d, want 1000", log, got)
		}
		for lvl := 1; lvl <= 10; lvl++ {
			v := valueAt(lvl, 10, 1000, log)
			if lo, hi := level(v, 1000, 10, log), level(v+1, 1000, 10, log); lo > lvl || hi < lvl {
				t.Errorf("log=%v: valueAt(%d)=%d has levels %d..%d", log, lvl, v, lo, hi)
			}
		}
	}
	if got := valueAt(5, 10, 1000, true); got != 30 {
		t.Errorf("log mid label = %d, want 30 (sqrt(1001)-1 rounded down)", got)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		counts [scored]uint64
		height int
		want   [scored]int
	}{
		{[scored]uint64{10, 0, 0}, 5, [scored]int{5, 0, 0}},
		{[scored]uint64{50, 30, 20}, 10, [scored]int{5, 3, 2}},
		// A rare deny still gets a cell.
		{[scored]uint64{990, 9, 1}, 10, [scored]int{8, 1, 1}},
		// Fewer cells than actions: largest shares win.
		{[scored]uint64{5, 3, 2}, 2, [scored]int{1, 1, 0}},
		{[scored]uint64{0, 0, 0}, 4, [scored]int{}},
		{[scored]uint64{1, 1, 1}, 0, [scored]int{}},
	}
	for _, tc := range tests {
		got := split(tc.counts, tc.height)
		if got != tc.want {
			t.Errorf("split(%v, %d) = %v, want %v", tc.counts, tc.height, got, tc.want)
		}
		if sum := got[0] + got[1] + got[2]; tc.counts != ([scored]uint64{}) && sum != tc.height {
			t.Errorf("split(%v, %d) fills %d cells", tc.counts, tc.height, sum)
		}
	}
}

func TestGroup(t *testing.T) {
	var h, prev decision.Histogram
	h.Counts[0][0] = 1
	h.Counts[9][1] = 2
	h.Counts[10][2] = 4
	h.Counts[99][0] = 8
	h.Counts[100][2] = 16 // score 100 joins the last bar
	prev.Counts[100][0] = 3
	for _, tc := range []struct {
		w    int
		bars int
		last [scored]uint64
	}{
		{10, 10, [scored]uint64{8, 0, 16}},
		{5, 20, [scored]uint64{8, 0, 16}},
		{1, 100, [scored]uint64{8, 0, 16}},
	} {
		bars := group(&h, &prev, tc.w)
		if len(bars) != tc.bars {
			t.Fatalf("w=%d: %d bars", tc.w, len(bars))
		}
		last := bars[len(bars)-1]
		if last.counts != tc.last || last.total != 24 || last.prev != 3 || last.hi != 100 {
			t.Errorf("w=%d: last bar %+v", tc.w, last)
		}
		var total uint64
		for i, b := range bars {
			total += b.total
			if b.lo != i*tc.w {
				t.Errorf("w=%d: bar %d starts at %d", tc.w, i, b.lo)
			}
		}
		if total != 31 {
			t.Errorf("w=%d: bars hold %d, want 31", tc.w, total)
		}
	}
	b := group(&h, nil, 10)
	if b[0].counts != [scored]uint64{1, 2, 0} || b[1].counts != [scored]uint64{0, 0, 4} || b[0].prev != 0 {
		t.Errorf("w=10 first bars %+v %+v", b[0], b[1])
	}
}

func TestRangeFilterAndLabels(t *testing.T) {
	hour := common.Windows[1]
	all := common.Windows[3]
	tests := []struct {
		s      decision.Score
		win    common.Window
		lo, hi int
		want   string
	}{
		{decision.ScoreRisk, hour, 40, 50, "risk>=40 risk<50 since:1h"},
		{decision.ScoreATO, all, 90, 101, "ato>=90"},
		{decision.ScoreBot, hour, 0, 10, "bot>=0 bot<10 -action:error since:1h"},
		{decision.ScoreAbuse, common.Windows[2], 7, 8, "abuse>=7 abuse<8 since:24h"},
	}
	for _, tc := range tests {
		got := rangeFilter(tc.s, tc.win, tc.lo, tc.hi)
		if got != tc.want {
			t.Errorf("rangeFilter = %q, want %q", got, tc.want)
		}
		if _, err := decision.ParseFilter(got, fixture.Now()); err != nil {
			t.Errorf("%q does not parse: %v", got, err)
		}
	}
	for _, tc := range []struct {
		b    bar
		want string
	}{
		{bar{lo: 40, hi: 50}, "40-49"},
		{bar{lo: 7, hi: 8}, "7"},
		{bar{lo: 90, hi: 100}, "90-100"},
		{bar{lo: 99, hi: 100}, "99-100"},
	} {
		if got := rangeLabel(tc.b); got != tc.want {
			t.Errorf("rangeLabel(%d,%d) = %q, want %q", tc.b.lo, tc.b.hi, got, tc.want)
		}
	}
}

func TestDeltaShareCompact(t *testing.T) {
	for _, tc := range []struct {
		cur, prev uint64
		want      string
	}{
		{100, 60, "+67%"}, {3, 2, "+50%"}, {1, 2, "-50%"}, {2, 3, "-33%"},
		{5, 5, "±0%"}, {0, 0, "±0"}, {4, 0, "new"}, {0, 4, "-100%"},
	} {
		if got := delta(tc.cur, tc.prev); got != tc.want {
			t.Errorf("delta(%d, %d) = %q, want %q", tc.cur, tc.prev, got, tc.want)
		}
	}
}

func TestChartLabels(t *testing.T) {
	for _, tc := range []struct {
		w, cw int
		want  string
	}{
		{10, 3, "0     20    40    60    80 100"},
		{5, 3, "0     10    20    30    40    50    60    70    80    90 100"},
	} {
		c := chart{bars: group(nil, nil, tc.w), cw: tc.cw}
		if got := c.labels(); got != tc.want {
			t.Errorf("w=%d cw=%d labels %q, want %q", tc.w, tc.cw, got, tc.want)
		}
	}
	// Narrow: every 50 points, and 100 dropped rather than touching 50.
	c := chart{bars: group(nil, nil, 10), cw: 1}
	if got := c.labels(); got != "0    50" {
		t.Errorf("narrow labels %q", got)
	}
}
