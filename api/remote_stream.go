package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/riskwatch/riskwatch/internal/backoff"
)

// maxStreamLine bounds one line of the stream, that is one event's data
// (the collector sends at most 500 decisions per event).
const maxStreamLine = 64 << 20

// Subscribe follows the collector's GET /v1/stream and delivers its
// decisions in batches, oldest first, until ctx ends; then it closes the
// channel. It never gives up: when the stream drops (the collector
// restarts, the network fails, the stream stays silent past StallTimeout)
// it dials again with a jittered backoff, at once when another request
// finds the collector back, and resumes after the last decision it
// received, so every decision stored after the subscription started
// arrives exactly once. While the reader is busy, batches are merged, up
// to about Buffer decisions; beyond that the stream is not read and the
// collector waits, so nothing is dropped. Connection reports the state.
func (r *Remote) Subscribe(ctx context.Context) <-chan Batch {
	out := make(chan Batch)
	f := &follower{r: r, out: out}
	go f.run(ctx)
	return out
}

// follower is one subscription's goroutine state.
type follower struct {
	r   *Remote
	out chan<- Batch
	// last is the resume position: the ID of the last event received (the
	// last decision's ID, or the start position the collector announced).
	last string
	// pending holds what was received and not yet delivered.
	pending Batch
}

func (f *follower) run(ctx context.Context) {
	defer close(f.out)
	failures := 0
	for ctx.Err() == nil {
		progress, err := f.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		if progress {
			failures = 0
			if err == nil {
				// The collector ended a stream that was delivering (it
				// bounds the backlog one request replays): go on at once.
				continue
			}
		}
		if err == nil {
			err = fmt.Errorf("collector %s: the stream ended", f.r.base)
		}
		f.r.conn.failed(err)
		failures++
		if !f.wait(ctx, f.r.backoff(failures)) {
			return
		}
	}
}

// backoff is the wait before the n-th attempt in a row: full jitter over
// [0, d], d doubling from MinBackoff up to MaxBackoff.
func (r *Remote) backoff(n int) time.Duration {
	return backoff.Full(r.opts.MinBackoff, r.opts.MaxBackoff, n-1)
}

// wait waits d, delivering what is pending meanwhile. It returns early,
// true, when the collector is found reachable again, and false when ctx
// ends.
func (f *follower) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	back := f.r.conn.reachable()
	for {
		select {
		case <-t.C:
			return true
		case <-back:
			return true
		case <-ctx.Done():
			return false
		case f.outIfPending() <- f.pending:
			f.pending = Batch{}
		}
	}
}

// outIfPending is the output channel when something waits to be
// delivered, nil (never ready) otherwise.
func (f *follower) outIfPending() chan<- Batch {
	if len(f.pending.Decisions) > 0 || f.pending.Missed > 0 {
		return f.out
	}
	return nil
}

// follow runs one connection of the stream until it ends. progress says
// whether it delivered decisions; err is nil when the collector ended the
// stream cleanly or ctx ended.
func (f *follower) follow(ctx context.Context) (progress bool, err error) {
	path := streamInfo.Path
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The watchdog bounds the wait for the answer, then the silence
	// between two lines (the collector sends heartbeats).
	var stalled atomic.Bool
	watchdog := time.AfterFunc(f.r.opts.Timeout, func() { stalled.Store(true); cancel() })
	defer watchdog.Stop()

	req, err := f.r.newRequest(cctx, http.MethodGet, path, nil, nil, "text/event-stream")
	if err != nil {
		return false, err
	}
	if f.last != "" {
		req.Header.Set("Last-Event-ID", f.last)
	}
	resp, err := f.r.hc.Do(req)
	if err != nil {
		if stalled.Load() {
			return false, fmt.Errorf("collector %s: GET %s: no answer within %s", f.r.base, path, f.r.opts.Timeout)
		}
		return false, f.r.transportError(http.MethodGet, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, f.r.answerError(resp)
	}
	f.r.conn.ok()
	stall := f.r.opts.StallTimeout
	watchdog.Reset(stall)

	events := make(chan sseEvent)
	done := make(chan error, 1)
	go func() {
		done <- readSSE(resp.Body, maxStreamLine,
			func() { watchdog.Reset(stall) },
			func(ev sseEvent) bool {
				select {
				case events <- ev:
					return true
				case <-cctx.Done():
					return false
				}
			})
	}()
	stop := func() { cancel(); <-done }
	for {
		in := events
		if len(f.pending.Decisions) >= f.r.opts.Buffer {
			in = nil
		}
		select {
		case ev := <-in:
			n, err := f.take(ev)
			if err != nil {
				stop()
				return progress, err
			}
			progress = progress || n > 0
		case f.outIfPending() <- f.pending:
			f.pending = Batch{}
		case err := <-done:
			switch {
			case stalled.Load():
				err = fmt.Errorf("collector %s: the stream was silent for %s", f.r.base, stall)
			case err != nil && ctx.Err() == nil:
				err = fmt.Errorf("collector %s: reading the stream: %w", f.r.base, err)
			}
			return progress, err
		case <-ctx.Done():
			stop()
			return progress, nil
		}
	}
}

// take adds one event to pending and moves the resume position; it
// returns how many decisions the event carried.
func (f *follower) take(ev sseEvent) (int, error) {
	n := 0
	if len(ev.data) > 0 {
		var wb WireBatch
		if err := json.Unmarshal(ev.data, &wb); err != nil {
			return 0, fmt.Errorf("collector %s: a stream event is not a batch: %w", f.r.base, err)
		}
		for _, w := range wb.Decisions {
			f.pending.Decisions = append(f.pending.Decisions, w.Decision())
		}
		f.pending.Missed += wb.Missed
		if n = len(wb.Decisions); n > 0 {
			f.last = wb.Decisions[n-1].ID
		}
	}
	if ev.hasID {
		f.last = ev.id
	}
	return n, nil
}
