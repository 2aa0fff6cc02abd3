package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/store"
)

// Source is one input of events: a tailed file (FileSource), the HTTP
// ingest (Server), later a Kafka topic. A source reads and validates its
// input and hands what it read, with the positions that covers, to its
// Intake, in batches; the intake writes each batch in one store
// transaction and keeps the books every source shares. A source persists
// nothing itself.
type Source interface {
	// Name identifies the source for its whole life: the Source of its
	// events, rejected records and checkpoints in the store, and the source
	// label of its metrics ("file:/var/log/app.ndjson", "http").
	Name() string
	// Run reads until ctx ends, committing through in, and then returns
	// nil once its current commit is done. It returns an error only when
	// the source cannot run at all. It must not be called again while it
	// runs.
	Run(ctx context.Context, in *Intake) error
	// Stats reports the source for health: its state and what its intake
	// counted. It is safe to call concurrently with Run.
	Stats() api.Source
}

// IntakeOptions configure an Intake. DB and Source are required.
type IntakeOptions struct {
	DB *store.DB
	// Source is the name of the source that commits through the intake
	// (its Source.Name).
	Source string
	// InboxLimit is the inbox depth at which Full reports true, so that the
	// source stops reading or refuses input until the pipeline catches up;
	// 0 sets no limit.
	InboxLimit uint64
	// Metrics count the events accepted, duplicate and rejected by source
	// (and reason) and the commits' latency (default: unregistered metrics
	// of its own).
	Metrics *Metrics
	// Notify, if set, is called after each commit that stored a new event
	// (it wakes the pipeline). It must not block.
	Notify func()
	// Queued, if set, is given the events a commit newly stored that their
	// source added with AcceptEvent, as the source parsed them, before
	// Notify is called: the pipeline keeps them so that it does not parse
	// them again when it reads them from the inbox (Pipeline.Remember). It
	// must not block; it may keep the slice.
	Queued func([]QueuedEvent)
	// Now stamps the events' ReceivedAt and the rejected records' Time
	// (default time.Now).
	Now func() time.Time
}

// Intake writes what one source read into the store: accepted events into
// the inbox, unusable input as rejected records, and the source's positions
// as checkpoints, each batch in one transaction. It is the one place that
// keeps the books of intake: the metrics by source and reject reason, the
// source's counters and latest rejections, and the pipeline's wake-up.
// It is safe for concurrent use (the HTTP ingest commits from every
// request's goroutine).
type Intake struct {
	o IntakeOptions

	mu          sync.Mutex
	read        uint64
	rejected    uint64
	lastRejects []string
}

// NewIntake checks o and returns the intake for the source o.Source.
func NewIntake(o IntakeOptions) (*Intake, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("intake: no store (DB is nil)")
	case o.Source == "":
		return nil, errors.New("intake: no source name")
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Intake{o: o}, nil
}

// Source returns the name of the source the intake writes for.
func (in *Intake) Source() string { return in.o.Source }

// Batch is what one Commit stores: accepted events, rejected input and
// checkpoints, in the order they were added. Get one from Intake.Batch. A
// Batch is not safe for concurrent use; it may be committed again after a
// failed commit.
type Batch struct {
	source  string
	now     time.Time
	events  []store.InboxEvent
	parsed  []safee.Event // events[i] as its source parsed it; no Raw if Accept added it
	rejects []store.Rejected
	classes []string // RejectClass of each reject, for the metrics
	cps     []store.Checkpoint
}

// Batch returns an empty batch for the intake's source, stamped with the
// time now: the ReceivedAt of its events and the Time of its rejects.
func (in *Intake) Batch() *Batch {
	return &Batch{source: in.o.Source, now: in.o.Now()}
}

// Accept adds an accepted event: its event ID (not empty) and its body,
// the exact bytes read, which the batch keeps without copying.
func (b *Batch) Accept(id string, body []byte) {
	b.events = append(b.events, store.InboxEvent{EventID: id, Source: b.source, ReceivedAt: b.now, Body: body})
	b.parsed = append(b.parsed, safee.Event{})
}

// AcceptEvent adds an accepted event with its event ID (not empty) in the
// form its source parsed it: its body is ev.Raw, which the batch keeps
// without copying. Once committed, ev goes to IntakeOptions.Queued, so
// that the pipeline need not parse the body again.
func (b *Batch) AcceptEvent(id string, ev safee.Event) {
	b.events = append(b.events, store.InboxEvent{EventID: id, Source: b.source, ReceivedAt: b.now, Body: ev.Raw})
	b.parsed = append(b.parsed, ev)
}

// QueuedEvent is an event an intake stored in the inbox under the event
// ID ID, as its source parsed it: the inbox holds Event.Raw.
type QueuedEvent struct {
	ID    string
	Event safee.Event
}

// Grow makes room for n more accepted events, for a source that knows
// about how many it is about to add.
func (b *Batch) Grow(n int) {
	b.events = slices.Grow(b.events, n)
	b.parsed = slices.Grow(b.parsed, n)
}

// Reject adds unusable input: where it was in the source ("offset 1234",
// "line 3", "item 0"), why (err's text is the stored reason; RejectClass of
// err is the metrics' reason label) and its first bytes (the store keeps at
// most 256).
func (b *Batch) Reject(position string, err error, head []byte) {
	b.rejects = append(b.rejects, store.Rejected{
		Time: b.now, Source: b.source, Position: position, Reason: err.Error(), Head: head,
	})
	b.classes = append(b.classes, RejectClass(err))
}

// Checkpoint records a position the batch covers, to be stored with it: a
// checkpoint with the same Source as one added before replaces it.
func (b *Batch) Checkpoint(cp store.Checkpoint) {
	for i := range b.cps {
		if b.cps[i].Source == cp.Source {
			b.cps[i] = cp
			return
		}
	}
	b.cps = append(b.cps, cp)
}

