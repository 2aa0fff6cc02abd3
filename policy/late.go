package policy

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// This file lets a live Window take decisions a little out of event-time
// order, as concurrent scoring commits them: Insert files a late decision
// in its place and Lookup answers for one by searching what is held.
// Replay keeps to Add and Answer, which refuse disorder.

// Retain keeps every entry d longer than the longest window asked about
// its key, so that Lookup can answer for, and Insert can file, decisions
// up to d earlier than the latest one added. Call it before adding.
func (w *Window) Retain(d time.Duration) { w.retain = max(int64(d), 0) }

// Insert feeds d like Add, in any order: a decision earlier than one
// already added is filed in its place (a decision earlier than anything
// Lookup could still ask about is not needed and is dropped).
func (w *Window) Insert(d *decision.Decision) error {
	t := d.EventTime.UnixNano()
	if !w.added || t >= w.last {
		return w.Add(d)
	}
	var vals [numKeys]string
	if d == w.cur {
		vals = w.curVals
	} else {
		for _, k := range w.need {
			vals[k] = w.value(k, d)
		}
	}
	w.cur = nil
	for _, ki := range w.keys {
		if ki == nil || vals[ki.key] == "" || t < ki.limit {
			continue
		}
		ki.insert(t, &vals)
		w.held++
	}
	return nil
}

// insert files an entry at time t, earlier than the latest added, among
// the entries of its key value.
func (ki *keyIndex) insert(t int64, vals *[numKeys]string) {
	v := vals[ki.key]
	s := ki.series[v]
	if s == nil {
		s = ki.newSeries(v)
		ki.series[v] = s
	}
	// After the entries at t or earlier: entries at one time keep the
	// order they came in.
	p := s.head
	for i := len(s.times) - 1; i >= s.head; i-- {
		if s.times[i] <= t {
			p = i + 1
			break
		}
	}
	stride := len(ki.cols)
	s.times = slices.Insert(s.times, p, t)
	row := make([]string, stride)
	for c, k := range ki.cols {
		row[c] = vals[k]
	}
	s.vals = slices.Insert(s.vals, p*stride, row...)
	// counts[slot] holds the values of the entries from cursor[slot] on;
	// an entry filed before the cursor is outside the slot's window (an
	// Answer moved past its time), one from the cursor on is inside until
	// an Answer moves past it.
	for slot, c := range s.cursor {
		if p < c {
			s.cursor[slot] = c + 1
			continue
		}
		if col := ki.ofCol[slot]; col >= 0 && row[col] != "" {
			s.counts[slot][row[col]]++
		}
	}
	ki.fifo = append(ki.fifo, fifoEntry{t, s})
}

// Forget drops the key values Lookup computed for a decision that will
// not be inserted.
func (w *Window) Forget() { w.cur = nil }

// Lookup answers q for d like Answer, in any order: for a decision earlier
// than the latest added it counts what is held in [t-window, t), and
// returns ErrNotHeld when part of that range is forgotten already (see
// Retain).
//
// The first Lookup for a decision computes all its key values, for its
// other answers and its Insert: d must not change until it is inserted
// (or another decision is looked up, or Forget is called).
func (w *Window) Lookup(q Query, d *decision.Decision) (int, error) {
	if d != w.cur {
		w.prepare(d)
	}
	t := d.EventTime.UnixNano()
	if !w.added || t >= w.last {
		return w.Answer(q, d)
	}
	i := slices.Index(w.queries, q)
	if i < 0 {
		return 0, fmt.Errorf("window does not keep %s", q)
	}
	ki := w.slots[i].ki
	from := t - int64(q.Window)
	if from < ki.limit {
		return 0, fmt.Errorf("%s at %s: %w", q, d.EventTime.UTC().Format(time.RFC3339Nano), ErrNotHeld)
	}
	v := w.curVals[ki.key]
	if v == "" {
		return 0, nil
	}
	s := ki.series[v]
	if s == nil {
		return 0, nil
	}
	times := s.times[s.head:]
	lo, _ := slices.BinarySearch(times, from)
	hi, _ := slices.BinarySearch(times, t)
	slot := w.slots[i].slot
	col := ki.ofCol[slot]
	if col < 0 {
		return hi - lo, nil
	}
	lo, hi = s.head+lo, s.head+hi
	stride := len(ki.cols)
	// The running counts hold the values from the cursor on, as of the
	// latest in-order answer: a decision a little late differs from them
	// by a few entries at each end, cheaper to correct than to recount.
	c, end := s.cursor[slot], len(s.times)
	if diff := max(lo-c, c-lo) + end - hi; diff < hi-lo {
		if w.delta == nil {
			w.delta = make(map[string]int)
		}
		delta := w.delta
		defer clear(delta)
		for e := lo; e < c; e++ {
			delta[s.vals[e*stride+col]]++
		}
		for e := c; e < lo; e++ {
			delta[s.vals[e*stride+col]]--
		}
		for e := hi; e < end; e++ {
			delta[s.vals[e*stride+col]]--
		}
		counts, n := s.counts[slot], len(s.counts[slot])
		for v, dv := range delta {
			switch before := counts[v]; {
			case v == "":
			case before == 0 && before+dv > 0:
				n++
			case before > 0 && before+dv <= 0:
				n--
			}
		}
		return n, nil
	}
	if w.seen == nil {
		w.seen = make(map[string]struct{})
	}
	seen := w.seen
	defer clear(seen)
	for e := lo; e < hi; e++ {
		if of := s.vals[e*stride+col]; of != "" {
			seen[of] = struct{}{}
		}
	}
	return len(seen), nil
}

// Trim bounds memory: when more than bound entries are held it forgets
// the oldest, over every key, until at most bound*3/4 are (so that a Window at
// its bound does not trim on every decision). It returns the time before
// which it forgot entries (the zero time when it forgot none): from then
// on Lookup returns ErrNotHeld for a window reaching before it and Insert
// drops decisions before it; Answer does not check, so its caller must
// not ask it about such windows.
func (w *Window) Trim(bound int) time.Time {
	if bound <= 0 || w.held <= bound {
		return time.Time{}
	}
	target, limit := bound-bound/4, int64(math.MinInt64)
	for w.held > target {
		oldest, any := int64(math.MaxInt64), false
		for _, ki := range w.keys {
			if ki != nil && ki.fhead < len(ki.fifo) {
				oldest, any = min(oldest, ki.fifo[ki.fhead].t), true
			}
		}
		if !any {
			break
		}
		// Forget in steps of a sixteenth of the time held: a few passes
		// over the keys, at most a sixteenth more than needed.
		limit = oldest + max(1, (w.last-oldest)/16)
		for _, ki := range w.keys {
			if ki != nil {
				w.held -= ki.evict(limit)
			}
		}
	}
	if limit == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, limit)
}
