package live

import (
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// RateWindow is how many minutes of per-minute counts the header keeps.
const RateWindow = 120

// Fine buckets: the header draws the recent minutes in FineStep buckets,
// FineWindow of them at most (the last ten minutes).
const (
	FineStep   = 10 * time.Second
	FineWindow = 60
	// finePerMinute is how many fine buckets make a minute.
	finePerMinute = int(time.Minute / FineStep)
)

// Rates counts decisions by event time and action: per minute over the
// last RateWindow minutes, from the store's rollups (Load) and the
// decisions that arrive (Add); and per FineStep over the last FineWindow
// buckets, from the decisions that arrive and a seed of recent ones
// (Seed). Add is O(1); a slot is reused once it leaves its window.
type Rates struct {
	slots [RateWindow]rateSlot
	fine  [FineWindow]rateSlot
	// fineFrom is the first fine bucket (unix time / FineStep) the fine
	// counts are complete from; an earlier bucket is drawn as its minute's
	// average. Zero when every bucket is complete.
	fineFrom int64
	version  uint64
}

// rateSlot holds the counts of one period: a minute or a fine bucket.
type rateSlot struct {
	period int64 // unix time / the period's length
	by     [decision.NumActions]uint64
}

// period is t's index among periods of secs seconds (floor division, so
// that times before 1970 fall in the right one).
func period(t time.Time, secs int64) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - secs + 1) / secs
	}
	return s / secs
}

func unixMinute(t time.Time) int64 { return period(t, 60) }
func unixFine(t time.Time) int64   { return period(t, int64(FineStep/time.Second)) }

func slotOf(slots []rateSlot, p int64) *rateSlot {
	i := p % int64(len(slots))
	if i < 0 {
		i += int64(len(slots))
	}
	return &slots[i]
}

// count adds one decision of action index ai to period p's slot, unless
// the slot holds a newer period (p left the window).
func count(slots []rateSlot, p int64, ai int) bool {
	s := slotOf(slots, p)
	if s.period != p {
		if p < s.period {
			return false
		}
		*s = rateSlot{period: p}
	}
	s.by[ai]++
	return true
}

// get returns period p's counts, zeros when its slot holds another.
func get(slots []rateSlot, p int64) [decision.NumActions]uint64 {
	if s := slotOf(slots, p); s.period == p {
		return s.by
	}
	return [decision.NumActions]uint64{}
}

// actionIndex is a's index, an unknown action counting as an error.
func actionIndex(a decision.Action) int {
	if i := a.Index(); i >= 0 {
		return i
	}
	return decision.ActionError.Index()
}

// Add counts one decision with event time t and action a. A decision
// older than what a slot now holds is outside the window and ignored.
func (r *Rates) Add(t time.Time, a decision.Action) { r.AddTo(t, a, true, true) }

// AddTo counts one decision in the per-minute counts, the fine ones, or
// both: a decision that arrived while they were being read may be in one
// of the answers and not in the other.
func (r *Rates) AddTo(t time.Time, a decision.Action, minutes, fine bool) {
	ai := actionIndex(a)
	changed := false
	if minutes && count(r.slots[:], unixMinute(t), ai) {
		changed = true
	}
	if fine && count(r.fine[:], unixFine(t), ai) {
		changed = true
	}
	if changed {
		r.version++
	}
}

// Load replaces the per-minute counts with a rollup (oldest first, as
// api.Reader.Rates returns it).
func (r *Rates) Load(counts []decision.MinuteCounts) {
	r.slots = [RateWindow]rateSlot{}
	for _, c := range counts {
		m := unixMinute(c.Minute)
		s := slotOf(r.slots[:], m)
		if m < s.period {
			continue
		}
		*s = rateSlot{period: m, by: c.ByAction}
	}
	r.version++
}

// Seed replaces the fine counts with those of ds, recent decisions in
// arrival order, newest first, as api.Reader.Latest returns them. When
// complete is false, ds are only the newest of the store's decisions:
// the buckets before the oldest one's arrival are then not known, and are
// drawn as their minute's average.
func (r *Rates) Seed(ds []decision.Decision, complete bool) {
	r.fine = [FineWindow]rateSlot{}
	r.fineFrom = 0
	if !complete && len(ds) > 0 {
		oldest := ds[len(ds)-1].Time
		r.fineFrom = unixFine(oldest) + 1
	}
	for i := range ds {
		count(r.fine[:], unixFine(ds[i].EventTime), actionIndex(ds[i].Action))
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
	c := seriesValue(get(r.slots[:], cur), s)
	p := seriesValue(get(r.slots[:], cur-1), s)
	left := time.Unix((cur+1)*60, 0).Sub(now) // of the current minute, in (0, 1m]
	return c + uint64(float64(p)*float64(left)/float64(time.Minute)+0.5)
}

// Minutes returns the counts by action of the n minutes ending with the
// one containing now (that one so far), summed.
func (r *Rates) Minutes(now time.Time, n int) [decision.NumActions]uint64 {
	var out [decision.NumActions]uint64
	cur := unixMinute(now)
	for m := cur - int64(min(max(n, 0), RateWindow)) + 1; m <= cur; m++ {
		by := get(r.slots[:], m)
		for i := range out {
			out[i] += by[i]
		}
	}
	return out
}

// chartShape is how the header's chart spends its cells: minutes cells of
// one minute each, then fine cells of one FineStep each covering the last
// fineMinutes minutes up to the end of the current one.
type chartShape struct {
	minutes, fineMinutes int
}

// cells is the chart's width.
func (c chartShape) cells() int { return c.minutes + c.fineMinutes*finePerMinute }

// shapeFor spreads width cells: up to half of them (and FineWindow) for
// whole minutes of fine buckets, the rest for minutes (up to what
// RateWindow keeps).
func shapeFor(width int) chartShape {
	fm := min(width/2/finePerMinute, FineWindow/finePerMinute)
	return chartShape{fineMinutes: fm, minutes: max(min(width-fm*finePerMinute, RateWindow-fm), 0)}
}

// Chart appends to dst the chart of series s at now in shape c, as rates
// per minute so that minute and fine cells compare: a minute cell is the
// minute's count; a fine cell is its count times six, or its minute's
// count when the fine counts do not reach back to it. It returns the
// index of the cell of the current fine bucket (incomplete: its rate is
// its count so far over the seconds elapsed); the cells after it are in
// the future and are zero.
func (r *Rates) Chart(now time.Time, c chartShape, s common.Series, dst []uint64) ([]uint64, int) {
	cur := unixMinute(now)
	firstFine := cur - int64(c.fineMinutes) + 1
	for m := firstFine - int64(c.minutes); m < firstFine; m++ {
		dst = append(dst, seriesValue(get(r.slots[:], m), s))
	}
	curFine := unixFine(now)
	current := -1
	step := int64(FineStep / time.Second)
	for f := firstFine * int64(finePerMinute); f < (cur+1)*int64(finePerMinute); f++ {
		var v uint64
		switch {
		case f > curFine:
		case f < r.fineFrom:
			v = seriesValue(get(r.slots[:], f*step/60), s)
		case f == curFine:
			current = len(dst)
			elapsed := max(now.Sub(time.Unix(f*step, 0)), time.Second)
			v = uint64(float64(seriesValue(get(r.fine[:], f), s))*float64(time.Minute)/float64(elapsed) + 0.5)
		default:
			v = seriesValue(get(r.fine[:], f), s) * uint64(finePerMinute)
		}
		dst = append(dst, v)
	}
	return dst, current
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
