package store

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The by_dim index is kept as sorted runs, not as one B-tree of entries.
// Its entries (kind byte + lp(value) + event key -> lp(user)) are spread
// over the whole key space by value, so folding a batch of decisions into
// one B-tree rewrites a page per distinct value: most of the index on
// every batch once it is a few thousand pages, five entries per decision.
// Instead each batch becomes a run of its own, written at the end of the
// bucket, and the writer merges runs in tiers (a log-structured merge):
// whenever dimFanout runs of a level exist, it merges them into one run of
// the next level, in steps of bounded size between other work. Every entry
// is rewritten once per level, sequentially, so a decision's cost stays
// flat as the store grows. A query seeks each run (a few dozen at most).
//
// Layout: a run is a sequence of blocks; a block's key is the 8-byte
// big-endian run ID and the block's first entry key, its value the
// entries in key order (front-coded, see dimblock.go). bktMeta's dim_state lists the live runs, the run
// being merged into, the runs whose blocks are still to delete, and the
// retention tombstones: Retain does not touch the runs; it records that
// every entry up to an event key, of a decision stored up to a decision
// key, is gone, and queries and merges drop such entries.

// Sizes of the by_dim runs (Options may lower them in tests).
const (
	// dimBlockSize is the size a block is cut at.
	dimBlockSize = 8 << 10
	// dimFanout runs of one level are merged into one.
	dimFanout = 8
	// dimLevelBase is the most entries a level-0 run holds; each level
	// holds dimFanout times more.
	dimLevelBase = 1 << 16
	// dimStepEntries and dimStepBlocks bound one merge step: entries
	// merged, blocks of merged runs deleted.
	dimStepEntries = 1 << 16
	dimStepBlocks  = 1 << 12
)

// dimRun is a live run: its ID, level and number of entries.
type dimRun struct {
	id    uint64
	level uint64
	n     uint64
}

// dimTomb says that the entries with an event key up to bound (included) of
// decisions with a key up to dec (included) are deleted.
type dimTomb struct {
	bound evKey
	dec   decKey
}

// dimState is bktMeta's dim_state.
type dimState struct {
	next  uint64   // the next run ID
	runs  []dimRun // live runs, oldest first
	tombs []dimTomb
	// out is the run being merged from in, when a merge is under way.
	out  *dimRun
	in   []uint64
	dead []uint64 // runs whose blocks are still to delete
}

const dimStateV = 1

func (s *dimState) encode(b []byte) []byte {
	e := encoder{b}
	e.byte1(dimStateV)
	e.uvarint(s.next)
	e.uvarint(uint64(len(s.runs)))
	for _, r := range s.runs {
		e.uvarint(r.id)
		e.uvarint(r.level)
		e.uvarint(r.n)
	}
	e.uvarint(uint64(len(s.tombs)))
	for _, t := range s.tombs {
		e.b = append(append(e.b, t.bound[:]...), t.dec[:]...)
	}
	if s.out == nil {
		e.byte1(0)
	} else {
		e.byte1(1)
		e.uvarint(s.out.id)
		e.uvarint(s.out.n)
		e.uvarint(uint64(len(s.in)))
		for _, id := range s.in {
			e.uvarint(id)
		}
	}
	e.uvarint(uint64(len(s.dead)))
	for _, id := range s.dead {
		e.uvarint(id)
	}
	return e.b
}

