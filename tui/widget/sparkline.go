package widget

import (
	"math"
	"strings"
)

// sparkBlocks are the eight block heights; a zero value draws the lowest so
// an empty minute stays visible.
var sparkBlocks = [...]rune{'▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'}

// Sparkline draws values as one cell each, scaled so the largest value is a
// full block. Any non-zero value is drawn taller than zero.
func Sparkline(values []uint64) string {
	var peak uint64
	for _, v := range values {
		peak = max(peak, v)
	}
	var b strings.Builder
	b.Grow(len(values) * 3)
	for _, v := range values {
		b.WriteRune(sparkBlocks[sparkLevel(v, peak)])
	}
	return b.String()
}

func sparkLevel(v, peak uint64) int {
	if v == 0 || peak == 0 {
		return 0
	}
	top := len(sparkBlocks) - 1
	// ceil(v*top/peak): 1..top for v in (0, peak], so small counts show.
	// Floating point, so that no count can overflow the product.
	level := int(math.Ceil(float64(v) * float64(top) / float64(peak)))
	return min(max(level, 1), top)
}
