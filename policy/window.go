package policy

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// ErrOrder is returned when a Window is fed, or asked about, a decision
// earlier than one it was already fed: velocity in memory needs event-time
// order.
var ErrOrder = errors.New("decisions not in event-time order")

// ErrNotHeld is returned by LiveWindow.Lookup for a decision so late that
// a window it asks about reaches back before what the window still holds.
var ErrNotHeld = errors.New("window no longer holds that time")

// Window is the in-memory Velocity of a replay: sliding windows over the
// decisions it is fed, in event-time order. For each decision, ask (by
// evaluating it) first, then Add it: the answers are then those Query
// defines, over exactly the decisions added before with an earlier event
// time (decisions at the same time do not see each other). (A live
// shadow, fed decisions a little out of order, uses a LiveWindow.)
//
// Memory is bounded by what lies inside the windows: an entry per
// decision and key under which it is counted, kept while it is within the
// longest window asked about that key, plus the decisions
// that share the latest event time. Add and Answer take amortised constant time (each
// entry is counted in and out once per query) plus a few map lookups. A
// Window is not safe for concurrent use.
type Window struct {
	queries []Query            // the queries answered,
	slots   []slotRef          // and where each is kept
	keys    [numKeys]*keyIndex // nil for keys no query groups by
	need    []Key              // the keys whose values an entry keeps
	pending []pendingEntry     // added at time last, not yet visible
	last    int64              // latest event time added (Unix ns)
	added   bool
	held    int // committed entries, over all keys

	// cur is the decision a replay is evaluating (see prepare) and
	// curVals its key values, computed once for its answers and its Add.
	cur     *decision.Decision
	curVals [numKeys]string
	// curSeries are the series its answers found, by key: its Add
	// commits into them without looking them up again. (Nothing is
	// forgotten between its answers and its commit: advance commits
	// before it evicts.)
	curSeries [numKeys]*series
	devices   memo // user agent → device key
	nets      memo // address → ip24
}

type slotRef struct {
	ki   *keyIndex
	slot int
}

type pendingEntry struct {
	t      int64
	vals   [numKeys]string
	series [numKeys]*series // where known, the series of each value
}

// keyIndex holds the decisions of one key, by value.
type keyIndex struct {
	key    Key
	window []int64 // per slot: its query's window (ns)
	ofCol  []int   // per slot: column of its Of value in an entry, -1 for a count
	cols   []Key   // the Of values an entry keeps
	maxW   int64
	series map[string]*series
	// fifo holds every entry in commit (event-time) order, to forget
	// them when they leave the longest window.
	fifo  []fifoEntry
	fhead int
	// free holds emptied series for reuse: keys come and go, and a series
	// with its slices and maps is several allocations.
	free []*series
}

// maxFree bounds a keyIndex's free series, and maxFreeLen the entries a
// series may have had room for to be kept.
const (
	maxFree    = 1024
	maxFreeLen = 256
)

type fifoEntry struct {
	t int64
	s *series
}

// series holds the entries of one key value, oldest first, from head.
type series struct {
	value  string
	times  []int64
	vals   []string // len(cols) values per entry
	head   int
	cursor []int            // per slot: first entry inside its window
	counts []map[string]int // per distinct slot: Of values from cursor on

	// Room inside the series for what most series need: a key asked
	// about by a few queries, a value seen a few times in its windows.
	// Slices into it spare allocations and, when a window slides, the
	// cache misses of reaching them.
	cursorBuf [inlineSlots]int
	countsBuf [inlineSlots]map[string]int
	timesBuf  [inlineEntries]int64
	valsBuf   [inlineEntries]string
}

const (
	inlineSlots   = 4
	inlineEntries = 4
)