// readDimState reads the state of tx (an empty index when there is none).
func readDimState(tx *bolt.Tx) (dimState, error) {
	s := dimState{next: 1}
	v := tx.Bucket(bktMeta).Get(metaDimState)
	if v == nil {
		return s, nil
	}
	r := decoder{b: v}
	r.version(dimStateV)
	s.next = r.uvarint()
	count := func() int {
		n := r.uvarint()
		if n > uint64(len(r.b)) {
			r.fail()
			return 0
		}
		return int(n)
	}
	s.runs = make([]dimRun, count())
	for i := range s.runs {
		s.runs[i] = dimRun{id: r.uvarint(), level: r.uvarint(), n: r.uvarint()}
	}
	s.tombs = make([]dimTomb, count())
	for i := range s.tombs {
		if len(r.b) < len(evKey{})+len(decKey{}) {
			r.fail()
			break
		}
		s.tombs[i].bound = evKey(r.b)
		s.tombs[i].dec = decKey(r.b[len(evKey{}):])
		r.b = r.b[len(evKey{})+len(decKey{}):]
	}
	if r.byte1() == 1 {
		s.out = &dimRun{id: r.uvarint(), n: r.uvarint()}
		s.in = make([]uint64, count())
		for i := range s.in {
			s.in[i] = r.uvarint()
		}
	}
	s.dead = make([]uint64, count())
	for i := range s.dead {
		s.dead[i] = r.uvarint()
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	if r.err != nil {
		return dimState{}, fmt.Errorf("dimension index state: %w", r.err)
	}
	return s, nil
}

// dimSizes are the sizes of runs and merge steps (constants, or smaller in
// tests).
type dimSizes struct {
	block, fanout, levelBase, stepEntries, stepBlocks int
}

// levelOf returns the level of a run of n entries.
func (z *dimSizes) levelOf(n uint64) uint64 {
	l := uint64(0)
	for x := uint64(z.levelBase); n > x && l < 30; x *= uint64(z.fanout) {
		l++
	}
	return l
}

// work reports whether the index has merging or deleting to do.
func (z *dimSizes) work(s *dimState) bool {
	if s.out != nil || len(s.dead) > 0 {
		return true
	}
	return z.mergeLevel(s) >= 0
}

// mergeLevel returns the lowest level with dimFanout runs or more, -1 when
// none has.
func (z *dimSizes) mergeLevel(s *dimState) int {
	count := map[uint64]int{}
	best := -1
	for _, r := range s.runs {
		if count[r.level]++; count[r.level] >= z.fanout && (best < 0 || int(r.level) < best) {
			best = int(r.level)
		}
	}
	return best
}

// dead reports whether a tombstone covers the entry with event key e.
func (s *dimState) deadEntry(e []byte) bool {
	for i := range s.tombs {
		t := &s.tombs[i]
		if bytes.Compare(e, t.bound[:]) <= 0 && bytes.Compare(e[8:], t.dec[:]) <= 0 {
			return true
		}
	}
	return false
}

// addTomb records a tombstone, dropping those it covers.
func (s *dimState) addTomb(t dimTomb) {
	s.tombs = slices.DeleteFunc(s.tombs, func(o dimTomb) bool {
		return bytes.Compare(o.bound[:], t.bound[:]) <= 0 && bytes.Compare(o.dec[:], t.dec[:]) <= 0
	})
	s.tombs = append(s.tombs, t)
}

// runIter reads one run's entries in key order, or in reverse, from a
// bbolt cursor of its own (the entries are bbolt memory, valid in the
// transaction).
type runIter struct {
	c   *bolt.Cursor
	id  [8]byte
	blk blockReader // the current block (forward)
	// rev holds the current block's entries (key, value, key, value...)
	// when reading in reverse; the current entry is the last one.
	rev  [][]byte
	k, v []byte // the current entry; k is nil at the end
	err  error
}

func newRunIter(b *bolt.Bucket, id uint64) *runIter {
	it := &runIter{c: b.Cursor()}
	binary.BigEndian.PutUint64(it.id[:], id)
	return it
}

// before moves the cursor from k, where a Seek stopped (nil: past the
// end), to the block before it and returns that block, or nil when it is
// not one of the run's.
func (it *runIter) before(k []byte) (bk, bv []byte) {
	if k == nil {
		bk, bv = it.c.Last()
	} else {
		bk, bv = it.c.Prev()
	}
	if bk == nil || !bytes.HasPrefix(bk, it.id[:]) {
		return nil, nil
	}
	return bk, bv
}

// seek moves to the first entry at or after target.
func (it *runIter) seek(target []byte) {
	rk := append(it.id[:len(it.id):len(it.id)], target...)
	k, v := it.c.Seek(rk)
	if k == nil || !bytes.Equal(k, rk) {
		// The block before may hold target.
		if pk, pv := it.before(k); pk != nil {
			k, v = pk, pv
		} else {
			k, v = it.c.Seek(rk)
		}
	}
	if k == nil || !bytes.HasPrefix(k, it.id[:]) {
		it.k = nil
		return
	}
	it.blk.reset(v)
	for it.next(); it.k != nil && bytes.Compare(it.k, target) < 0; it.next() {
	}
}

// seekBefore moves to the last entry before target (nil: the run's last
// entry), for reading in reverse with prev.
func (it *runIter) seekBefore(target []byte) {
	rk := binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(it.id[:])+1)
	if target != nil {
		rk = append(it.id[:len(it.id):len(it.id)], target...)
	}
	k, _ := it.c.Seek(rk)
	// The block before holds the run's last entry before rk: its first
	// entry is before rk, and the next block starts at rk or later.
	pk, pv := it.before(k)
	if pk == nil {
		it.k = nil
		return
	}
	if it.load(pv); it.err != nil {
		return
	}
	for it.prev(); it.k != nil && target != nil && bytes.Compare(it.k, target) >= 0; it.prev() {
	}
}

