package collector

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// Defaults for SubscribeOptions.
const (
	// DefaultInterval is the least time between two batches to a subscriber.
	DefaultInterval = 150 * time.Millisecond
	// DefaultBuffer is how many decisions may wait for one subscriber.
	DefaultBuffer = 10_000
)

// Hub fans committed decisions out to subscribers (the live view, remote
// dashboards). Create one with NewHub.
//
// Guarantees:
//   - Publish never waits for a subscriber: it only appends to in-memory
//     queues under a short lock.
//   - Every subscriber sees decisions in Publish order, oldest first, and
//     all subscribers see the same order.
//   - Decisions reach a subscriber in batches, at most one per interval.
//   - A subscriber that does not keep up loses its oldest waiting decisions
//     once more than its buffer is waiting; the next batch it receives
//     carries the count in Missed. Other subscribers are not affected.
//   - Each subscription is served by one goroutine owned by the hub; it
//     stops, and its channel closes, when the subscription's context ends
//     or Close is called.
//
// Decisions are shared between subscribers without deep copies: batches
// have their own slices, but a decision's Signals, Request and Response
// are shared and must be treated as read-only.
type Hub struct {
	done chan struct{} // closed by Close
	wg   sync.WaitGroup

	mu     sync.Mutex
	closed bool
	subs   map[*subscriber]struct{}
	// wakers are the Notify channels (capacity 1), closed on removal.
	wakers map[chan struct{}]struct{}
}

// SubscribeOptions tune one subscription. Zero values select the defaults.
type SubscribeOptions struct {
	// Interval is the least time between two batches (DefaultInterval).
	// The first decisions after a quiet spell are sent at once.
	Interval time.Duration
	// Buffer bounds how many decisions may wait for this subscriber
	// (DefaultBuffer); a batch never holds more.
	Buffer int
}

// subscriber is one subscription. Its queue fields are guarded by Hub.mu.
type subscriber struct {
	interval time.Duration
	limit    int
	out      chan api.Batch
	wake     chan struct{} // capacity 1: "something was queued"

	chunks [][]decision.Decision // read-only slices shared with other subscribers
	n      int                   // decisions in chunks
	missed int                   // decisions dropped since the last batch
}

// NewHub returns a hub without subscribers.
func NewHub() *Hub {
	return &Hub{
		done:   make(chan struct{}),
		subs:   make(map[*subscriber]struct{}),
		wakers: make(map[chan struct{}]struct{}),
	}
}

// Publish queues ds, as committed by the store (oldest first), for every
// subscriber and returns without waiting for any of them. It copies the
// slice, so the caller may reuse ds. Safe for concurrent use; after Close
// it does nothing.
func (h *Hub) Publish(ds []decision.Decision) {
	if len(ds) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	for w := range h.wakers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	if len(h.subs) == 0 {
		return
	}
	chunk := slices.Clone(ds)
	for s := range h.subs {
		s.add(chunk)
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// add queues chunk, dropping the oldest waiting decisions beyond the limit.
func (s *subscriber) add(chunk []decision.Decision) {
	s.chunks = append(s.chunks, chunk)
	s.n += len(chunk)
	for s.n > s.limit {
		over := s.n - s.limit
		first := s.chunks[0]
		if len(first) > over {
			s.chunks[0] = first[over:]
			s.n -= over
			s.missed += over
			break
		}
		s.chunks[0] = nil
		s.chunks = s.chunks[1:]
		s.n -= len(first)
		s.missed += len(first)
	}
}

// Subscribe returns a channel of batches of the decisions published from
// now on. The channel closes when ctx ends or the hub is closed; a
// subscription made after Close gets a closed channel. The caller must keep
// receiving or end ctx: a subscriber that stops receiving only loses
// decisions, it never slows Publish.
func (h *Hub) Subscribe(ctx context.Context, opts SubscribeOptions) <-chan api.Batch {
	s := &subscriber{
		interval: opts.Interval,
		limit:    opts.Buffer,
		out:      make(chan api.Batch),
		wake:     make(chan struct{}, 1),
	}
	if s.interval <= 0 {
		s.interval = DefaultInterval
	}
	if s.limit <= 0 {
		s.limit = DefaultBuffer
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(s.out)
		return s.out
	}
	h.subs[s] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	go h.serve(ctx, s)
	return s.out
}

// Notify returns a channel that receives a value after each Publish,
// coalesced: however many publishes happen while the receiver is busy, one
// value waits. It holds no decisions, so a slow receiver costs nothing; it
// reads what it missed from the store (the stream does). The channel
// closes when ctx ends or the hub is closed.
func (h *Hub) Notify(ctx context.Context) <-chan struct{} {
	w := make(chan struct{}, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(w)
		return w
	}
	h.wakers[w] = struct{}{}
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.wakers[w]; ok {
			delete(h.wakers, w)
			close(w)
		}
	})
	return w
}

// serve delivers s's queue in batches until ctx ends or the hub closes.
func (h *Hub) serve(ctx context.Context, s *subscriber) {
	defer h.wg.Done()
	defer close(s.out)
	defer h.remove(s)
	timer := time.NewTimer(s.interval)
	timer.Stop()
	defer timer.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			return
		case <-s.wake:
		}
		if wait := s.interval - time.Since(last); !last.IsZero() && wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-h.done:
				return
			case <-timer.C:
			}
		}
		b, ok := h.take(s)
		if !ok {
			continue
		}
		last = time.Now()
		select {
		case s.out <- b:
		case <-ctx.Done():
			return
		case <-h.done:
			return
		}
	}
}

// take empties s's queue into a batch; ok is false when nothing waited.
func (h *Hub) take(s *subscriber) (b api.Batch, ok bool) {
	h.mu.Lock()
	chunks, n, missed := s.chunks, s.n, s.missed
	s.chunks, s.n, s.missed = nil, 0, 0
	h.mu.Unlock()
	if n == 0 && missed == 0 {
		return b, false
	}
	b.Decisions = make([]decision.Decision, 0, n)
	for _, c := range chunks {
		b.Decisions = append(b.Decisions, c...)
	}
	b.Missed = missed
	return b, true
}

func (h *Hub) remove(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// Close ends every subscription, closing their channels, and waits for
// their goroutines to return. Decisions not yet delivered are dropped
// (they are in the store). Close may be called more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
		for w := range h.wakers {
			delete(h.wakers, w)
			close(w)
		}
	}
	h.mu.Unlock()
	h.wg.Wait()
}
