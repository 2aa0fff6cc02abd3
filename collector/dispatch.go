package collector

import (
	"container/heap"
	"context"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/internal/backoff"
	"github.com/riskwatch/riskwatch/safee"
)

// dispatcher is the pipeline's scheduling state, owned by the goroutine in
// dispatch. Every item read from the inbox is in exactly one place: its
// user's queue (the head may also be in ready, delayed or in flight), or on
// its way to the completer. Each step is O(log n).
type dispatcher struct {
	p       *Pipeline
	users   map[string][]*item // per-user FIFO; only the head is ever sent
	ready   seqHeap            // user heads that may be sent now, oldest first
	delayed timeHeap           // user heads backing off after a failure
	busy    map[string]bool    // user whose head is in flight
	breaker string             // BreakerClosed, BreakerOpen or BreakerHalfOpen; mirrored to Stats
	fails   int                // consecutive retryable failures
	openAt  time.Time          // breaker: when it half-opens
	cool    time.Duration      // breaker: current cooldown
	probeAt time.Time          // paused: when to try one event
	probing bool               // a probe is in flight (half-open or paused)
	out     []completion       // decisions of this step, handed to the completer at its end
}

func (p *Pipeline) dispatch(ctx context.Context, work chan<- *item, incoming <-chan []*item, results <-chan outcome, done chan<- []completion) error {
	d := &dispatcher{p: p, users: map[string][]*item{}, busy: map[string]bool{}, cool: p.o.BreakerCooldown, breaker: BreakerClosed}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := p.o.Now()
		d.release(now)

		// Hand out what idle workers take at once, then wait for whatever
		// comes first.
		next, probe := d.candidate(now)
		for next != nil && d.offer(work, next, probe) {
			next, probe = d.candidate(now)
		}
		var send chan<- *item
		if next != nil {
			send = work
		}
		timer.Reset(d.nextWake(now))
		select {
		case <-ctx.Done():
			return nil
		case batch := <-incoming:
			d.add(batch)
		case <-timer.C:
		case send <- next:
			d.sent(next, probe)
		case o := <-results:
			d.handle(o)
			// Take the other answers already waiting in the same step.
			for more := true; more; {
				select {
				case o := <-results:
					d.handle(o)
				default:
					more = false
				}
			}
		}
		if len(d.out) > 0 {
			done <- d.out
			d.out = nil
		}
	}
}

// offer sends it to a worker if one is waiting, and reports whether it did.
func (d *dispatcher) offer(work chan<- *item, it *item, probe bool) bool {
	select {
	case work <- it:
		d.sent(it, probe)
		return true
	default:
		return false
	}
}

// add queues newly read events behind their users' earlier ones.
func (d *dispatcher) add(batch []*item) {
	for _, it := range batch {
		q := d.users[it.user]
		d.users[it.user] = append(q, it)
		if len(q) == 0 && !d.busy[it.user] {
			heap.Push(&d.ready, it)
		}
	}
}

// release moves heads whose backoff has passed to ready.
func (d *dispatcher) release(now time.Time) {
	for len(d.delayed) > 0 && !now.Before(d.delayed[0].notAfter) {
		heap.Push(&d.ready, heap.Pop(&d.delayed))
	}
}

// gate says how many calls may start now: -1 any number, 0 none, 1 a probe.
func (d *dispatcher) gate(now time.Time) int {
	p := d.p
	switch {
	case p.paused():
		if d.probing || now.Before(d.probeAt) {
			return 0
		}
		return 1
	case d.breaker == BreakerOpen:
		if now.Before(d.openAt) {
			return 0
		}
		d.setBreaker(BreakerHalfOpen)
		return 1
	case d.breaker == BreakerHalfOpen:
		if d.probing {
			return 0
		}
		return 1
	}
	return -1
}

// candidate is the next item to send, or nil, and whether sending it is a
// probe (the breaker is half-open or scoring is paused). A probe may take an
// item still backing off: the breaker or the pause already spaced it out.
func (d *dispatcher) candidate(now time.Time) (next *item, probe bool) {
	g := d.gate(now)
	switch {
	case g == 0:
		return nil, false
	case len(d.ready) > 0:
		return d.ready[0], g == 1
	case g == 1 && len(d.delayed) > 0:
		return d.delayed[0], true
	}
	return nil, false
}

