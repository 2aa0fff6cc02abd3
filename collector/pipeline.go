package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/internal/backoff"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/store"
)

// Scorer is the part of the Safe-e client the pipeline uses.
type Scorer interface {
	Score(ctx context.Context, ev safee.Event) (safee.Result, error)
}

// PipelineOptions configures the scoring pipeline. Zero values take the
// defaults noted.
type PipelineOptions struct {
	DB     *store.DB
	Scorer Scorer
	Hub    *Hub
	// Shadow, when set, gives each decision its shadow action before it
	// is stored.
	Shadow *Shadow
	// Metrics count the pipeline's calls; Stats reads its counters back
	// from them (default: unregistered metrics of its own).
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time
	// Workers is the number of concurrent Safe-e calls (default 16).
	Workers int
	// Window bounds the events read from the inbox and not yet committed
	// (default 4096). It bounds memory while Safe-e is down.
	Window int
	// RetryBase and RetryMax shape the per-event backoff after a call failed
	// through all of the client's attempts (defaults 1s and 30s): before its
	// n-th retry an event waits backoff.Full(RetryBase, RetryMax, n-1), a
	// random time in [0, min(RetryMax, RetryBase·2ⁿ⁻¹)].
	RetryBase, RetryMax time.Duration
	// BreakerThreshold consecutive retryable failures open the circuit
	// breaker (default 5); it half-opens after BreakerCooldown (default 2s,
	// doubling on each reopening up to BreakerMaxCooldown, default 60s).
	BreakerThreshold   int
	BreakerCooldown    time.Duration
	BreakerMaxCooldown time.Duration
	// AuthProbe is how often a paused pipeline (Safe-e refused the key)
	// tries one event to see whether the key works again (default 30s).
	AuthProbe time.Duration
	// Poll is the longest the pipeline waits without being notified before
	// looking at the inbox again (default 1s).
	Poll time.Duration
	// CommitRetryBase and CommitRetryMax shape the backoff between attempts
	// to commit decisions while the store fails (a full disk): full jitter
	// from CommitRetryBase doubling up to CommitRetryMax (defaults 100ms and
	// 5s). Attempts go on until a commit succeeds or the pipeline stops.
	CommitRetryBase, CommitRetryMax time.Duration
}

