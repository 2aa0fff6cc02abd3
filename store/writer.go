package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writer is the one goroutine that runs write transactions. It takes the
// first waiting request, gathers the others already waiting (or, with a
// positive MaxDelay, those arriving until it passes) up to MaxBatch items,
// applies them all in one transaction and commits once. Each request learns the outcome of that commit.
//
// A request whose apply fails is taken out of the group and told its own
// error; the transaction is rolled back and the rest of the group is applied
// again in a fresh one, so one bad request never fails the others. A commit
// error reaches every request of the group.
type writer struct {
	db         *DB
	reqs       chan *request
	stopped    chan struct{}
	maxBatch   int
	maxDelay   time.Duration
	mergeEvery int
	mergeIdle  time.Duration
	dims       *dimSizes
	failCommit func() error // Options.FailCommit

	// Owned by the writer goroutine.
	last   decKey       // the newest decision key committed
	mark   decKey       // the index mark committed
	pend   []pendingDec // decisions after the index mark that the batched indexes need
	failed error        // set after a panic inside a transaction; refuses all work
	// wedged is set when a panic (a memory fault on a truncated file) left
	// bbolt holding its writer lock (it came while the transaction began,
	// or its rollback failed too): the bbolt DB can then not be closed.
	wedged   bool
	arena    []byte        // encoded keys and values of the running transaction
	contribs []rollContrib // rollup contributions of the running transaction
	stepBuf  []byte        // entries of a dimension merge step
	stepOffs []int
	rankOps  []rankOp // lent to a transaction's rankBatch
	rankTmp  []rankOp // scratch of the rank batch's sort
	batch    []*request
	// limit is the cap of the next group and lastItems the size of the
	// last (adaptive groups, see gather).
	limit, lastItems int
	// dimWork is set while the dimension index has runs to merge or
	// delete; dimFailed stops that work after a failed step.
	dimWork, dimFailed bool
	// A merge of the decisions pending up to some key is prepared by a
	// goroutine while the writer commits other groups (see startPrep):
	// prepping is set while it runs, prepDone receives it, ready holds it
	// until a transaction that applies it commits, spare is the last one
	// applied (its buffers are reused).
	prepDone     chan *mergePrep
	prepping     bool
	ready, spare *mergePrep

	// taken counts requests the writer has received and txs the
	// transactions it committed (observability and tests).
	taken, txs atomic.Uint64
}

// maxArena is the largest encoding buffer the writer keeps between
// transactions.
const maxArena = 16 << 20

// request is one unit of work for the writer: items counts toward MaxBatch;
// apply writes inside the transaction and may run more than once (after
// another request of its group failed), so it must record its results by
// overwriting, not appending. done receives the outcome.
type request struct {
	ctx   context.Context
	items int
	apply func(st *txState) error
	done  chan error
}

func startWriter(db *DB, last, mark decKey, pend []pendingDec, dimWork bool, opts Options) *writer {
	w := &writer{
		db:         db,
		reqs:       make(chan *request, 1024),
		stopped:    make(chan struct{}),
		maxBatch:   opts.MaxBatch,
		maxDelay:   opts.MaxDelay,
		mergeEvery: opts.mergeEvery,
		mergeIdle:  opts.mergeIdle,
		dims:       &db.dims,
		failCommit: opts.FailCommit,
		last:       last,
		mark:       mark,
		pend:       pend,
		dimWork:    dimWork,
		prepDone:   make(chan *mergePrep, 1),
	}
	go w.run()
	return w
}

// stop closes the queue and waits until everything queued is committed.
// The caller guarantees no send happens after it (DB.mu).
func (w *writer) stop() {
	close(w.reqs)
	<-w.stopped
}