// Len returns the number of events and rejects in the batch.
func (b *Batch) Len() int { return len(b.events) + len(b.rejects) }

// Commit stores b in one transaction: its events in the inbox (an event
// whose ID is already queued or decided, or repeated in b, is not stored
// again), its rejected records and its checkpoints; after a crash either
// all of it is in the store or none is. It returns after the commit, with
// fresh[i] reporting whether the i-th accepted event was stored. Then it
// counts b in the source's counters and the metrics and, if an event was
// stored, notifies the pipeline. A batch with nothing in it is not
// written.
//
// On error nothing is counted and the batch may be committed again: if ctx
// ended first, b may or may not have been stored, and committing it again
// stores nothing twice.
func (in *Intake) Commit(ctx context.Context, b *Batch) (fresh []bool, err error) {
	if b.Len() == 0 && len(b.cps) == 0 {
		return nil, nil
	}
	if b.source != in.o.Source {
		return nil, fmt.Errorf("intake %s: a batch of source %s", in.o.Source, b.source)
	}
	start := time.Now()
	fresh, err = in.o.DB.Enqueue(ctx, b.events, b.rejects, b.cps)
	in.o.Metrics.ObserveCommit("enqueue", time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("intake %s: store %d events, %d rejected: %w", in.o.Source, len(b.events), len(b.rejects), err)
	}
	in.count(b, fresh)
	return fresh, nil
}

// count adds a committed batch to the counters and the metrics, and wakes
// the pipeline if anything new was stored.
func (in *Intake) count(b *Batch, fresh []bool) {
	stored := 0
	for _, f := range fresh {
		if f {
			stored++
		}
	}
	m := in.o.Metrics
	m.EventsAccepted.WithLabelValues(in.o.Source).Add(float64(stored))
	m.EventsDuplicate.WithLabelValues(in.o.Source).Add(float64(len(fresh) - stored))
	for _, c := range b.classes {
		m.EventsRejected.WithLabelValues(in.o.Source, c).Inc()
	}
	in.mu.Lock()
	in.read += uint64(b.Len())
	in.rejected += uint64(len(b.rejects))
	if len(b.rejects) > 0 {
		in.lastRejects = pushRejects(in.lastRejects, b.rejects,
			func(r store.Rejected) string { return r.Position + ": " + r.Reason })
	}
	in.mu.Unlock()
	if stored > 0 && in.o.Queued != nil {
		in.handOff(b, fresh, stored)
	}
	if stored > 0 && in.o.Notify != nil {
		in.o.Notify()
	}
}

// handOff gives the parsed form of the stored events of b to Queued.
func (in *Intake) handOff(b *Batch, fresh []bool, stored int) {
	q := make([]QueuedEvent, 0, stored)
	for i, f := range fresh {
		if f && b.parsed[i].Raw != nil {
			q = append(q, QueuedEvent{ID: b.events[i].EventID, Event: b.parsed[i]})
		}
	}
	if len(q) > 0 {
		in.o.Queued(q)
	}
}

// Full reports whether the inbox holds at least InboxLimit events, with
// the depth and the limit for messages. While it does, a source stops
// reading (and loses nothing: its input waits) or refuses input with a
// retry hint.
func (in *Intake) Full() (full bool, depth, limit uint64) {
	depth, limit = in.o.DB.InboxDepth(), in.o.InboxLimit
	return limit > 0 && depth >= limit, depth, limit
}

// Checkpoint returns the checkpoint stored under key (the source's name,
// or a key of its own such as one per partition), ok false if there is
// none.
func (in *Intake) Checkpoint(key string) (cp store.Checkpoint, ok bool, err error) {
	return in.o.DB.Checkpoint(key)
}

// Stats returns what the intake counted for its source: Name,
// LinesRead (events and rejects committed, duplicates included), Rejected
// and LastRejects (newest first). The source adds its State and LagBytes.
// A nil Intake (a source that has not run) reports zeros.
func (in *Intake) Stats() api.Source {
	if in == nil {
		return api.Source{}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return api.Source{
		Name:        in.o.Source,
		LinesRead:   in.read,
		Rejected:    in.rejected,
		LastRejects: append([]string(nil), in.lastRejects...),
	}
}

// lastRejectsKept bounds the list of recent rejection reasons an intake
// reports in api.Source.LastRejects.
const lastRejectsKept = 10

// pushRejects returns latest (newest first) with rejects (oldest first)
// put in front, keeping the newest lastRejectsKept. It formats only the
// rejects it keeps and returns a new slice, leaving latest unchanged.
func pushRejects[R any](latest []string, rejects []R, reason func(R) string) []string {
	rejects = rejects[max(0, len(rejects)-lastRejectsKept):]
	out := make([]string, 0, min(len(rejects)+len(latest), lastRejectsKept))
	for i := len(rejects) - 1; i >= 0; i-- {
		out = append(out, reason(rejects[i]))
	}
	return append(out, latest[:min(len(latest), lastRejectsKept-len(out))]...)
}

// maxEventIDLen bounds an event's own event_id, which becomes a store key.
const maxEventIDLen = 256

// parseSourceEvent reads one event as every source takes it (a tailed
// line, an ingested item, a Kafka record's value): safee.ParseEvent, and an
// event_id of at most maxEventIDLen bytes, so no source stores a key the
// others would refuse.
func parseSourceEvent(b []byte) (safee.Event, error) {
	ev, err := safee.ParseEvent(b)
	if err == nil && len(ev.EventID) > maxEventIDLen {
		err = fmt.Errorf("%w: event_id longer than %d bytes", safee.ErrBadField, maxEventIDLen)
	}
	return ev, err
}