// sent records that it went to a worker.
func (d *dispatcher) sent(it *item, probe bool) {
	if len(d.ready) > 0 && d.ready[0] == it {
		heap.Pop(&d.ready)
	} else {
		heap.Pop(&d.delayed)
	}
	d.probing = probe
	d.busy[it.user] = true
	d.p.o.Metrics.InFlight.Inc()
}

// nextWake is how long the dispatcher may sleep when nothing arrives.
func (d *dispatcher) nextWake(now time.Time) time.Duration {
	p := d.p
	wait := p.o.Poll
	consider := func(t time.Time) {
		if w := t.Sub(now); w < wait {
			wait = max(w, time.Millisecond)
		}
	}
	switch {
	case p.paused():
		consider(d.probeAt)
	case d.breaker == BreakerOpen:
		consider(d.openAt)
	}
	if len(d.delayed) > 0 {
		consider(d.delayed[0].notAfter)
	}
	return wait
}

// handle applies one worker outcome; a decision goes to d.out.
func (d *dispatcher) handle(o outcome) {
	p := d.p
	p.o.Metrics.InFlight.Dec()
	it := o.it
	delete(d.busy, it.user)
	d.probing = false
	p.observe(o.res, o.err)

	switch kind := safee.KindOf(o.err); {
	case final(o.err):
		d.fails = 0
		if d.breaker != BreakerClosed {
			d.setBreaker(BreakerClosed)
			d.cool = p.o.BreakerCooldown
		}
		if p.paused() {
			p.setState(PipelineRunning, "")
			p.o.Logger.Info("Safe-e accepts the API key again; scoring resumed")
		}
		d.advance(it)
		d.out = append(d.out, p.decide(o))
	case kind == safee.KindUnauthorized:
		if !p.paused() {
			p.o.Logger.Error("Safe-e refused the API key; scoring paused, events kept", "status", o.res.HTTPStatus)
		}
		p.setState(PipelinePaused, unauthorizedReason(o.res.HTTPStatus))
		d.probeAt = p.o.Now().Add(p.o.AuthProbe)
		heap.Push(&d.ready, it)
	case kind == safee.KindCanceled:
		// Stopping: the event stays in the inbox.
	default: // retryable
		p.o.Metrics.Retries.Inc()
		it.tries++
		it.notAfter = p.o.Now().Add(backoff.Full(p.o.RetryBase, p.o.RetryMax, it.tries-1))
		heap.Push(&d.delayed, it)
		d.fails++
		if d.breaker == BreakerHalfOpen || d.fails >= p.o.BreakerThreshold && d.breaker == BreakerClosed {
			if d.breaker == BreakerHalfOpen {
				d.cool = min(2*d.cool, p.o.BreakerMaxCooldown)
			}
			d.openAt = p.o.Now().Add(d.cool)
			d.setBreaker(BreakerOpen)
			p.o.Logger.Warn("Safe-e is failing; circuit breaker open", "cooldown", d.cool, "err", o.err)
		}
	}
}

// setBreaker changes the breaker's state and shows it in Stats and metrics.
func (d *dispatcher) setBreaker(state string) {
	d.breaker = state
	d.p.setBreaker(state)
}

// advance removes it from the head of its user's queue and makes the next
// event of that user ready.
func (d *dispatcher) advance(it *item) {
	q := d.users[it.user]
	if len(q) > 0 && q[0] == it {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(d.users, it.user)
		return
	}
	d.users[it.user] = q
	heap.Push(&d.ready, q[0])
}

func unauthorizedReason(status int) string {
	return fmt.Sprintf("Safe-e refused the API key (HTTP %d): scoring paused, events kept in the inbox; set SAFEE_API_KEY or [safee] api_key and restart", status)
}

// seqHeap orders items by inbox sequence, oldest first.
type seqHeap []*item

func (h seqHeap) Len() int           { return len(h) }
func (h seqHeap) Less(i, j int) bool { return h[i].in.Seq < h[j].in.Seq }
func (h seqHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *seqHeap) Push(x any)        { *h = append(*h, x.(*item)) }
func (h *seqHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}

// timeHeap orders items by the end of their backoff.
type timeHeap []*item

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].notAfter.Before(h[j].notAfter) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(*item)) }
func (h *timeHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
