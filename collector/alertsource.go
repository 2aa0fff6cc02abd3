package collector

import (
	"context"
	"slices"
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

// sharedChunk is how far ahead one shared walk reads (see Watch).
const sharedChunk = time.Hour

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
	// shared are the watched filters the rollups cannot answer, walked
	// together; sharedIdx finds them by text, and sharedHists lists the
	// histograms the walk keeps.
	shared      []*decision.Filter
	sharedIdx   map[string]int
	sharedHists []histKey
}

// Watch tells the source the rules it will be asked about. The filters of
// theirs that the rollups cannot answer are then read together: a minute
// one of them lacks is read for all of them in one walk of the decisions,
// along with the settled minutes up to an hour after it (what a backtest
// asks next), instead of one walk per filter.
func (s *AlertSource) Watch(rules []alert.Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range rules {
		f := rules[i].Filter
		if store.ByRollups(f) {
			continue
		}
		key := f.String()
		if _, ok := s.sharedIdx[key]; !ok {
			s.sharedIdx[key] = len(s.shared)
			s.shared = append(s.shared, f)
		}
		if hk := (histKey{key, rules[i].Score}); rules[i].Kind == alert.KindShift && !slices.Contains(s.sharedHists, hk) {
			s.sharedHists = append(s.sharedHists, hk)
		}
	}
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
	return &AlertSource{db: db, now: now, settle: settle, sharedIdx: map[string]int{},
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
		if s.isShared(key) {
			r, err := s.walkShared(ctx, lo, hi)
			for i := range int(hi.Sub(lo) / time.Minute) {
				n += r.counts[key][i]
			}
			return err
		}
		cs, err := s.db.CountMinutes(ctx, f, lo, hi)
		if err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range cs {
			n += c
		}
		s.keepCounts(key, lo, cs)
		return nil
	})
	return n, err
}

// keepCounts caches the settled minutes of cs, counts from lo; s.mu is
// held.
func (s *AlertSource) keepCounts(key string, lo time.Time, cs []uint64) {
	cache := s.counts[key]
	if cache == nil || len(cache)+len(cs) > maxCachedCounts {
		cache = make(map[int64]uint64, len(cs))
		s.counts[key] = cache
	}
	for i, c := range cs {
		if m := lo.Unix() + int64(i)*60; s.settled(m) {
			cache[m] = c
		}
	}
}

// keepHists caches the settled minutes of hs, histograms from lo; s.mu is
// held.
func (s *AlertSource) keepHists(key histKey, lo time.Time, hs []decision.Histogram) {
	cache := s.hists[key]
	if cache == nil || len(cache)+len(hs) > maxCachedHists {
		cache = make(map[int64]*decision.Histogram, len(hs))
		s.hists[key] = cache
	}
	for i := range hs {
		if m := lo.Unix() + int64(i)*60; s.settled(m) {
			cache[m] = &hs[i]
		}
	}
}

func (s *AlertSource) isShared(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.sharedIdx[key]
	return ok
}

func (s *AlertSource) isSharedHist(k histKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.sharedHists, k)
}

// shared is one walk's answers, per minute from its start, by filter and
// by histogram.
type shared struct {
	counts map[string][]uint64
	hists  map[histKey][]decision.Histogram
}

// walkShared reads the minutes [lo, hi), and the settled ones up to
// sharedChunk after lo, for every shared filter in one walk, and keeps
// the settled minutes.
func (s *AlertSource) walkShared(ctx context.Context, lo, hi time.Time) (shared, error) {
	s.mu.Lock()
	fs, hks := slices.Clone(s.shared), slices.Clone(s.sharedHists)
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.String()
	}
	s.mu.Unlock()
	ahead := lo.Add(sharedChunk)
	if settled := s.now().Add(-s.settle).Truncate(time.Minute); settled.Before(ahead) {
		ahead = settled
	}
	if ahead.After(hi) {
		hi = ahead
	}
	n := int(hi.Sub(lo) / time.Minute)
	r := shared{counts: make(map[string][]uint64, len(fs)), hists: make(map[histKey][]decision.Histogram, len(hks))}
	for _, k := range keys {
		r.counts[k] = make([]uint64, n)
	}
	hidx := make([][]int, len(fs)) // histograms by filter index
	for j, hk := range hks {
		hs := make([]decision.Histogram, n)
		for i := range hs {
			m := lo.Add(time.Duration(i) * time.Minute)
			hs[i] = decision.Histogram{Score: hk.score, From: m, To: m.Add(time.Minute)}
		}
		r.hists[hk] = hs
		fi := slices.Index(keys, hk.filter)
		hidx[fi] = append(hidx[fi], j)
	}
	err := s.db.MatchMinutes(ctx, fs, lo, hi, func(i int64, d *decision.Decision, match []bool) {
		a := d.Action.Index()
		for fi, ok := range match {
			if !ok {
				continue
			}
			r.counts[keys[fi]][i]++
			if a >= 3 {
				continue // error decisions carry no scores
			}
			for _, j := range hidx[fi] {
				h := &r.hists[hks[j]][i]
				h.Counts[decision.Bucket(d.ScoreValue(hks[j].score))][a]++
				h.Total++
			}
		}
	})
	if err != nil {
		return shared{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, cs := range r.counts {
		s.keepCounts(k, lo, cs)
	}
	for hk, hs := range r.hists {
		s.keepHists(hk, lo, hs)
	}
	return r, nil
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
		if s.isSharedHist(key) {
			r, err := s.walkShared(ctx, lo, hi)
			if err != nil {
				return err
			}
			for i := range int(hi.Sub(lo) / time.Minute) {
				add(&r.hists[key][i])
			}
			return nil
		}
		hs, err := s.db.HistogramMinutes(ctx, f, sc, lo, hi)
		if err != nil {
			return err
		}
		for i := range hs {
			add(&hs[i])
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.keepHists(key, lo, hs)
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