// load decodes block v for reading in reverse.
func (it *runIter) load(v []byte) {
	it.rev = it.rev[:0]
	var r blockReader
	for r.reset(v); r.next(); {
		it.rev = append(it.rev, r.k, r.v)
	}
	if r.err != nil {
		it.k, it.err = nil, fmt.Errorf("dimension index run %x: %w", it.id, errRecord)
	}
}

// next moves to the next entry.
func (it *runIter) next() {
	for !it.blk.more() {
		k, v := it.c.Next()
		if k == nil || !bytes.HasPrefix(k, it.id[:]) {
			it.k = nil
			return
		}
		it.blk.reset(v)
	}
	if !it.blk.next() {
		it.k, it.err = nil, fmt.Errorf("dimension index run %x: %w", it.id, errRecord)
		return
	}
	it.k, it.v = it.blk.k, it.blk.v
}

// prev moves to the previous entry (reading in reverse).
func (it *runIter) prev() {
	for len(it.rev) == 0 {
		k, v := it.c.Prev()
		if k == nil || !bytes.HasPrefix(k, it.id[:]) {
			it.k = nil
			return
		}
		if it.load(v); it.err != nil {
			return
		}
	}
	n := len(it.rev)
	it.k, it.v = it.rev[n-2], it.rev[n-1]
	it.rev = it.rev[:n-2]
}

// iterHeap orders run iterators by their current entry, ascending or
// (rev) descending.
type iterHeap struct {
	its []*runIter
	rev bool
}

func (h *iterHeap) Len() int { return len(h.its) }
func (h *iterHeap) Less(i, j int) bool {
	c := bytes.Compare(h.its[i].k, h.its[j].k)
	return c < 0 && !h.rev || c > 0 && h.rev
}
func (h *iterHeap) Swap(i, j int) { h.its[i], h.its[j] = h.its[j], h.its[i] }
func (h *iterHeap) Push(x any)    { h.its = append(h.its, x.(*runIter)) }
func (h *iterHeap) Pop() any {
	old := h.its
	x := old[len(old)-1]
	h.its = old[:len(old)-1]
	return x
}

// mergeRuns calls fn with the entries of the runs ids at or after from and
// before to (nil: no bound), in key order or, with reverse, its reverse,
// without those a tombstone of s covers (for keys that end with an event
// key), until fn returns false.
func mergeRuns(b *bolt.Bucket, s *dimState, ids []uint64, from, to []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	h := &iterHeap{its: make([]*runIter, 0, len(ids)), rev: reverse}
	for _, id := range ids {
		it := newRunIter(b, id)
		if reverse {
			it.seekBefore(to)
		} else {
			it.seek(from)
		}
		if it.err != nil {
			return it.err
		}
		if it.k != nil {
			h.its = append(h.its, it)
		}
	}
	heap.Init(h)
	for len(h.its) > 0 {
		it := h.its[0]
		if !reverse && to != nil && bytes.Compare(it.k, to) >= 0 || reverse && bytes.Compare(it.k, from) < 0 {
			return nil
		}
		if len(it.k) < len(evKey{}) || !s.deadEntry(it.k[len(it.k)-len(evKey{}):]) {
			if more, err := fn(it.k, it.v); err != nil || !more {
				return err
			}
		}
		if reverse {
			it.prev()
		} else {
			it.next()
		}
		switch {
		case it.err != nil:
			return it.err
		case it.k != nil:
			heap.Fix(h, 0)
		default:
			heap.Pop(h)
		}
	}
	return nil
}

// runIDs returns the IDs of the live runs.
func (s *dimState) runIDs() []uint64 {
	ids := make([]uint64, len(s.runs))
	for i, r := range s.runs {
		ids[i] = r.id
	}
	return ids
}

// putDimState writes s and notes whether the index has work left.
func (st *txState) putDimState(s *dimState) error {
	st.dimTouched, st.dimWork = true, st.w.dims.work(s)
	return st.meta.Put(metaDimState, st.encode(s.encode))
}

