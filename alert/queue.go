package alert

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// item is one queued notification.
type item struct {
	alert, state string
	body         []byte
}

// attemptFunc makes one delivery attempt.
type attemptFunc func(ctx context.Context, it item) error

// permanentError is an error that retrying will not cure.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// retryAfterError asks for a retry no sooner than after.
type retryAfterError struct {
	error
	after time.Duration
}

func (e retryAfterError) Unwrap() error { return e.error }

// worker is a bounded FIFO queue with the one goroutine that delivers it,
// so notifications go out in the order they were queued.
type worker struct {
	target  string
	attempt attemptFunc
	retry   bool
	opt     NotifyOptions

	mu     sync.Mutex
	queue  []item
	closed bool
	health Health

	wake   chan struct{} // a push happened; capacity 1
	drain  chan struct{} // closed by close: finish the queue and stop
	ctx    context.Context
	cancel context.CancelFunc // abandons delivery
	done   chan struct{}      // closed when run returns
}

// startWorker starts the delivery goroutine of a notifier; retry says
// whether a failed attempt is retried.
func startWorker(target string, attempt attemptFunc, retry bool, opt NotifyOptions) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{
		target: target, attempt: attempt, retry: retry, opt: opt,
		health: Health{Target: target},
		wake:   make(chan struct{}, 1), drain: make(chan struct{}), ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	go w.run()
	return w
}

// Notify queues n without blocking; when the queue is full the oldest
// queued notification is dropped to make room.
func (w *worker) Notify(n Notification) {
	body, err := n.Payload()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err != nil:
		w.health.Failed++
		w.health.LastError, w.health.LastErrorAt = err.Error(), time.Now()
		return
	case w.closed:
		w.health.Dropped++
		return
	case len(w.queue) >= w.opt.QueueSize:
		w.queue = w.queue[1:]
		w.health.Dropped++
	}
	w.queue = append(w.queue, item{alert: n.Alert, state: n.State, body: body})
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Health returns a copy of the counters.
func (w *worker) Health() Health {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.health
	h.Queued = len(w.queue)
	return h
}

// Close implements Notifier.Close.
func (w *worker) Close(ctx context.Context) error {
	w.mu.Lock()
	first := !w.closed
	w.closed = true
	w.mu.Unlock()
	if first {
		close(w.drain)
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
	}
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.queue)
	w.health.Dropped += uint64(n)
	w.queue = nil
	return fmt.Errorf("%s: closed with %d notifications undelivered: %w", w.target, n, ctx.Err())
}

// run delivers the queue in order until drained after close, or abandoned.
func (w *worker) run() {
	defer close(w.done)
	defer w.cancel()
	for w.ctx.Err() == nil {
		if it, ok := w.pop(); ok {
			w.deliver(it)
			continue
		}
		select {
		case <-w.wake:
		case <-w.drain:
			if _, ok := w.peek(); !ok {
				return
			}
		case <-w.ctx.Done():
		}
	}
}

func (w *worker) pop() (item, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return item{}, false
	}
	it := w.queue[0]
	w.queue = w.queue[1:]
	return it, true
}

func (w *worker) peek() (item, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return item{}, false
	}
	return w.queue[0], true
}

// deliver attempts it until it is delivered, fails for good, its retries
// run out, or delivery is abandoned.
func (w *worker) deliver(it item) {
	start := time.Now()
	for n := 0; ; n++ {
		err := w.attempt(w.ctx, it)
		w.mu.Lock()
		if err == nil {
			w.health.Sent++
			w.health.LastSuccess = time.Now()
			w.mu.Unlock()
			return
		}
		w.health.LastError, w.health.LastErrorAt = err.Error(), time.Now()
		w.mu.Unlock()
		var perm permanentError
		retry := w.retry && !errors.As(err, &perm) && w.ctx.Err() == nil && time.Since(start) < w.opt.RetryFor
		if !retry || !w.sleep(w.backoff(n, err)) {
			w.mu.Lock()
			w.health.Failed++
			w.mu.Unlock()
			return
		}
		w.mu.Lock()
		w.health.Retries++
		w.mu.Unlock()
	}
}

// backoff returns the wait before retry n (from 0): full jitter, a
// uniformly random wait below min(MaxBackoff, MinBackoff·2ⁿ), or the
// server's Retry-After capped at MaxBackoff.
func (w *worker) backoff(n int, err error) time.Duration {
	var ra retryAfterError
	if errors.As(err, &ra) && ra.after > 0 {
		return min(ra.after, w.opt.MaxBackoff)
	}
	ceil := w.opt.MinBackoff
	for i := 0; i < n && ceil < w.opt.MaxBackoff; i++ {
		ceil *= 2
	}
	return rand.N(min(ceil, w.opt.MaxBackoff))
}

// sleep waits d, or returns false when delivery is abandoned first.
func (w *worker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.ctx.Done():
		return false
	}
}