// submit hands work to the writer and waits for its commit. If ctx ends
// first it returns ctx.Err(); the work may still be committed later (it is
// skipped only if the writer sees the cancellation before starting it).
func (db *DB) submit(ctx context.Context, items int, apply func(st *txState) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.readOnly {
		return fmt.Errorf("store %s: %w", db.path, ErrReadOnly)
	}
	if err := db.Lost(); err != nil {
		return err
	}
	r := &request{ctx: ctx, items: max(items, 1), apply: apply, done: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return fmt.Errorf("store %s: %w", db.path, ErrClosed)
	}
	select {
	case db.w.reqs <- r:
		db.mu.RUnlock()
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the writer goroutine: it waits for a request (folding pending
// index state in when idle), gathers a group and commits it, until the
// queue is closed and drained. While the dimension index has merging to
// do, it does a step of it after each group, and one after another when
// no request waits.
func (w *writer) run() {
	defer close(w.stopped)
	defer w.waitPrep()
	debug.SetPanicOnFault(true)
	timer := time.NewTimer(w.maxDelay)
	timer.Stop()
	idle := time.NewTimer(w.mergeIdle)
	defer idle.Stop()
	for {
		var first *request
		ok := true
		switch {
		case w.dimWork && !w.dimFailed:
			select {
			case first, ok = <-w.reqs:
			default:
				w.compactStep()
				continue
			}
		case w.last == w.mark:
			first, ok = <-w.reqs
		default:
			idle.Reset(w.mergeIdle)
			select {
			case first, ok = <-w.reqs:
				idle.Stop()
			case <-idle.C:
				w.mergeNow()
				continue
			}
		}
		if ok {
			ok = w.gather(first, timer)
			w.commit(w.batch)
			clear(w.batch)
			w.startPrep()
			if w.dimWork && !w.dimFailed {
				w.compactStep()
			}
		}
		if !ok {
			w.mergeNow()
			return
		}
	}
}

// compactStep runs one step of the dimension index's merging in a
// transaction of its own. A failure stops the merging until the next Open
// (the index stays correct, only with more runs to read).
func (w *writer) compactStep() {
	r := &request{ctx: context.Background(), items: 1, apply: func(st *txState) error { return st.compactDims() }, done: make(chan error, 1)}
	w.commit([]*request{r})
	if <-r.done != nil {
		w.dimFailed = true
	}
}

// Adaptive groups (MaxDelay zero). A group that filled with more
// requests waiting doubles the cap of the next, up to maxGrow times
// MaxBatch; a group under half its cap halves it again. While the writer
// is streaming (the last group held streamItems items or more), it lingers
// for more requests after the queue runs dry, as long as they keep coming
// within lingerGap of each other and at most lingerMax in all: callers
// answered by the last commit are then back with their next work, and the
// group carries them too. A lone caller never streams, so it is never held
// back.
const (
	maxGrow     = 8
	streamItems = 64
	lingerGap   = 100 * time.Microsecond
	lingerMax   = time.Millisecond
)

// gather fills w.batch with first and the requests that arrive until it
// holds the group's cap of items or, with a positive MaxDelay, that has
// passed (see the adaptive groups above for a zero MaxDelay). It returns
// false when the queue was closed.
func (w *writer) gather(first *request, timer *time.Timer) bool {
	w.taken.Add(1)
	w.batch = append(w.batch[:0], first)
	items := first.items
	add := func(r *request) {
		w.taken.Add(1)
		w.batch = append(w.batch, r)
		items += r.items
	}
	if w.maxDelay > 0 {
		timer.Reset(w.maxDelay)
		defer timer.Stop()
		for items < w.maxBatch {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					return false
				}
				add(r)
			case <-timer.C:
				return true
			}
		}
		return true
	}
	limit := max(w.limit, w.maxBatch)
	defer func() {
		switch {
		case items >= limit && len(w.reqs) > 0:
			w.limit = min(limit*2, w.maxBatch*maxGrow)
		case items < limit/2:
			w.limit = max(limit/2, w.maxBatch)
		}
		w.lastItems = items
	}()
	// Greedy: take what is already waiting.
	for items < limit {
		select {
		case r, ok := <-w.reqs:
			if !ok {
				return false
			}
			add(r)
			continue
		default:
		}
		break
	}
	if items >= limit || w.lastItems < streamItems {
		return true
	}
	deadline := time.Now().Add(lingerMax)
	for items < limit {
		wait := min(lingerGap, time.Until(deadline))
		if wait <= 0 {
			return true
		}
		timer.Reset(wait)
		select {
		case r, ok := <-w.reqs:
			timer.Stop()
			if !ok {
				return false
			}
			add(r)
		case <-timer.C:
			return true
		}
	}
	return true
}

// maxLag is how many merges' worth of decisions may be pending before a
// transaction folds them in itself instead of leaving it to the background
// merge.
const maxLag = 4

// startPrep hands the decisions pending after the last commit to a
// goroutine that prepares their merge (mergePrep), once mergeEvery
// decisions are after the index mark and no merge is under way or waiting
// to be applied. The goroutine only reads the decisions it is handed;
// the writer keeps appending to a fresh pending list and applies the merge
// in a later transaction, which moves the index mark to the newest
// decision the merge covers. So the mark still moves only with the merged
// state it describes, in one commit.
func (w *writer) startPrep() {
	if w.prepping || w.ready != nil || w.failed != nil || w.last.seq()-w.mark.seq() < uint64(w.mergeEvery) {
		return
	}
	m := w.spare
	if m == nil {
		m = new(mergePrep)
	}
	w.spare = nil
	m.pend, w.pend = w.pend, m.pend[:0]
	m.upTo = w.last
	w.prepping = true
	go func() {
		m.prepare()
		w.prepDone <- m
	}()
}

// takePrep returns the prepared merge if it is ready (or, with wait, once
// it is), nil when none is.
func (w *writer) takePrep(wait bool) *mergePrep {
	if w.ready != nil || !w.prepping {
		return w.ready
	}
	if wait {
		w.ready = <-w.prepDone
	} else {
		select {
		case w.ready = <-w.prepDone:
		default:
			return nil
		}
	}
	w.prepping = false
	return w.ready
}

// waitPrep waits for a merge being prepared (the writer stops).
func (w *writer) waitPrep() {
	if w.prepping {
		w.ready, w.prepping = <-w.prepDone, false
	}
}

// mergeNow folds all pending index state in, in a transaction of its own
// (when idle, and at Close). A failure leaves the decisions pending; the
// next merge or the next Open retries.
func (w *writer) mergeNow() {
	if w.last == w.mark {
		return
	}
	w.commit([]*request{{
		ctx:   context.Background(),
		items: 1,
		apply: func(st *txState) error { return st.mergeIndexes() },
		done:  make(chan error, 1),
	}})
}

// commit runs one group: requests already cancelled are answered and
// dropped, then the rest is applied and committed, taking out any request
// whose apply fails.
func (w *writer) commit(batch []*request) {
	live := batch[:0] // filtered in place: each slot is read before it is overwritten
	lost := w.db.checkBeforeWrite()
	for _, r := range batch {
		switch {
		case lost != nil:
			r.done <- lost
		case w.failed != nil:
			r.done <- w.failed
		case r.ctx.Err() != nil:
			r.done <- r.ctx.Err()
		default:
			live = append(live, r)
		}
	}
	for len(live) > 0 {
		bad, err := w.runTx(live)
		if bad >= 0 {
			live[bad].done <- err
			live = slices.Delete(live, bad, bad+1)
			continue
		}
		for _, r := range live {
			r.done <- err
		}
		return
	}
}

// runTx applies reqs in one transaction and commits it. It returns the index
// of a request whose apply failed (the transaction is then rolled back), or
// -1 and the commit outcome.
func (w *writer) runTx(reqs []*request) (bad int, err error) {
	var (
		tx *bolt.Tx
		st *txState
	)
	// Installed before Begin: beginning reads the mapped meta pages, which
	// fault when the file was truncated under the process.
	defer func() {
		if r := recover(); r != nil {
			if tx == nil {
				w.wedged = true
			} else {
				func() {
					defer func() {
						if recover() != nil {
							w.wedged = true
						}
					}()
					_ = tx.Rollback()
				}()
				if st != nil {
					st.discard()
				}
			}
			w.failed = fmt.Errorf("store %s: %w: writes stopped after an internal error: %v", w.db.path, ErrCorrupt, r)
			if lost := w.db.checkLost(); lost != nil {
				w.failed = lost
			}
			bad, err = -1, w.failed
		}
	}()
	tx, err = w.db.bolt.Begin(true)
	if err != nil {
		return -1, fmt.Errorf("store %s: begin write: %w", w.db.path, err)
	}
	w.db.written.Store(tx.Size())
	w.arena = w.arena[:0]
	st = newTxState(w, tx)
	for i, r := range reqs {
		if err := r.apply(st); err != nil {
			_ = tx.Rollback()
			st.discard()
			return i, err
		}
	}
	if err := st.flush(); err != nil {
		_ = tx.Rollback()
		st.discard()
		return -1, fmt.Errorf("store %s: write: %w", w.db.path, err)
	}
	if w.failCommit != nil {
		if err := w.failCommit(); err != nil {
			_ = tx.Rollback()
			st.discard()
			return -1, fmt.Errorf("store %s: commit: %w", w.db.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		st.discard()
		return -1, fmt.Errorf("store %s: commit: %w", w.db.path, err)
	}
	st.committed()
	w.txs.Add(1)
	if cap(w.arena) > maxArena {
		w.arena = nil
	}
	return -1, w.db.checkCommitted()
}

// txState is what the requests of one transaction share: the buckets, the
// decision key allocator, and the aggregates (rollups, counters) that flush
// writes once per transaction instead of once per decision.
type txState struct {
	w  *writer
	tx *bolt.Tx

	meta, inbox, events, decisions, byTime, byIP, byDim *bolt.Bucket
	users, minutes, hours, rejected, checkpoints        *bolt.Bucket

	// nanos stamps every decision of the transaction; last is the newest
	// key assigned.
	nanos int64
	last  decKey

	// contribs are the rollup contributions of the decisions stored so
	// far, dimRoll their dimension rollups.
	contribs []rollContrib
	dimRoll  dimRollAcc

	// pendStart is the length of w.pend before this transaction (restored
	// if it fails); w.pend[:mergedTo] is folded in by this transaction.
	pendStart, mergedTo int
	// mark is the index mark; merged is set when this transaction moved
	// it to its newest key, prepApplied when it applied the writer's
	// prepared merge.
	mark                decKey
	merged, prepApplied bool
	// dimTouched is set when the transaction wrote the dimension index's
	// state; dimWork says whether that has work left.
	dimTouched, dimWork bool

	dDecisions, dInbox int64
	dRejected          uint64

	// Cursors for lookups (see get), made on first use.
	eventsC, inboxC, usersC, byIPC *bolt.Cursor
}

// get returns the value of key in c's bucket, nil if it has none: a
// Bucket.Get without the cursor it would allocate. Seek searches from the
// root, so writes between lookups do not disturb it.
func get(c **bolt.Cursor, b *bolt.Bucket, key []byte) []byte {
	if *c == nil {
		*c = b.Cursor()
	}
	if k, v := (*c).Seek(key); bytes.Equal(k, key) {
		return v
	}
	return nil
}

func newTxState(w *writer, tx *bolt.Tx) *txState {
	st := &txState{
		w:           w,
		tx:          tx,
		meta:        tx.Bucket(bktMeta),
		inbox:       tx.Bucket(bktInbox),
		events:      tx.Bucket(bktEvents),
		decisions:   tx.Bucket(bktDecisions),
		byTime:      tx.Bucket(bktByTime),
		byIP:        tx.Bucket(bktByIP),
		byDim:       tx.Bucket(bktByDim),
		users:       tx.Bucket(bktUsers),
		minutes:     tx.Bucket(bktMinutes),
		hours:       tx.Bucket(bktHours),
		rejected:    tx.Bucket(bktRejected),
		checkpoints: tx.Bucket(bktCheckpoints),
		last:        w.last,
		contribs:    w.contribs[:0],
		pendStart:   len(w.pend),
		mark:        w.mark,
	}
	// Buckets written (mostly) at their end: fill pages when they split.
	for _, b := range []*bolt.Bucket{st.inbox, st.decisions, st.byTime, st.minutes, st.hours, st.rejected} {
		b.FillPercent = 0.95
	}
	// The clock may step back: keys must still increase, so the stamp never
	// goes below the last one (the sequence then orders equal stamps).
	st.nanos = max(clampNanos(w.db.now()), w.last.nanos())
	return st
}

// nextKey assigns the next decision key.
func (st *txState) nextKey() decKey {
	st.last = makeDecKey(st.nanos, st.last.seq()+1)
	return st.last
}

// putEnc stores key (copied into the arena) with the value enc appends to
// the arena: bbolt keeps references to both until the commit.
func (st *txState) putEnc(b *bolt.Bucket, key []byte, enc func([]byte) []byte) error {
	return b.Put(st.keep(key), st.encode(enc))
}

// keep copies p into the arena and returns the copy.
func (st *txState) keep(p []byte) []byte {
	start := len(st.w.arena)
	st.w.arena = append(st.w.arena, p...)
	return st.w.arena[start:len(st.w.arena):len(st.w.arena)]
}

// keepU64 stores v as an 8-byte big-endian value in the arena and returns
// it.
func (st *txState) keepU64(v uint64) []byte {
	start := len(st.w.arena)
	st.w.arena = binary.BigEndian.AppendUint64(st.w.arena, v)
	return st.w.arena[start:len(st.w.arena):len(st.w.arena)]
}

// encode runs enc on the arena and returns what it appended, without a copy.
func (st *txState) encode(enc func([]byte) []byte) []byte {
	start := len(st.w.arena)
	st.w.arena = enc(st.w.arena)
	return st.w.arena[start:len(st.w.arena):len(st.w.arena)]
}

// flush writes the transaction's aggregates: rollups, the batched indexes
// when enough decisions are pending, and counters.
func (st *txState) flush() error {
	err := applyRollups(st.contribs, st.minutes, st.hours, func(b *bolt.Bucket, key []byte, r rollup) error {
		return st.putEnc(b, key, r.encode)
	})
	if err != nil {
		return err
	}
	if err := st.flushDimRollups(); err != nil {
		return err
	}
	// Sequences count decisions, so this is how many are after the mark
	// (with or without anything to index: readers scan them all). A merge
	// prepared in the background is applied once it is ready; if the
	// decisions pending grow past maxLag merges, everything is folded in
	// here (waiting for the background merge).
	if st.last.seq()-st.mark.seq() >= uint64(maxLag*st.w.mergeEvery) {
		if err := st.mergeIndexes(); err != nil {
			return err
		}
	} else if err := st.applyPrepared(false); err != nil {
		return err
	}
	if st.last != st.w.last {
		if err := st.meta.Put(metaLastKey, st.keep(st.last[:])); err != nil {
			return err
		}
	}
	db := st.w.db
	for _, c := range []struct {
		key   []byte
		cur   uint64
		delta int64
	}{
		{metaDecisions, db.decisions.Load(), st.dDecisions},
		{metaInbox, db.inbox.Load(), st.dInbox},
		{metaRejected, db.rejected.Load(), int64(st.dRejected)},
	} {
		if c.delta == 0 {
			continue
		}
		if err := st.meta.Put(c.key, st.keepU64(uint64(int64(c.cur)+c.delta))); err != nil {
			return err
		}
	}
	return nil
}

// committed publishes the transaction's effects to memory after its commit.
func (st *txState) committed() {
	db := st.w.db
	db.decisions.Add(uint64(st.dDecisions))
	db.inbox.Add(uint64(st.dInbox))
	db.rejected.Add(st.dRejected)
	st.w.last = st.last
	st.w.mark = st.mark
	db.pend.dropBefore(st.mark)
	if st.dimTouched {
		st.w.dimWork = st.dimWork
	}
	clear(st.contribs) // drop the references to type names
	st.w.contribs = st.contribs[:0]
	w := st.w
	if st.merged {
		n := copy(w.pend, w.pend[st.mergedTo:])
		clear(w.pend[n:])
		w.pend = w.pend[:n]
	}
	if st.prepApplied {
		w.ready.reset(maxArena / 8)
		w.spare, w.ready = w.ready, nil
	}
}

// discard forgets what a failed transaction added to memory.
func (st *txState) discard() {
	clear(st.w.pend[st.pendStart:])
	st.w.pend = st.w.pend[:st.pendStart]
}