// NewWindow returns an empty Window answering queries (duplicates are
// merged); asked anything else, it returns an error.
func NewWindow(queries ...Query) *Window {
	w := &Window{}
	var needed [numKeys]bool
	for _, q := range queries {
		if slices.Contains(w.queries, q) || q.Key == KeyNone || q.Key >= numKeys || q.Of >= numKeys {
			continue
		}
		ki := w.keys[q.Key]
		if ki == nil {
			ki = &keyIndex{key: q.Key, series: make(map[string]*series)}
			w.keys[q.Key] = ki
		}
		col := -1
		if q.Distinct() {
			if col = slices.Index(ki.cols, q.Of); col < 0 {
				col = len(ki.cols)
				ki.cols = append(ki.cols, q.Of)
			}
			needed[q.Of] = true
		}
		needed[q.Key] = true
		w.queries = append(w.queries, q)
		w.slots = append(w.slots, slotRef{ki, len(ki.window)})
		ki.window = append(ki.window, int64(q.Window))
		ki.ofCol = append(ki.ofCol, col)
		ki.maxW = max(ki.maxW, int64(q.Window))
	}
	for k, n := range needed {
		if n {
			w.need = append(w.need, Key(k))
		}
	}
	return w
}

// Len returns the number of entries held: one per decision and key it is
// counted under, plus the decisions at the latest event time.
func (w *Window) Len() int { return w.held + len(w.pending) }

// Add feeds d, which must not be earlier than any decision added before.
func (w *Window) Add(d *decision.Decision) error {
	t := d.EventTime.UnixNano()
	if err := w.advance(t, d); err != nil {
		return err
	}
	pe := pendingEntry{t: t}
	if d == w.cur {
		pe.vals, pe.series = w.curVals, w.curSeries
	} else {
		for _, k := range w.need {
			pe.vals[k] = w.value(k, d)
		}
	}
	w.cur = nil
	w.pending = append(w.pending, pe)
	w.last, w.added = t, true
	return nil
}

// prepare computes the key values of d, which a replay is about to
// evaluate and then Add, once for its answers and its Add. d must not
// change until it is added.
func (w *Window) prepare(d *decision.Decision) {
	w.cur = d
	w.curSeries = [numKeys]*series{}
	for _, k := range w.need {
		w.curVals[k] = w.value(k, d)
	}
}

// value returns k.Value(d), remembering device keys and networks.
func (w *Window) value(k Key, d *decision.Decision) string {
	switch k {
	case KeyDevice:
		return w.devices.get(d.UserAgent, decision.DeviceKey)
	case KeyIP24:
		return w.nets.get(d.IP, decision.IP24)
	}
	return k.Value(d)
}

// Answer answers q for d, which must not be earlier than any decision
// added before (it may share the latest event time).
func (w *Window) Answer(q Query, d *decision.Decision) (int, error) {
	// A policy asks a handful of queries: a scan beats hashing them.
	i := slices.Index(w.queries, q)
	if i < 0 {
		return 0, fmt.Errorf("window does not keep %s", q)
	}
	ref := w.slots[i]
	t := d.EventTime.UnixNano()
	if err := w.advance(t, d); err != nil {
		return 0, err
	}
	var v string
	if d == w.cur {
		v = w.curVals[ref.ki.key]
	} else {
		v = w.value(ref.ki.key, d)
	}
	if v == "" {
		return 0, nil
	}
	s := ref.ki.series[v]
	if s == nil {
		return 0, nil
	}
	if d == w.cur {
		w.curSeries[ref.ki.key] = s
	}
	slot, col := ref.slot, ref.ki.ofCol[ref.slot]
	from, c := t-ref.ki.window[slot], s.cursor[slot]
	stride := len(ref.ki.cols)
	for c < len(s.times) && s.times[c] < from {
		if col >= 0 {
			uncount(s.counts[slot], s.vals[c*stride+col])
		}
		c++
	}
	s.cursor[slot] = c
	if col >= 0 {
		return len(s.counts[slot]), nil
	}
	return len(s.times) - c, nil
}

// advance moves the window to time t: decisions added before t become
// visible, and those out of every window are forgotten.
func (w *Window) advance(t int64, d *decision.Decision) error {
	if w.added && t < w.last {
		return fmt.Errorf("%w: event %q at %s comes after one at %s", ErrOrder, d.EventID,
			d.EventTime.UTC().Format(time.RFC3339Nano), time.Unix(0, w.last).UTC().Format(time.RFC3339Nano))
	}
	if len(w.pending) == 0 || t == w.last {
		return nil
	}
	for _, pe := range w.pending {
		w.commit(pe)
	}
	clear(w.pending)
	w.pending = w.pending[:0]
	for _, ki := range w.keys {
		if ki != nil {
			w.held -= ki.evict(t - ki.maxW)
		}
	}
	return nil
}