func (o *PipelineOptions) defaults() {
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Window <= 0 {
		o.Window = 4096
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.BreakerThreshold <= 0 {
		o.BreakerThreshold = 5
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 2 * time.Second
	}
	if o.BreakerMaxCooldown <= 0 {
		o.BreakerMaxCooldown = time.Minute
	}
	if o.AuthProbe <= 0 {
		o.AuthProbe = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.CommitRetryBase <= 0 {
		o.CommitRetryBase = 100 * time.Millisecond
	}
	if o.CommitRetryMax <= 0 {
		o.CommitRetryMax = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
}

// Breaker states, as shown in health and metrics.
const (
	BreakerClosed   = api.BreakerClosed
	BreakerHalfOpen = api.BreakerHalfOpen
	BreakerOpen     = api.BreakerOpen
)

// Pipeline states.
const (
	PipelineRunning = api.PipelineRunning
	PipelinePaused  = api.PipelinePaused
	PipelineStalled = api.PipelineStalled
	PipelineStopped = api.PipelineStopped
)

// Pipeline scores the events in the inbox. It reads them in inbox order,
// keeps the events of one user in order (an event is not sent while an
// earlier one of the same user is in flight or waiting to be retried), and
// completes each in the store (inbox entry removed, decision written) in one
// transaction. Transient failures stay in the inbox and are retried with
// backoff behind a circuit breaker; permanent ones become error decisions;
// a refused key pauses scoring and keeps every event. Nothing is removed from
// the inbox before its decision is committed, so a crash re-sends at most the
// events that were in flight.
//
// Its counters (calls by status, failures by kind, retries, calls in
// flight) are the Prometheus metrics in PipelineOptions.Metrics, kept once:
// Stats reads them back for health.
type Pipeline struct {
	o      PipelineOptions
	wake   chan struct{}
	parsed *parsedEvents

	mu          sync.Mutex
	state       string
	pauseReason string
	breaker     string
	reachable   bool
	lat         latencyRing
	// stall is why decisions cannot be committed (the store's error) and
	// stallSince when that began; "" while commits succeed.
	stall      string
	stallSince time.Time
}

// NewPipeline returns a pipeline; Run starts it.
func NewPipeline(o PipelineOptions) *Pipeline {
	o.defaults()
	return &Pipeline{
		o:         o,
		wake:      make(chan struct{}, 1),
		parsed:    newParsedEvents(parsedBudget),
		state:     PipelineStopped,
		breaker:   BreakerClosed,
		reachable: true,
	}
}

// Notify tells the pipeline the inbox has new events. It never blocks.
func (p *Pipeline) Notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Remember keeps events an intake just stored, as their source parsed
// them, so that the pipeline does not parse them again when it reads them
// from the inbox (IntakeOptions.Queued). It never blocks for long.
func (p *Pipeline) Remember(q []QueuedEvent) { p.parsed.put(q) }

// item is one inbox event the dispatcher holds.
type item struct {
	in       store.InboxItem
	ev       safee.Event
	user     string
	tries    int       // dispatches that ended in a retryable failure
	notAfter time.Time // earliest next dispatch
}

// outcome is a worker's answer for one item.
type outcome struct {
	it  *item
	res safee.Result
	err error
}

// completion is a decision on its way to the store.
type completion struct {
	seq uint64
	d   decision.Decision
}

// Run scores until ctx ends. On return every worker has stopped and every
// finished call has been committed (or, if the store failed, left in the
// inbox to be sent again).
func (p *Pipeline) Run(ctx context.Context) error {
	p.setState(PipelineRunning, "")
	defer p.setState(PipelineStopped, "")

	// slots bounds the events read from the inbox and not yet committed:
	// the loader takes one per event, the completer gives it back.
	slots := make(chan struct{}, p.o.Window)
	incoming := make(chan []*item, 1)
	work := make(chan *item)
	results := make(chan outcome, p.o.Workers)
	// done carries decisions to the completer in slices, one per
	// dispatcher step, so a handoff costs once per group, not per event.
	// Each holds at least one of the at most Window events, so a send
	// never blocks.
	done := make(chan []completion, p.o.Window)

	var wg sync.WaitGroup
	for range p.o.Workers {
		wg.Go(func() { p.worker(ctx, work, results) })
	}
	var cwg sync.WaitGroup
	cwg.Go(func() { p.completer(ctx, done, slots) })
	var lwg sync.WaitGroup
	lwg.Go(func() { p.load(ctx, slots, incoming, done) })

	err := p.dispatch(ctx, work, incoming, results, done)

	close(work)
	go func() { wg.Wait(); close(results) }()
	var rest []completion
	for o := range results {
		// Calls that finished while stopping are kept if they have an
		// answer; canceled ones stay in the inbox.
		p.o.Metrics.InFlight.Dec()
		if final(o.err) {
			rest = append(rest, p.decide(o))
		}
	}
	if len(rest) > 0 {
		done <- rest
	}
	lwg.Wait()
	close(done)
	cwg.Wait()
	return err
}

// load reads the inbox in order and parses what it reads, off the
// dispatcher's goroutine, taking a slot per event so that at most Window
// events are held. It reads when a source notifies, when a poll interval
// passes, or when slots come back.
//
// Whenever it holds nothing (every event it read was committed or given
// up), it reads from the start of the inbox again: an event still there
// then was skipped (a commit that never succeeded) and is scored again
// rather than left until a restart.
func (p *Pipeline) load(ctx context.Context, slots chan struct{}, incoming chan<- []*item, done chan<- []completion) {
	var cursor uint64
	poll := time.NewTimer(p.o.Poll)
	defer poll.Stop()
	wait := func() bool {
		poll.Reset(p.o.Poll)
		select {
		case <-ctx.Done():
			return false
		case <-p.wake:
		case <-poll.C:
		}
		return true
	}
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < 1000 {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		var items []store.InboxItem
		for {
			if len(slots) <= n {
				// Only the slots just taken are held: nothing read before
				// is still on its way, so whatever the inbox holds is due.
				cursor = 0
			}
			mark := p.parsed.mark()
			var err error
			items, err = p.o.DB.InboxNext(ctx, cursor, n)
			if err != nil && ctx.Err() == nil {
				p.o.Logger.Error("read inbox", "err", err)
			}
			if len(items) > 0 {
				break
			}
			if err == nil {
				p.parsed.forget(mark)
			}
			if !wait() {
				return
			}
		}
		for range n - len(items) {
			<-slots
		}
		batch := make([]*item, 0, len(items))
		var bad []completion
		for _, in := range items {
			cursor = in.Seq
			ev, ok := p.parsed.take(&in.InboxEvent)
			if ok {
				// The same bytes: keep one copy of them, not two.
				in.Body = ev.Raw
			} else {
				var err error
				if ev, err = safee.ParseEvent(in.Body); err != nil {
					bad = append(bad, completion{seq: in.Seq, d: unparseableDecision(in.InboxEvent, err)})
					continue
				}
			}
			it := &item{in: in, ev: ev, user: ev.UserID}
			if it.user == "" {
				it.user = fmt.Sprintf("\x00seq:%d", in.Seq)
			}
			batch = append(batch, it)
		}
		if len(bad) > 0 {
			done <- bad
		}
		select {
		case incoming <- batch:
		case <-ctx.Done():
			return
		}
	}
}

// final reports whether a call's outcome is what gets recorded: an answer,
// or a failure retrying cannot change. Canceled, refused-key and transient
// failures leave the event in the inbox.
func final(err error) bool {
	switch safee.KindOf(err) {
	case 0, safee.KindBadEvent, safee.KindBadResponse:
		return true
	}
	return false
}

func (p *Pipeline) worker(ctx context.Context, work <-chan *item, results chan<- outcome) {
	for it := range work {
		res, err := p.o.Scorer.Score(ctx, it.ev)
		results <- outcome{it: it, res: res, err: err}
	}
}

// decide turns a final outcome into a decision for the completer.
func (p *Pipeline) decide(o outcome) completion {
	return completion{seq: o.it.in.Seq, d: newDecision(o.it.in.InboxEvent, o.it.ev, o.res, o.err)}
}

// completer commits decisions in groups and publishes them. Commit errors
// are retried until the store recovers (see commit): the events are still
// in the inbox, so nothing is lost, and the store's idempotence makes a
// retried group safe.
func (p *Pipeline) completer(ctx context.Context, done <-chan []completion, slots <-chan struct{}) {
	var batch []store.Result
	idle := time.NewTimer(completeIdle)
	idle.Stop()
	add := func(cs []completion) {
		for _, c := range cs {
			batch = append(batch, store.Result{Seq: c.seq, Decision: c.d})
		}
	}
	for cs := range done {
		batch = batch[:0]
		add(cs)
		deadline := time.Now().Add(completeLinger)
		// Gather while decisions keep coming, up to completeGroup of them or
		// completeLinger, and stop after a pause of completeIdle: every
		// commit rewrites the rollup and index pages it touches, so under
		// load larger groups cost far less per decision, while a lone
		// decision waits no longer than completeIdle. Nothing waits on these
		// commits but the inbox.
	gather:
		for len(batch) < completeGroup {
			select {
			case cs, ok := <-done:
				if !ok {
					break gather
				}
				add(cs)
				continue
			default:
			}
			wait := min(completeIdle, time.Until(deadline))
			if wait <= 0 {
				break
			}
			idle.Reset(wait)
			select {
			case cs, ok := <-done:
				idle.Stop()
				if !ok {
					break gather
				}
				add(cs)
			case <-idle.C:
				break gather
			}
		}
		p.commit(ctx, batch)
		for range batch {
			<-slots
		}
	}
}

// The completer's group: about completeGroup decisions per commit (it may
// pass it by the last handoff's size),
// gathered for at most completeLinger, ended early by a pause of
// completeIdle between decisions.
const (
	completeGroup  = 1000
	completeLinger = 50 * time.Millisecond
	completeIdle   = 5 * time.Millisecond
)

// commit stores a group, retrying with backoff while the store fails (a
// full disk, an I/O error) until a commit succeeds or ctx ends: while it
// fails the pipeline shows as stalled in health and metrics, and the
// window of held events fills, so scoring waits instead of calling Safe-e
// for decisions it cannot keep. After ctx ends one attempt is still made;
// if it fails, or the store is closed, the events stay in the inbox and
// are scored again (by the loader after a stall, or after a restart). The
// shadow policy, if any, decides each decision once, before the first try.
func (p *Pipeline) commit(ctx context.Context, batch []store.Result) {
	var retry *time.Timer
	p.o.Shadow.Apply(context.WithoutCancel(ctx), batch)
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_, err := complete(cctx, p.o.DB, p.o.Metrics, p.o.Hub, batch)
		cancel()
		if err == nil {
			p.setStall(nil)
			return
		}
		p.o.Metrics.CommitFailures.Inc()
		if errors.Is(err, store.ErrClosed) || ctx.Err() != nil {
			p.o.Logger.Error("commit decisions failed while stopping; the events stay in the inbox and are scored again after a restart",
				"events", len(batch), "err", err)
			return
		}
		p.setStall(err)
		p.o.Logger.Warn("commit decisions failed; retrying", "events", len(batch), "attempt", attempt, "err", err)
		wait := backoff.Full(p.o.CommitRetryBase, p.o.CommitRetryMax, attempt-1)
		if retry == nil {
			retry = time.NewTimer(wait)
			defer retry.Stop()
		} else {
			retry.Reset(wait)
		}
		select {
		case <-ctx.Done():
		case <-retry.C:
		}
	}
}

// setStall records that commits fail with err, or, with nil, that they
// succeed again; the change is logged once and shown in health and
// metrics.
func (p *Pipeline) setStall(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err == nil && p.stall != "":
		p.o.Logger.Info("the store accepts writes again; scoring resumed", "stalled_for", p.o.Now().Sub(p.stallSince).Round(time.Millisecond))
		p.stall, p.stallSince = "", time.Time{}
		p.o.Metrics.Stalled.Set(0)
	case err != nil && p.stall == "":
		p.stallSince = p.o.Now()
		p.o.Logger.Error("the store cannot commit decisions; scoring waits and retries until it can (events are kept in the inbox)", "err", err)
		p.o.Metrics.Stalled.Set(1)
		fallthrough
	case err != nil:
		p.stall = err.Error()
	}
}

// observe records a call's outcome for health and metrics.
func (p *Pipeline) observe(res safee.Result, err error) {
	m := p.o.Metrics
	m.ObserveSafee(res.HTTPStatus, res.Latency)
	if res.Redacted > 0 {
		m.Redactions.Add(float64(res.Redacted))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if res.HTTPStatus != 0 {
		p.lat.add(res.Latency)
		p.reachable = true
	}
	var se *safee.Error
	if errors.As(err, &se) {
		if se.Kind == safee.KindRetryable && se.Status == 0 {
			p.reachable = false
		}
		if se.Kind != safee.KindCanceled {
			m.Errors.WithLabelValues(se.Reason()).Inc()
		}
	}
}

func (p *Pipeline) setState(state, reason string) {
	p.mu.Lock()
	p.state, p.pauseReason = state, reason
	p.mu.Unlock()
}

func (p *Pipeline) paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state == PipelinePaused
}

func (p *Pipeline) setBreaker(s string) {
	p.mu.Lock()
	p.breaker = s
	p.mu.Unlock()
	p.o.Metrics.SetBreaker(s)
}

// PipelineStats is a snapshot for health.
type PipelineStats struct {
	State, PauseReason, Breaker string
	InFlight                    int
	Retries                     uint64
	Redactions                  uint64
	CommitFailures              uint64
	Reachable                   bool
	Errors                      map[string]uint64
	StatusCodes                 map[int]uint64
	P50, P99                    time.Duration
}

// Stats returns a snapshot of the pipeline's state, and of its counters as
// the metrics hold them.
func (p *Pipeline) Stats() PipelineStats {
	c := p.o.Metrics.safeeCounts()
	p.mu.Lock()
	defer p.mu.Unlock()
	s := PipelineStats{
		State: p.state, PauseReason: p.pauseReason, Breaker: p.breaker, Reachable: p.reachable, CommitFailures: c.commitFailures,
		InFlight: c.inFlight, Retries: c.retries, Redactions: c.redacted, Errors: c.errors, StatusCodes: c.codes,
	}
	s.P50, s.P99 = p.lat.quantiles()
	if p.stall != "" && p.state == PipelineRunning {
		s.State = PipelineStalled
		s.PauseReason = fmt.Sprintf("the store cannot commit decisions since %s (%s ago): %s; retrying, events kept in the inbox",
			p.stallSince.UTC().Format(time.RFC3339), p.o.Now().Sub(p.stallSince).Round(time.Second), p.stall)
	}
	return s
}

// ObserveProxy records a proxied call in the same counters, and pauses or
// resumes scoring on what it learns about the key.
func (p *Pipeline) ObserveProxy(res safee.Result, err error) {
	p.observe(res, err)
	if safee.KindOf(err) == safee.KindUnauthorized {
		p.setState(PipelinePaused, unauthorizedReason(res.HTTPStatus))
	}
}
