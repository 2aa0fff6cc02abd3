package policy

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// LiveWindow answers the same queries as Window, over the decisions it is
// fed, for a live shadow: decisions arrive a little out of event-time
// order and a busy collector sees millions of distinct users and
// addresses. Where Window keeps a series (slices and maps) per value,
// LiveWindow numbers each value it holds (per key kind, the number reused
// once no entry holds the value) and keeps, per key, one slice of entries
// in event-time order, a few integers each, with per-query counts in
// slices indexed by value number: a fraction of Window's memory per entry
// when most values are seen once or twice in a window
// (BenchmarkWindowMemory).
//
// Add and Answer take decisions in event-time order, as Window's do;
// Insert and Lookup take them a little out of order, at a cost in
// proportion to how many entries are later than the decision (an entry is
// filed by moving the later ones; an answer corrects running counts by
// scanning them). Memory and Trim work as Window's. A LiveWindow is not
// safe for concurrent use.
type LiveWindow struct {
	queries []Query
	slots   []*liveSlot // per query
	keys    [numKeys]*liveKey
	need    []Key
	ids     [numKeys]interner // the value numbers of each key kind
	pending []liveEntry       // added at time last, not yet visible
	last    int64
	added   bool
	held    int
	retain  int64

	// cur is the decision being looked up (see Lookup) and curVals its
	// key values.
	cur     *decision.Decision
	curVals [numKeys]string
	devices memo
	nets    memo
	// in and out are the Of values Lookup corrects running distinct
	// counts by, kept for reuse.
	in, out []uint32
}

type liveEntry struct {
	t    int64
	vals [numKeys]string
}

// liveKey holds the entries of one key: times[i] and, from ids[i*stride],
// the entry's value number then the number of each of its Of values (0
// for none), in event-time order from head.
type liveKey struct {
	key    Key
	cols   []Key
	stride int
	maxW   int64
	limit  int64 // entries earlier than it are forgotten
	times  []int64
	ids    []uint32
	head   int
	slots  []*liveSlot
}

// liveSlot is one query's running answers: counts[v] is, for value number
// v, how many entries from cursor on hold v (a count) or how many distinct
// Of values they hold (a distinct, with pairs[v<<32|of] the entries of
// each).
type liveSlot struct {
	key    *liveKey
	window int64
	col    int // column of the Of value in an entry, -1 for a count
	cursor int
	counts []int32
	pairs  map[uint64]int32
}

// interner numbers strings from 1, counting the references to each and
// reusing the number of one no longer referenced.
type interner struct {
	index map[string]uint32
	strs  []string
	refs  []int32
	free  []uint32
}

// id returns s's number, 0 when s has none.
func (in *interner) id(s string) uint32 { return in.index[s] }

// ref returns s's number, numbering it if need be, and counts a reference.
func (in *interner) ref(s string) uint32 {
	id, ok := in.index[s]
	if !ok {
		if in.index == nil {
			in.index, in.strs, in.refs = map[string]uint32{}, []string{""}, []int32{0}
		}
		if n := len(in.free); n > 0 {
			id = in.free[n-1]
			in.free = in.free[:n-1]
			in.strs[id] = s
		} else {
			id = uint32(len(in.strs))
			in.strs, in.refs = append(in.strs, s), append(in.refs, 0)
		}
		in.index[s] = id
	}
	in.refs[id]++
	return id
}

// unref drops a reference to id, forgetting the string with its last.
func (in *interner) unref(id uint32) {
	if in.refs[id]--; in.refs[id] == 0 {
		delete(in.index, in.strs[id])
		in.strs[id] = ""
		in.free = append(in.free, id)
	}
}

// NewLiveWindow returns an empty LiveWindow answering queries (duplicates
// are merged); asked anything else, it returns an error.
func NewLiveWindow(queries ...Query) *LiveWindow {
	w := &LiveWindow{}
	var needed [numKeys]bool
	for _, q := range queries {
		if slices.Contains(w.queries, q) || q.Key == KeyNone || q.Key >= numKeys || q.Of >= numKeys {
			continue
		}
		k := w.keys[q.Key]
		if k == nil {
			k = &liveKey{key: q.Key, stride: 1, limit: math.MinInt64}
			w.keys[q.Key] = k
		}
		s := &liveSlot{key: k, window: int64(q.Window), col: -1}
		if q.Distinct() {
			if s.col = slices.Index(k.cols, q.Of); s.col < 0 {
				s.col = len(k.cols)
				k.cols = append(k.cols, q.Of)
				k.stride++
			}
			s.pairs = map[uint64]int32{}
			needed[q.Of] = true
		}
		needed[q.Key] = true
		k.maxW = max(k.maxW, s.window)
		k.slots = append(k.slots, s)
		w.queries = append(w.queries, q)
		w.slots = append(w.slots, s)
	}
	for k, n := range needed {
		if n {
			w.need = append(w.need, Key(k))
		}
	}
	return w
}

