package explain

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Series bins the decisions of ds that match over [from, to) into bins
// equal bins by event time and returns the count of each, oldest first:
// the data of a driver's sparkline (pass Driver.Match, or a function that
// also checks the action for a deny-mode driver). Decisions outside
// [from, to) are ignored; ds need not be sorted. It fails when bins is not
// positive or to is not after from.
func Series(ds []decision.Decision, match func(*decision.Decision) bool, from, to time.Time, bins int) ([]uint64, error) {
	span := to.Sub(from)
	if bins <= 0 || span <= 0 {
		return nil, fmt.Errorf("explain series: %d bins over [%v, %v): want bins and a period", bins, from, to)
	}
	counts := make([]uint64, bins)
	for i := range ds {
		t := ds[i].EventTime
		if t.Before(from) || !t.Before(to) || !match(&ds[i]) {
			continue
		}
		// The bin is floor(offset × bins / span), exactly, in 128 bits (the
		// high word is below span because offset is).
		hi, lo := bits.Mul64(uint64(t.Sub(from)), uint64(bins))
		b, _ := bits.Div64(hi, lo, uint64(span))
		// b < bins, except for offset == span when Sub saturates (periods
		// of centuries).
		counts[min(b, uint64(bins-1))]++
	}
	return counts, nil
}