// appendRun writes n entries, which each hands to add in key order, as a
// new run (of level 0 unless they are many).
func (st *txState) appendRun(n int, each func(add func(k, v []byte) error) error) error {
	if n == 0 {
		return nil
	}
	s, err := readDimState(st.tx)
	if err != nil {
		return err
	}
	w := blockWriter{id: s.next, size: st.w.dims.block, put: func(k, v []byte) error { return st.byDim.Put(st.keep(k), st.keep(v)) }}
	if err := each(w.add); err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return err
	}
	s.runs = append(s.runs, dimRun{id: s.next, level: st.w.dims.levelOf(w.n), n: w.n})
	s.next++
	return st.putDimState(&s)
}

// compactDims does one step of the index's background work: part of a
// merge of dimFanout runs of the lowest level that has them (starting one
// if none is under way), or deleting blocks of merged runs.
func (st *txState) compactDims() error {
	s, err := readDimState(st.tx)
	if err != nil {
		return err
	}
	z := st.w.dims
	if s.out == nil {
		if lvl := z.mergeLevel(&s); lvl >= 0 {
			s.out = &dimRun{id: s.next}
			s.next++
			for _, r := range s.runs {
				if int(r.level) == lvl && len(s.in) < z.fanout {
					s.in = append(s.in, r.id)
				}
			}
		}
	}
	switch {
	case s.out != nil:
		if err := st.mergeStep(&s); err != nil {
			return err
		}
	case len(s.dead) > 0:
		if err := st.deleteStep(&s); err != nil {
			return err
		}
	}
	return st.putDimState(&s)
}

// mergeStep merges up to stepEntries more entries of s.in into s.out, from
// after the last entry s.out holds, and ends the merge when the inputs are
// done. Entries are read before any block is written: a cursor may not
// survive writes to its bucket.
func (st *txState) mergeStep(s *dimState) error {
	z := st.w.dims
	var from []byte
	if last, err := lastEntry(st.byDim, s.out.id); err != nil {
		return err
	} else if last != nil {
		from = append(last, 0) // the smallest key after it
	}
	// The entries read, back to back; offs holds key start, value start
	// and end of each. The writer keeps both buffers.
	buf, offs := st.w.stepBuf[:0], st.w.stepOffs[:0]
	defer func() {
		if cap(buf) <= maxArena {
			st.w.stepBuf, st.w.stepOffs = buf, offs
		}
	}()
	done := true
	err := mergeRuns(st.byDim, s, s.in, from, nil, false, func(k, v []byte) (bool, error) {
		if len(offs)/3 == z.stepEntries {
			done = false
			return false, nil
		}
		offs = append(offs, len(buf), len(buf)+len(k), len(buf)+len(k)+len(v))
		buf = append(append(buf, k...), v...)
		return true, nil
	})
	if err != nil {
		return err
	}
	w := blockWriter{id: s.out.id, size: z.block, put: func(k, v []byte) error { return st.byDim.Put(st.keep(k), st.keep(v)) }}
	for i := 0; i < len(offs); i += 3 {
		if err := w.add(buf[offs[i]:offs[i+1]], buf[offs[i+1]:offs[i+2]]); err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	s.out.n += w.n
	if !done {
		return nil
	}
	s.runs = slices.DeleteFunc(s.runs, func(r dimRun) bool { return slices.Contains(s.in, r.id) })
	if s.out.n > 0 {
		s.out.level = z.levelOf(s.out.n)
		s.runs = append(s.runs, *s.out)
	}
	s.dead = append(s.dead, s.in...)
	s.out, s.in = nil, nil
	return nil
}

// deleteStep deletes up to stepBlocks blocks of merged runs.
func (st *txState) deleteStep(s *dimState) error {
	var keys [][]byte
	c := st.byDim.Cursor()
	for len(s.dead) > 0 && len(keys) < st.w.dims.stepBlocks {
		id := u64(s.dead[0])
		k, _ := c.Seek(id)
		for ; k != nil && bytes.HasPrefix(k, id) && len(keys) < st.w.dims.stepBlocks; k, _ = c.Next() {
			keys = append(keys, slices.Clone(k))
		}
		if k == nil || !bytes.HasPrefix(k, id) {
			s.dead = s.dead[1:]
		}
	}
	for _, k := range keys {
		if err := st.byDim.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// lastEntry returns a copy of the last entry key of a run, nil when the run
// has no block.
func lastEntry(b *bolt.Bucket, id uint64) ([]byte, error) {
	c := b.Cursor()
	k, v := c.Seek(u64(id + 1))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, u64(id)) {
		return nil, nil
	}
	last, err := blockLast(v)
	if err != nil {
		return nil, fmt.Errorf("dimension index run %d: %w", id, errRecord)
	}
	return slices.Clone(last), nil
}
