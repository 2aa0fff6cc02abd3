package collector

import (
	"context"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/alert"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// Cache bounds of AlertSource, in minutes per filter (and score): enough
// for a day's window and a day's baseline. A cache that would grow beyond
// its bound starts over.
const (
	maxCachedCounts = 4096
	maxCachedHists  = 3000
)

// AlertSource is the alert.Source over a store: per-minute counts and
// score histograms by event time (store.CountMinutes, HistogramMinutes),
// kept per filter and minute so that each evaluation reads only the
// minutes it has not read before. A minute is kept once it ended at least
// settle ago (later decisions of a kept minute, a backfill, are not seen:
// as alert.Evaluator documents, live evaluation does not look back). It is
// safe for concurrent use.
type AlertSource struct {
	db     *store.DB
	now    func() time.Time
	settle time.Duration

	mu     sync.Mutex
	counts map[string]map[int64]uint64
	hists  map[histKey]map[int64]*decision.Histogram
}

type histKey struct {
	filter string
	score  decision.Score
}

// NewAlertSource returns the alert.Source of db. now (nil: time.Now) and
// settle say which minutes are complete enough to keep.
func NewAlertSource(db *store.DB, now func() time.Time, settle time.Duration) *AlertSource {
	if now == nil {
		now = time.Now
	}
	return &AlertSource{db: db, now: now, settle: settle,
		counts: map[string]map[int64]uint64{}, hists: map[histKey]map[int64]*decision.Histogram{}}
}

var _ alert.Source = (*AlertSource)(nil)

// Count implements alert.Source.
func (s *AlertSource) Count(ctx context.Context, f *decision.Filter, from, to time.Time) (uint64, error) {
	key := f.String()
	var n uint64
	err := s.fill(from, to, func(m int64) bool {
		c, ok := s.counts[key][m]
		n += c
		return ok
	}, func(lo, hi time.Time) error {
		cs, err := s.db.CountMinutes(ctx, f, lo, hi)
		if err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		cache := s.counts[key]
		if cache == nil || len(cache)+len(cs) > maxCachedCounts {
			cache = make(map[int64]uint64, len(cs))
			s.counts[key] = cache
		}
		for i, c := range cs {
			n += c
			if m := lo.Unix() + int64(i)*60; s.settled(m) {
				cache[m] = c
			}
		}
		return nil
	})
	return n, err
}

// Histogram implements alert.Source.
func (s *AlertSource) Histogram(ctx context.Context, f *decision.Filter, sc decision.Score, from, to time.Time) (decision.Histogram, error) {
	key := histKey{f.String(), sc}
	h := decision.Histogram{Score: sc, From: from, To: to}
	add := func(m *decision.Histogram) {
		for b := range m.Counts {
			for a, c := range m.Counts[b] {
				h.Counts[b][a] += c
			}
		}
		h.Total += m.Total
	}
	err := s.fill(from, to, func(m int64) bool {
		c, ok := s.hists[key][m]
		if ok {
			add(c)
		}
		return ok
	}, func(lo, hi time.Time) error {
		hs, err := s.db.HistogramMinutes(ctx, f, sc, lo, hi)
		if err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		cache := s.hists[key]
		if cache == nil || len(cache)+len(hs) > maxCachedHists {
			cache = make(map[int64]*decision.Histogram, len(hs))
			s.hists[key] = cache
		}
		for i := range hs {
			add(&hs[i])
			if m := lo.Unix() + int64(i)*60; s.settled(m) {
				cache[m] = &hs[i]
			}
		}
		return nil
	})
	return h, err
}

// settled reports whether the minute starting at unix second m ended at
// least settle ago.
func (s *AlertSource) settled(m int64) bool {
	return !time.Unix(m+60, 0).Add(s.settle).After(s.now())
}

// fill walks the minutes of [from, to): cached reports (under the lock)
// whether a minute is kept, adding it to the answer; each run of minutes
// that are not is read with read, outside the lock.
func (s *AlertSource) fill(from, to time.Time, cached func(m int64) bool, read func(lo, hi time.Time) error) error {
	lo, hi := from.Unix(), to.Unix()
	var runs [][2]int64
	s.mu.Lock()
	for m := lo; m < hi; m += 60 {
		if cached(m) {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1][1] == m {
			runs[n-1][1] = m + 60
		} else {
			runs = append(runs, [2]int64{m, m + 60})
		}
	}
	s.mu.Unlock()
	for _, r := range runs {
		if err := read(time.Unix(r[0], 0).UTC(), time.Unix(r[1], 0).UTC()); err != nil {
			return err
		}
	}
	return nil
}
