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
	return SparklineTo(values, peak)
}

// SparklineTo draws values on a given scale: peak is a full block, so
// that several sparklines drawn to one peak compare by height. A value
// above peak is drawn as a full block; any non-zero value is drawn taller
// than zero.
func SparklineTo(values []uint64, peak uint64) string {
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
	level := int(math.Ceil(float64(min(v, peak)) * float64(top) / float64(peak)))
	return min(max(level, 1), top)
}
