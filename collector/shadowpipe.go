package collector

import (
	"context"
	"sync"

	"github.com/riskwatch/riskwatch/store"
)

// shadowPipe takes the shadow policy off the commit path: a goroutine of
// its own evaluates each commit group (Shadow.Apply) while the group
// before it is being committed by another, so on a busy machine the
// evaluation overlaps the commit's I/O instead of adding to it. Groups are
// evaluated, then committed, in the order they are sent, one at a time,
// so the evaluation order is the one a single goroutine evaluating before
// each commit gives. Without a shadow policy send commits on the caller's
// goroutine, as the pipeline did before there was one.
//
// close waits until every group sent is committed and both goroutines
// have returned.
type shadowPipe struct {
	s      *Shadow
	commit func([]store.Result)
	eval   chan []store.Result // groups to evaluate
	ready  chan []store.Result // evaluated, to commit
	free   chan []store.Result // committed groups' slices, for reuse
	wg     sync.WaitGroup
}

// pipeDepth is how many groups may wait at each step: one evaluated while
// one commits is the overlap; more would only hold more in memory.
const pipeDepth = 1

// pipe returns the pipe that evaluates groups with s (nil: none) and
// hands them to commit, which must return after the group's commit (or
// after giving up on it). ctx is the evaluations' context.
func (s *Shadow) pipe(ctx context.Context, commit func([]store.Result)) *shadowPipe {
	sp := &shadowPipe{s: s, commit: commit, free: make(chan []store.Result, 2*pipeDepth+2)}
	if s == nil {
		return sp
	}
	sp.eval = make(chan []store.Result, pipeDepth)
	sp.ready = make(chan []store.Result, pipeDepth)
	sp.wg.Go(func() {
		defer close(sp.ready)
		for batch := range sp.eval {
			s.Apply(ctx, batch)
			s.flight.add()
			sp.ready <- batch
		}
	})
	sp.wg.Go(func() {
		for batch := range sp.ready {
			sp.commit(batch)
			s.flight.done()
			sp.recycle(batch)
		}
	})
	return sp
}

// buffer returns an empty slice for the next group, reusing a committed
// group's when there is one.
func (sp *shadowPipe) buffer(n int) []store.Result {
	select {
	case b := <-sp.free:
		return b
	default:
		return make([]store.Result, 0, n)
	}
}

func (sp *shadowPipe) recycle(batch []store.Result) {
	clear(batch)
	select {
	case sp.free <- batch[:0]:
	default:
	}
}

// send evaluates and commits batch, which the pipe owns from then on. It
// blocks while a group waits at each step.
func (sp *shadowPipe) send(batch []store.Result) {
	if sp.s == nil {
		sp.commit(batch)
		sp.recycle(batch)
		return
	}
	sp.eval <- batch
}

// close commits what was sent and stops the pipe's goroutines.
func (sp *shadowPipe) close() {
	if sp.s != nil {
		close(sp.eval)
	}
	sp.wg.Wait()
}

// inFlight counts the groups evaluated by the shadow and not yet
// committed (or given up on): a read of the store that must see every
// decision evaluated before it waits for them (wait).
type inFlight struct {
	mu      sync.Mutex
	cond    *sync.Cond
	n       int
	waiters int // goroutines in wait
}

func (f *inFlight) init() { f.cond = sync.NewCond(&f.mu) }

func (f *inFlight) add() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

// waiting returns how many goroutines wait.
func (f *inFlight) waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiters
}

func (f *inFlight) done() {
	f.mu.Lock()
	f.n--
	f.mu.Unlock()
	f.cond.Broadcast()
}

// wait returns when no group is in flight.
func (f *inFlight) wait() {
	f.mu.Lock()
	f.waiters++
	for f.n > 0 {
		f.cond.Wait()
	}
	f.waiters--
	f.mu.Unlock()
}