// commit makes a pending entry visible under each of its key values.
func (w *Window) commit(pe pendingEntry) {
	for _, ki := range w.keys {
		if ki == nil || pe.vals[ki.key] == "" {
			continue
		}
		v := pe.vals[ki.key]
		s := pe.series[ki.key]
		if s == nil {
			s = ki.series[v]
		}
		if s == nil {
			s = ki.newSeries(v)
			ki.series[v] = s
		}
		s.times = append(s.times, pe.t)
		for _, k := range ki.cols {
			s.vals = append(s.vals, pe.vals[k])
		}
		for slot, col := range ki.ofCol {
			if col < 0 {
				continue
			}
			if of := pe.vals[ki.cols[col]]; of != "" {
				s.counts[slot][of]++
			}
		}
		ki.fifo = append(ki.fifo, fifoEntry{pe.t, s})
		w.held++
	}
}

// newSeries returns an empty series for value v, a free one if it can.
func (ki *keyIndex) newSeries(v string) *series {
	if n := len(ki.free); n > 0 {
		s := ki.free[n-1]
		ki.free = ki.free[:n-1]
		s.value = v
		return s
	}
	s := &series{value: v}
	s.times, s.vals = s.timesBuf[:0], s.valsBuf[:0]
	if n := len(ki.window); n <= inlineSlots {
		s.cursor, s.counts = s.cursorBuf[:n], s.countsBuf[:n]
	} else {
		s.cursor, s.counts = make([]int, n), make([]map[string]int, n)
	}
	for slot, col := range ki.ofCol {
		if col >= 0 {
			s.counts[slot] = make(map[string]int)
		}
	}
	return s
}

// release forgets an emptied series, keeping it for reuse unless it grew
// large (a burst's series would hold on to its memory).
func (ki *keyIndex) release(s *series) {
	delete(ki.series, s.value)
	if len(ki.free) == maxFree || cap(s.times) > maxFreeLen {
		return
	}
	s.value, s.times, s.vals, s.head = "", s.times[:0], s.vals[:0], 0
	clear(s.cursor)
	for _, m := range s.counts {
		clear(m)
	}
	ki.free = append(ki.free, s)
}

// evict forgets the entries earlier than limit and returns how many.
func (ki *keyIndex) evict(limit int64) int {
	n := 0
	for ki.fhead < len(ki.fifo) && ki.fifo[ki.fhead].t < limit {
		ki.popFront(ki.fifo[ki.fhead].s)
		ki.fifo[ki.fhead] = fifoEntry{}
		ki.fhead++
		n++
	}
	if ki.fhead >= 1024 && ki.fhead*2 >= len(ki.fifo) {
		ki.fifo = ki.fifo[:copy(ki.fifo, ki.fifo[ki.fhead:])]
		ki.fhead = 0
	}
	return n
}

// popFront forgets the oldest entry of s.
func (ki *keyIndex) popFront(s *series) {
	h, stride := s.head, len(ki.cols)
	for slot, c := range s.cursor {
		if c != h {
			continue // already outside this slot's window
		}
		if col := ki.ofCol[slot]; col >= 0 {
			uncount(s.counts[slot], s.vals[h*stride+col])
		}
		s.cursor[slot] = h + 1
	}
	clear(s.vals[h*stride : (h+1)*stride])
	s.head++
	switch {
	case s.head == len(s.times):
		ki.release(s)
	case s.head >= 32 && s.head*2 >= len(s.times):
		s.times = s.times[:copy(s.times, s.times[s.head:])]
		s.vals = s.vals[:copy(s.vals, s.vals[s.head*stride:])]
		for slot := range s.cursor {
			s.cursor[slot] -= s.head
		}
		s.head = 0
	}
}

func uncount(m map[string]int, v string) {
	if v == "" {
		return
	}
	if m[v] <= 1 {
		delete(m, v)
	} else {
		m[v]--
	}
}