// Retain keeps every entry d longer than the longest window asked about
// its key, as Window.Retain does. Call it before adding.
func (w *LiveWindow) Retain(d time.Duration) { w.retain = max(int64(d), 0) }

// Len returns the number of entries held: one per decision and key it is
// counted under, plus the decisions at the latest event time.
func (w *LiveWindow) Len() int { return w.held + len(w.pending) }

// Forget drops the key values Lookup computed for a decision that will
// not be inserted.
func (w *LiveWindow) Forget() { w.cur = nil }

// values returns d's key values, those Lookup computed when d is the
// decision it looked up.
func (w *LiveWindow) values(d *decision.Decision) [numKeys]string {
	if d == w.cur {
		return w.curVals
	}
	var vals [numKeys]string
	for _, k := range w.need {
		switch k {
		case KeyDevice:
			vals[k] = w.devices.get(d.UserAgent, decision.DeviceKey)
		case KeyIP24:
			vals[k] = w.nets.get(d.IP, decision.IP24)
		default:
			vals[k] = k.Value(d)
		}
	}
	return vals
}

// Add feeds d, which must not be earlier than any decision added before.
func (w *LiveWindow) Add(d *decision.Decision) error {
	t := d.EventTime.UnixNano()
	if err := w.advance(t, d); err != nil {
		return err
	}
	w.pending = append(w.pending, liveEntry{t: t, vals: w.values(d)})
	w.cur = nil
	w.last, w.added = t, true
	return nil
}

// Insert feeds d like Add, in any order: a decision earlier than one
// already added is filed in its place (one earlier than anything Lookup
// could still ask about is not needed and is dropped).
func (w *LiveWindow) Insert(d *decision.Decision) error {
	t := d.EventTime.UnixNano()
	if !w.added || t >= w.last {
		return w.Add(d)
	}
	vals := w.values(d)
	w.cur = nil
	for _, k := range w.keys {
		if k == nil || vals[k.key] == "" || t < k.limit {
			continue
		}
		w.insert(k, t, &vals)
		w.held++
	}
	return nil
}

// insert files an entry at time t, earlier than the latest added, after
// the entries at t or earlier: entries at one time keep the order they
// came in.
func (w *LiveWindow) insert(k *liveKey, t int64, vals *[numKeys]string) {
	p, _ := slices.BinarySearch(k.times[k.head:], t+1)
	p += k.head
	var buf [numKeys + 1]uint32
	row := w.row(buf[:k.stride], k, vals)
	k.times = slices.Insert(k.times, p, t)
	k.ids = slices.Insert(k.ids, p*k.stride, row...)
	// A slot's counts hold the entries from its cursor on: one filed
	// before the cursor is outside the slot's window (an answer moved
	// past its time).
	for _, s := range k.slots {
		if p < s.cursor {
			s.cursor++
		} else {
			s.count(row, 1)
		}
	}
}

// row numbers an entry's values for key k into row (k.stride long): its
// value, then its Of values.
func (w *LiveWindow) row(row []uint32, k *liveKey, vals *[numKeys]string) []uint32 {
	row[0] = w.ids[k.key].ref(vals[k.key])
	for c, of := range k.cols {
		row[1+c] = 0
		if v := vals[of]; v != "" {
			row[1+c] = w.ids[of].ref(v)
		}
	}
	return row
}

