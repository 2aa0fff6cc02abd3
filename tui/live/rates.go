package live

import (
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// RateWindow is how many minutes of per-minute counts the header keeps.
const RateWindow = 60

// Rates counts decisions per minute of event time and action over the last
// RateWindow minutes. Add is O(1); a minute's slot is reused once it leaves
// the window.
type Rates struct {
	slots   [RateWindow]rateSlot
	version uint64
}

type rateSlot struct {
	minute int64 // Unix minute the counts belong to
	by     [decision.NumActions]uint64
}

func unixMinute(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 59) / 60
	}
	return s / 60
}

func (r *Rates) slot(minute int64) *rateSlot {
	i := minute % RateWindow
	if i < 0 {
		i += RateWindow
	}
	return &r.slots[i]
}

// Add counts one decision with event time t and action a. A decision older
// than the minute its slot now holds is outside the window and ignored. An
// unknown action counts as an error.
func (r *Rates) Add(t time.Time, a decision.Action) {
	m := unixMinute(t)
	s := r.slot(m)
	if s.minute != m {
		if m < s.minute {
			return
		}
		*s = rateSlot{minute: m}
	}
	i := a.Index()
	if i < 0 {
		i = decision.ActionError.Index()
	}
	s.by[i]++
	r.version++
}

// Load replaces the counts with a rollup (oldest first, as api.Reader.Rates
// returns it).
func (r *Rates) Load(counts []decision.MinuteCounts) {
	r.slots = [RateWindow]rateSlot{}
	for _, c := range counts {
		m := unixMinute(c.Minute)
		s := r.slot(m)
		if m < s.minute {
			continue
		}
		*s = rateSlot{minute: m, by: c.ByAction}
	}
	r.version++
}

// Version changes whenever the counts do; renderers cache on it.
func (r *Rates) Version() uint64 { return r.version }

// PerMinute is the rate of series s over the 60 seconds ending at now: the
// current minute's count plus the previous minute's, weighted by the share
// of it still inside those 60 seconds. Unlike the last complete minute, it
// shows a rate from the first seconds on and moves smoothly across minute
// boundaries.
func (r *Rates) PerMinute(now time.Time, s common.Series) uint64 {
	cur := unixMinute(now)
	var c, p uint64
	if sl := r.slot(cur); sl.minute == cur {
		c = seriesValue(sl.by, s)
	}
	if sl := r.slot(cur - 1); sl.minute == cur-1 {
		p = seriesValue(sl.by, s)
	}
	left := time.Unix((cur+1)*60, 0).Sub(now) // of the current minute, in (0, 1m]
	return c + uint64(float64(p)*float64(left)/float64(time.Minute)+0.5)
}

// Series appends to dst the last n minutes (at most RateWindow) of series s
// ending with the minute containing now, oldest first.
func (r *Rates) Series(now time.Time, n int, s common.Series, dst []uint64) []uint64 {
	n = min(max(n, 0), RateWindow)
	last := unixMinute(now)
	for m := last - int64(n) + 1; m <= last; m++ {
		var v uint64
		if sl := r.slot(m); sl.minute == m {
			v = seriesValue(sl.by, s)
		}
		dst = append(dst, v)
	}
	return dst
}

func seriesValue(by [decision.NumActions]uint64, s common.Series) uint64 {
	switch s {
	case common.SeriesEvents:
		var t uint64
		for _, v := range by {
			t += v
		}
		return t
	case common.SeriesAllow:
		return by[decision.ActionAllow.Index()]
	case common.SeriesChallenge:
		return by[decision.ActionChallenge.Index()]
	case common.SeriesDeny:
		return by[decision.ActionDeny.Index()]
	case common.SeriesError:
		return by[decision.ActionError.Index()]
	}
	return 0
}
