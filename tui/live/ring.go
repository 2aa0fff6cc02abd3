package live

import "github.com/riskwatch/riskwatch/decision"

// Ring keeps the newest decisions up to a capacity. Every decision pushed
// gets an absolute position (0, 1, 2, ... since the last Reset), so a view
// can hold on to a row while newer ones arrive and older ones are evicted.
// Push copies the decision and costs O(1).
type Ring struct {
	buf []decision.Decision
	cap int
	n   uint64 // decisions pushed since Reset: the position of the next one
}

// NewRing returns an empty ring holding up to capacity decisions (at least
// one). Memory grows with use up to the capacity.
func NewRing(capacity int) *Ring {
	return &Ring{cap: max(capacity, 1)}
}

// Push adds a copy of d as the newest decision, evicting the oldest when
// the ring is full.
func (r *Ring) Push(d *decision.Decision) {
	if len(r.buf) < r.cap {
		r.buf = append(r.buf, *d)
	} else {
		r.buf[r.n%uint64(r.cap)] = *d
	}
	r.n++
}

// Reset empties the ring and restarts positions at 0, keeping its memory.
func (r *Ring) Reset() {
	clear(r.buf)
	r.buf = r.buf[:0]
	r.n = 0
}

// Len is the number of decisions held.
func (r *Ring) Len() int { return len(r.buf) }

// Cap is the most decisions the ring holds.
func (r *Ring) Cap() int { return r.cap }

// Total is the number of decisions pushed since Reset, evicted ones included.
func (r *Ring) Total() uint64 { return r.n }

// First is the position of the oldest decision held.
func (r *Ring) First() uint64 { return r.n - uint64(len(r.buf)) }

// End is the position after the newest decision.
func (r *Ring) End() uint64 { return r.n }

// Overflowed reports whether decisions have been evicted since Reset.
func (r *Ring) Overflowed() bool { return r.n > uint64(len(r.buf)) }

// At returns the decision at position pos, or nil when it is not held. The
// pointer is valid until the next Push or Reset.
func (r *Ring) At(pos uint64) *decision.Decision {
	if pos < r.First() || pos >= r.n {
		return nil
	}
	return &r.buf[pos%uint64(r.cap)]
}

// Each calls fn with every row held, oldest first.
func (r *Ring) Each(fn func(*decision.Decision)) {
	for p := r.First(); p < r.End(); p++ {
		fn(r.At(p))
	}
}
