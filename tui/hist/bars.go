package hist

import (
	"math"

	"github.com/riskwatch/riskwatch/decision"
)

// scored is the number of actions that carry scores (allow, challenge,
// deny); error decisions have no scores and are not in histograms.
const scored = 3

// widths are the bucket widths the chart chooses from, finest first; each
// divides 100.
var widths = [...]int{1, 2, 5, 10}

// Columns of a bucket: its bar, then (when the previous window is shown)
// a column for the previous window's bar beside it, then a gap; with only
// three columns the previous window's column is the gap. A bar is at least
// minBar columns wide so that it reads as a bar; maxColumn caps a bucket's
// columns so wide terminals do not get slabs.
const (
	minBar    = 2
	minColumn = minBar + 1
	maxColumn = 12
)

// BucketWidth returns the finest bucket width (1, 2, 5 or 10 score points)
// whose 100/w buckets each fit a readable bar and a gap in cols columns,
// and 10 when none does.
func BucketWidth(cols int) int {
	for _, w := range widths {
		if (100/w)*minColumn <= cols {
			return w
		}
	}
	return widths[len(widths)-1]
}

// columnWidth is how many columns each of the 100/w buckets gets in cols,
// the bars growing to fill the width: at least 1, at most maxColumn.
func columnWidth(cols, w int) int {
	return min(max(cols/(100/w), 1), maxColumn)
}

// bar is one bucket of the chart: scores [lo, hi) (the last bucket also
// holds 100), its counts by scored action, and the previous window's total.
type bar struct {
	lo, hi int
	counts [scored]uint64
	total  uint64
	prev   uint64
}

// group folds a 101-bucket histogram into 100/w bars of w points; the last
// bar also counts score 100. prev, when not nil, fills each bar's prev.
func group(h, prev *decision.Histogram, w int) []bar {
	if w <= 0 || 100%w != 0 {
		w = 10
	}
	n := 100 / w
	bars := make([]bar, n)
	for i := range bars {
		bars[i].lo, bars[i].hi = i*w, (i+1)*w
	}
	for b := range 101 {
		i := min(b/w, n-1)
		if h != nil {
			for a := range scored {
				c := h.Counts[b][a]
				bars[i].counts[a] += c
				bars[i].total += c
			}
		}
		if prev != nil {
			for a := range scored {
				bars[i].prev += prev.Counts[b][a]
			}
		}
	}
	return bars
}

// level is the height in cells (0..rows) of a bar of count v when the
// tallest is peak: proportional (or proportional to log(1+v) when log is
// set), rounded up, so any non-zero count shows at least one cell.
func level(v, peak uint64, rows int, log bool) int {
	if v == 0 || peak == 0 || rows <= 0 {
		return 0
	}
	var f float64
	if log {
		f = math.Log1p(float64(v)) / math.Log1p(float64(peak))
	} else {
		f = float64(v) / float64(peak)
	}
	return min(max(int(math.Ceil(f*float64(rows)-1e-9)), 1), rows)
}

// valueAt is the count at the top of level cells of rows, rounded down:
// the inverse of level, for the y axis labels (a count above it reaches at
// least level cells, one at it at most level).
func valueAt(lvl, rows int, peak uint64, log bool) uint64 {
	if rows <= 0 || lvl <= 0 {
		return 0
	}
	f := float64(lvl) / float64(rows)
	if log {
		return uint64(math.Floor(math.Expm1(f*math.Log1p(float64(peak))) + 1e-9))
	}
	return uint64(math.Floor(f*float64(peak) + 1e-9))
}

// split divides a bar of height cells among the actions in proportion to
// counts (largest remainder), giving every non-zero action a cell while
// there are cells to give.
func split(counts [scored]uint64, height int) [scored]int {
	var out [scored]int
	var total uint64
	nonZero := 0
	for _, c := range counts {
		total += c
		if c > 0 {
			nonZero++
		}
	}
	if total == 0 || height <= 0 {
		return out
	}
	// Reserve one cell per non-zero action when there is room, then share
	// the rest proportionally.
	reserve := 0
	if height >= nonZero {
		reserve = 1
	}
	rest := height - reserve*nonZero
	var rem [scored]float64
	given := 0
	for a, c := range counts {
		if c == 0 {
			continue
		}
		exact := float64(c) * float64(rest) / float64(total)
		out[a] = int(exact) + reserve
		rem[a] = exact - float64(int(exact))
		given += out[a]
	}
	for given < height {
		best := -1
		for a, c := range counts {
			if c > 0 && (best < 0 || rem[a] > rem[best]) {
				best = a
			}
		}
		out[best]++
		rem[best] = -1
		given++
	}
	return out
}
