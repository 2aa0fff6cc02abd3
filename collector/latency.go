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

// quantile returns the q-quantile (0..1) of the stored samples by the
// nearest-rank method, 0 when there are none.
func (r *latencyRing) quantile(q float64) time.Duration {
	if r.n == 0 {
		return 0
	}
	s := slices.Clone(r.buf[:r.n])
	slices.Sort(s)
	i := int(q*float64(r.n)+0.999999) - 1
	return s[min(max(i, 0), r.n-1)]
}
