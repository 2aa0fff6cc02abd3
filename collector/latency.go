package collector

import (
	"slices"
	"time"
)

// latencyRing keeps the most recent Safe-e latencies for percentiles. It is
// not safe for concurrent use; its owner locks.
type latencyRing struct {
	buf  [1024]time.Duration
	n    int // samples stored, up to len(buf)
	next int
}

func (r *latencyRing) add(d time.Duration) {
	r.buf[r.next] = d
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// quantiles returns the median and the 99th percentile of the stored
// samples by the nearest-rank method (one sort for both), zeros when there
// are none.
func (r *latencyRing) quantiles() (p50, p99 time.Duration) {
	if r.n == 0 {
		return 0, 0
	}
	s := slices.Clone(r.buf[:r.n])
	slices.Sort(s)
	rank := func(q float64) time.Duration {
		i := int(q*float64(r.n)+0.999999) - 1
		return s[min(max(i, 0), r.n-1)]
	}
	return rank(0.50), rank(0.99)
}
