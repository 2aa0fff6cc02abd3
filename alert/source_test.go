package alert

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// t0 is the start of every synthetic series.
var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// minute returns the minute end k minutes after t0.
func minute(k int) time.Time { return t0.Add(time.Duration(k) * time.Minute) }

// series is a synthetic per-minute Source: minute i is [t0+i, t0+i+1m).
// matched counts the decisions of the rule's (any non-empty) filter, total
// all decisions (a nil or empty filter), hist the matched decisions' score
// histogram (the same for every score). It refuses windows that are not
// whole minutes, so tests also prove evaluation never asks for one.
type series struct {
	matched, total []uint64
	hist           [][101]uint64

	mu    sync.Mutex
	asked []Window
}

func (s *series) span(from, to time.Time) (lo, hi int, err error) {
	if from.Truncate(time.Minute) != from || to.Truncate(time.Minute) != to {
		return 0, 0, fmt.Errorf("window [%s, %s) is not whole minutes", from, to)
	}
	s.mu.Lock()
	s.asked = append(s.asked, Window{From: from, To: to})
	s.mu.Unlock()
	return int(from.Sub(t0) / time.Minute), int(to.Sub(t0) / time.Minute), nil
}

func (s *series) Count(_ context.Context, f *decision.Filter, from, to time.Time) (uint64, error) {
	lo, hi, err := s.span(from, to)
	if err != nil {
		return 0, err
	}
	src := s.matched
	if f.Empty() {
		src = s.total
	}
	var n uint64
	for i := max(lo, 0); i < min(hi, len(src)); i++ {
		n += src[i]
	}
	return n, nil
}

func (s *series) Histogram(_ context.Context, _ *decision.Filter, sc decision.Score, from, to time.Time) (decision.Histogram, error) {
	lo, hi, err := s.span(from, to)
	if err != nil {
		return decision.Histogram{}, err
	}
	h := decision.Histogram{Score: sc, From: from, To: to}
	for i := max(lo, 0); i < min(hi, len(s.hist)); i++ {
		for b, n := range s.hist[i] {
			h.Counts[b][0] += n
			h.Total += n
		}
	}
	return h, nil
}

// flat returns n minutes of v each.
func flat(n int, v uint64) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// set sets minutes [from, to) of s to v and returns s.
func set(s []uint64, from, to int, v uint64) []uint64 {
	for i := from; i < to; i++ {
		s[i] = v
	}
	return s
}

// decisions is a Source over decisions, indexed by event time. Only the
// decisions that had arrived by now are visible, as in a live store. Like
// the collector's rollups, it keeps per-minute aggregates, of each filter,
// for every minute whose decisions have all arrived (maxLag after its end).
type decisions struct {
	ds      []decision.Decision // sorted by EventTime
	arrival []time.Time         // by index in ds
	now     time.Time           // zero: all visible

	counts map[minuteKey]uint64
	hists  map[minuteKey][101][decision.NumActions]uint64
}

// maxLag is how long after its event time a decision of traffic arrives.
const maxLag = 5 * time.Second

// minuteKey names one minute of one filter's (and score's) aggregates.
type minuteKey struct {
	filter string
	score  decision.Score
	minute time.Time
}

func newDecisions(ds []decision.Decision, arrival []time.Time) *decisions {
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ds[idx[a]].EventTime.Before(ds[idx[b]].EventTime) })
	src := &decisions{counts: map[minuteKey]uint64{}, hists: map[minuteKey][101][decision.NumActions]uint64{}}
	for _, i := range idx {
		src.ds = append(src.ds, ds[i])
		src.arrival = append(src.arrival, arrival[i])
	}
	return src
}

// minutes calls fn with each minute of [from, to), and whether all its
// decisions have arrived.
func (s *decisions) minutes(from, to time.Time, fn func(m time.Time, complete bool)) error {
	if from.Truncate(time.Minute) != from || to.Truncate(time.Minute) != to {
		return fmt.Errorf("window [%s, %s) is not whole minutes", from, to)
	}
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		fn(m, s.now.IsZero() || !m.Add(time.Minute+maxLag).After(s.now))
	}
	return nil
}

// each calls fn for every visible decision with an event time in minute m.
func (s *decisions) each(m time.Time, fn func(*decision.Decision)) {
	end := m.Add(time.Minute)
	i := sort.Search(len(s.ds), func(i int) bool { return !s.ds[i].EventTime.Before(m) })
	for ; i < len(s.ds) && s.ds[i].EventTime.Before(end); i++ {
		if s.now.IsZero() || !s.arrival[i].After(s.now) {
			fn(&s.ds[i])
		}
	}
}

func (s *decisions) Count(_ context.Context, f *decision.Filter, from, to time.Time) (uint64, error) {
	var n uint64
	err := s.minutes(from, to, func(m time.Time, complete bool) {
		key := minuteKey{filter: f.String(), minute: m}
		if c, ok := s.counts[key]; ok {
			n += c
			return
		}
		var c uint64
		s.each(m, func(d *decision.Decision) {
			if f.Match(d) {
				c++
			}
		})
		if complete {
			s.counts[key] = c
		}
		n += c
	})
	return n, err
}

func (s *decisions) Histogram(_ context.Context, f *decision.Filter, sc decision.Score, from, to time.Time) (decision.Histogram, error) {
	h := decision.Histogram{Score: sc, From: from, To: to}
	err := s.minutes(from, to, func(m time.Time, complete bool) {
		key := minuteKey{filter: f.String(), score: sc, minute: m}
		c, ok := s.hists[key]
		if !ok {
			s.each(m, func(d *decision.Decision) {
				if f.Match(d) && d.Action != decision.ActionError {
					c[decision.Bucket(d.ScoreValue(sc))][d.Action.Index()]++
				}
			})
			if complete {
				s.hists[key] = c
			}
		}
		for b := range c {
			for a, n := range c[b] {
				h.Counts[b][a] += n
				h.Total += n
			}
		}
	})
	return h, err
}

// mustRules parses an alerts file or fails the test.
func mustRules(t testing.TB, text string) []Rule {
	t.Helper()
	rules, err := ParseFile("test.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// mustRule parses an alerts file holding one rule.
func mustRule(t testing.TB, text string) Rule {
	t.Helper()
	rules := mustRules(t, text)
	if len(rules) != 1 {
		t.Fatalf("%d rules, want 1", len(rules))
	}
	return rules[0]
}

// replay steps a fresh state of r over the minute ends first..last of src
// and returns the events and the final state.
func replay(t testing.TB, r Rule, src Source, first, last int) ([]Event, State) {
	t.Helper()
	var st State
	var evs []Event
	err := advance(context.Background(), src, &r, &st, minute(first), minute(last), func(_ Observation, ev *Event) {
		if ev != nil {
			evs = append(evs, *ev)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs, st
}