// count adds n (1 or -1) entries of row to the slot's running answers.
func (s *liveSlot) count(row []uint32, n int32) {
	v := row[0]
	if int(v) >= len(s.counts) {
		s.counts = append(s.counts, make([]int32, int(v)+1-len(s.counts))...)
	}
	if s.col < 0 {
		s.counts[v] += n
		return
	}
	of := row[1+s.col]
	if of == 0 {
		return
	}
	pair := uint64(v)<<32 | uint64(of)
	m := s.pairs[pair] + n
	switch {
	case m == 0:
		delete(s.pairs, pair)
		s.counts[v]--
	case m == 1 && n > 0:
		s.pairs[pair] = m
		s.counts[v]++
	default:
		s.pairs[pair] = m
	}
}

// advance moves the window to time t: decisions added before t become
// visible, and those out of every window are forgotten.
func (w *LiveWindow) advance(t int64, d *decision.Decision) error {
	if w.added && t < w.last {
		return fmt.Errorf("%w: event %q at %s comes after one at %s", ErrOrder, d.EventID,
			d.EventTime.UTC().Format(time.RFC3339Nano), time.Unix(0, w.last).UTC().Format(time.RFC3339Nano))
	}
	if len(w.pending) == 0 || t == w.last {
		return nil
	}
	for i := range w.pending {
		w.commit(&w.pending[i])
	}
	clear(w.pending)
	w.pending = w.pending[:0]
	for _, k := range w.keys {
		if k != nil {
			w.held -= w.evict(k, t-k.maxW-w.retain)
		}
	}
	return nil
}

// commit appends a pending entry under each of its key values.
func (w *LiveWindow) commit(e *liveEntry) {
	var buf [numKeys + 1]uint32
	for _, k := range w.keys {
		if k == nil || e.vals[k.key] == "" {
			continue
		}
		row := w.row(buf[:k.stride], k, &e.vals)
		k.times = append(k.times, e.t)
		k.ids = append(k.ids, row...)
		for _, s := range k.slots {
			s.count(row, 1)
		}
		w.held++
	}
}

// evict forgets the entries of k earlier than limit and returns how many.
func (w *LiveWindow) evict(k *liveKey, limit int64) int {
	k.limit = max(k.limit, limit)
	n := 0
	for k.head < len(k.times) && k.times[k.head] < limit {
		row := k.ids[k.head*k.stride : (k.head+1)*k.stride]
		for _, s := range k.slots {
			if s.cursor == k.head {
				s.count(row, -1)
				s.cursor++
			}
		}
		w.ids[k.key].unref(row[0])
		for c, of := range k.cols {
			if row[1+c] != 0 {
				w.ids[of].unref(row[1+c])
			}
		}
		k.head++
		n++
	}
	if k.head >= 1024 && k.head*2 >= len(k.times) {
		k.times = k.times[:copy(k.times, k.times[k.head:])]
		k.ids = k.ids[:copy(k.ids, k.ids[k.head*k.stride:])]
		for _, s := range k.slots {
			s.cursor -= k.head
		}
		k.head = 0
	}
	return n
}

// slide moves s's cursor past the entries earlier than from.
func (s *liveSlot) slide(from int64) {
	k := s.key
	c := s.cursor
	for c < len(k.times) && k.times[c] < from {
		s.count(k.ids[c*k.stride:(c+1)*k.stride], -1)
		c++
	}
	s.cursor = c
}

// slot returns the slot of q.
func (w *LiveWindow) slot(q Query) (*liveSlot, error) {
	// A policy asks a handful of queries: a scan beats hashing them.
	i := slices.Index(w.queries, q)
	if i < 0 {
		return nil, fmt.Errorf("window does not keep %s", q)
	}
	return w.slots[i], nil
}

// Answer answers q for d, which must not be earlier than any decision
// added before (it may share the latest event time).
func (w *LiveWindow) Answer(q Query, d *decision.Decision) (int, error) {
	s, err := w.slot(q)
	if err != nil {
		return 0, err
	}
	t := d.EventTime.UnixNano()
	if err := w.advance(t, d); err != nil {
		return 0, err
	}
	var v string
	if d == w.cur {
		v = w.curVals[q.Key]
	} else {
		v = w.values(d)[q.Key]
	}
	s.slide(t - s.window)
	id := w.ids[q.Key].id(v)
	if v == "" || id == 0 || int(id) >= len(s.counts) {
		return 0, nil
	}
	return int(s.counts[id]), nil
}

