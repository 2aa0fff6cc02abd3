package health

import "time"

// latencies keeps, for each of the last Window minutes, the highest
// Safe-e latency percentiles the collector reported in it: the
// snapshots' p50 and p99 (over the collector's recent calls), sampled
// every second while the dashboard runs.
type latencies struct {
	slots [Window]latencySlot
}

type latencySlot struct {
	minute   int64 // unix minute, 0 when empty
	p50, p99 time.Duration
}

// add records a snapshot's percentiles taken at t.
func (l *latencies) add(t time.Time, p50, p99 time.Duration) {
	m := t.Unix() / 60
	s := &l.slots[m%Window]
	if s.minute != m {
		*s = latencySlot{minute: m}
	}
	s.p50, s.p99 = max(s.p50, p50), max(s.p99, p99)
}

// series appends to dst the highest p50 (or p99) of each of the last n
// minutes up to now's, oldest first, in microseconds; a minute without a
// snapshot is 0.
func (l *latencies) series(now time.Time, n int, p99 bool, dst []uint64) []uint64 {
	cur := now.Unix() / 60
	for m := cur - int64(min(n, Window)) + 1; m <= cur; m++ {
		var v time.Duration
		if s := &l.slots[(m%Window+Window)%Window]; s.minute == m {
			v = s.p50
			if p99 {
				v = s.p99
			}
		}
		dst = append(dst, uint64(v/time.Microsecond))
	}
	return dst
}