// Lookup answers q for d like Answer, in any order: for a decision earlier
// than the latest added it counts what is held in [t-window, t), and
// returns ErrNotHeld when part of that range is forgotten already (see
// Retain and Trim).
//
// The first Lookup for a decision computes all its key values, for its
// other answers and its Insert: d must not change until it is inserted
// (or another decision is looked up, or Forget is called).
func (w *LiveWindow) Lookup(q Query, d *decision.Decision) (int, error) {
	if d != w.cur {
		w.cur = nil
		w.curVals = w.values(d)
		w.cur = d
	}
	t := d.EventTime.UnixNano()
	if !w.added || t >= w.last {
		return w.Answer(q, d)
	}
	s, err := w.slot(q)
	if err != nil {
		return 0, err
	}
	k := s.key
	from := t - s.window
	if from < k.limit {
		return 0, fmt.Errorf("%s at %s: %w", q, d.EventTime.UTC().Format(time.RFC3339Nano), ErrNotHeld)
	}
	id := w.ids[q.Key].id(w.curVals[q.Key])
	if id == 0 {
		return 0, nil
	}
	// The running counts hold the entries from the cursor on; the answer
	// is those from lo to hi. Later answers start no earlier than lo, so
	// the cursor may move up to it; then the counts are corrected by the
	// entries of this value from lo to the cursor (in, when an answer
	// moved the cursor past lo) and from hi on (out).
	times := k.times[k.head:]
	lo, _ := slices.BinarySearch(times, from)
	hi, _ := slices.BinarySearch(times, t)
	lo, hi = k.head+lo, k.head+hi
	s.slide(from)
	c, end, stride := s.cursor, len(k.times), k.stride
	if s.col < 0 {
		var n int32
		if int(id) < len(s.counts) {
			n = s.counts[id]
		}
		for e := lo; e < c; e++ {
			if k.ids[e*stride] == id {
				n++
			}
		}
		for e := hi; e < end; e++ {
			if k.ids[e*stride] == id {
				n--
			}
		}
		return int(n), nil
	}
	// The corrections are a few entries, a little late decision's worth:
	// sorting two short slices costs less than hashing them into a map
	// (BenchmarkShadowApply, CPU per decision 5.1 -> 4.7 µs).
	in, out := w.in[:0], w.out[:0]
	col := 1 + s.col
	for e := lo; e < c; e++ {
		if k.ids[e*stride] == id && k.ids[e*stride+col] != 0 {
			in = append(in, k.ids[e*stride+col])
		}
	}
	for e := hi; e < end; e++ {
		if k.ids[e*stride] == id && k.ids[e*stride+col] != 0 {
			out = append(out, k.ids[e*stride+col])
		}
	}
	w.in, w.out = in, out
	var n int32
	if int(id) < len(s.counts) {
		n = s.counts[id]
	}
	slices.Sort(in)
	slices.Sort(out)
	// Merge the two: each Of value's correction dv, applied to the
	// entries of it the counts hold.
	for len(in) > 0 || len(out) > 0 {
		var of uint32
		switch {
		case len(out) == 0 || len(in) > 0 && in[0] < out[0]:
			of = in[0]
		default:
			of = out[0]
		}
		var dv int32
		for len(in) > 0 && in[0] == of {
			in, dv = in[1:], dv+1
		}
		for len(out) > 0 && out[0] == of {
			out, dv = out[1:], dv-1
		}
		switch before := s.pairs[uint64(id)<<32|uint64(of)]; {
		case before == 0 && dv > 0:
			n++
		case before > 0 && before+dv <= 0:
			n--
		}
	}
	return int(n), nil
}

// Trim bounds memory as Window.Trim does: when more than bound entries
// are held it forgets the oldest, over every key, until at most
// bound*3/4 are, and returns the time before which it forgot entries (the
// zero time when it forgot none).
func (w *LiveWindow) Trim(bound int) time.Time {
	if bound <= 0 || w.held <= bound {
		return time.Time{}
	}
	target, limit := bound-bound/4, int64(math.MinInt64)
	for w.held > target {
		oldest, any := int64(math.MaxInt64), false
		for _, k := range w.keys {
			if k != nil && k.head < len(k.times) {
				oldest, any = min(oldest, k.times[k.head]), true
			}
		}
		if !any {
			break
		}
		limit = oldest + max(1, (w.last-oldest)/16)
		for _, k := range w.keys {
			if k != nil {
				w.held -= w.evict(k, limit)
			}
		}
	}
	if limit == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, limit)
}
