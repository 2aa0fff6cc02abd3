package collector

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/store"
)

// liveRetain is how late a decision may be (behind the latest event time
// the shadow has seen) and still be answered from memory: about the clock
// skew an event's timestamp may have.
const liveRetain = 5 * time.Minute

// LiveVelocity is the shadow policy's policy.Velocity: an in-memory
// policy.LiveWindow over the recent decisions (by event time, back to the
// policy's longest window plus liveRetain), filled from the store when it
// is made and fed every decision the shadow evaluates, error decisions
// included, as replay feeds its Window every stored decision. So count
// and distinct give replay's answers without reading the store. A
// decision whose windows reach back before what memory holds (a backfill
// of old events) is answered from the store's indexes (StoreVelocity) plus
// the decisions fed since the last Begin, which are not committed yet.
//
// Memory is bounded by max entries (one per decision and key it is
// counted under): past it the oldest are forgotten (policy.LiveWindow.Trim)
// and the floor rises, so that the store answers for the windows reaching
// before it, with the same answers.
//
// It is not safe for concurrent use: Shadow serialises its calls.
type LiveVelocity struct {
	w   *policy.LiveWindow
	max int
	// floor: every stored decision with an event time from floor on is
	// in w (and all are when all is set).
	floor time.Time
	all   bool
	db    *store.DB
	group groupVelocity
	// seen holds the event IDs of the decisions in memory, hashed (with
	// seed), with their event times, in the order fed (ids): an event
	// decided again (a retried proxy call, a group scored again after its
	// commit failed) is stored once, so it is fed once. (Two IDs in memory
	// whose 64-bit hashes collide, about once in 10^6 windows of 4M
	// decisions, would count one decision too few.) keep is how long an ID
	// is kept behind latest, the latest event time fed: as long as any key
	// may still take a decision at its time.
	seed   maphash.Seed
	seen   map[uint64]struct{}
	ids    []fedID
	idHead int
	keep   int64
	latest int64
}

// NewLiveVelocity returns the velocity for p's queries over db, filled
// with the stored decisions of p's longest window (plus liveRetain) before
// now, holding at most max entries (0: no bound).
func NewLiveVelocity(ctx context.Context, db *store.DB, p *policy.Policy, now time.Time, max int) (*LiveVelocity, error) {
	lv := &LiveVelocity{w: policy.NewLiveWindow(p.Queries()...), db: db, max: max, seed: maphash.MakeSeed(), seen: map[uint64]struct{}{},
		keep: int64(p.MaxWindow() + liveRetain)}
	lv.w.Retain(liveRetain)
	if len(p.Queries()) == 0 {
		lv.all, lv.keep = true, 0
		return lv, nil
	}
	lv.floor = now.Add(-p.MaxWindow() - liveRetain)
	floor := lv.floor
	before, err := db.Info()
	if err != nil {
		return nil, fmt.Errorf("live velocity: %w", err)
	}
	var filled uint64
	for d, err := range db.Scan(ctx, lv.floor, time.Time{}) {
		if err != nil {
			return nil, fmt.Errorf("live velocity: fill: %w", err)
		}
		if !lv.first(d) {
			continue
		}
		if err := lv.w.Add(d); err != nil {
			return nil, fmt.Errorf("live velocity: fill: %w", err)
		}
		lv.trim()
		filled++
	}
	after, err := db.Info()
	if err != nil {
		return nil, fmt.Errorf("live velocity: %w", err)
	}
	// Nothing older was stored, nor forgotten (trim raises the floor):
	// memory holds every decision.
	lv.all = lv.floor.Equal(floor) && before.Decisions == filled && after.Decisions == filled
	return lv, nil
}

// trim keeps memory within its bound: what it forgets, the store answers.
func (lv *LiveVelocity) trim() {
	if t := lv.w.Trim(lv.max); !t.IsZero() {
		lv.all = false
		if t.After(lv.floor) {
			lv.floor = t
		}
		// Memory takes no decision before the floor again.
		for lv.idHead < len(lv.ids) && lv.ids[lv.idHead].t < t.UnixNano() {
			delete(lv.seen, lv.ids[lv.idHead].id)
			lv.ids[lv.idHead] = fedID{}
			lv.idHead++
		}
	}
}

// Begin starts a commit group: its decisions are fed as they are
// evaluated, and read from the store (with ctx) only when memory does not
// reach back far enough.
func (lv *LiveVelocity) Begin(ctx context.Context) {
	lv.group = groupVelocity{store: NewStoreVelocity(ctx, lv.db), group: lv.group.group[:0]}
}

// Add feeds a decision: later decisions count it. d must not change
// until the next Begin.
//
// An event already fed (by its EventID) is not fed again. (One whose
// first decision memory has forgotten is: when its event time is the
// same, memory drops it as too old, but a retry of an event without a
// timestamp has a new event time, and counts once more than the store
// holds it until it leaves the window.)
func (lv *LiveVelocity) Add(d *decision.Decision) error {
	if !lv.first(d) {
		lv.w.Forget()
		return nil
	}
	lv.group.group = append(lv.group.group, d)
	if err := lv.w.Insert(d); err != nil {
		return fmt.Errorf("live velocity: %w", err)
	}
	lv.trim()
	return nil
}

// Answer answers q for d from memory, or from the store when memory does
// not hold all of d's window.
func (lv *LiveVelocity) Answer(q policy.Query, d *decision.Decision) (int, error) {
	if lv.all || !d.EventTime.Add(-q.Window).Before(lv.floor) {
		n, err := lv.w.Lookup(q, d)
		if !errors.Is(err, policy.ErrNotHeld) {
			return n, err
		}
	}
	return lv.group.Answer(q, d)
}

// fedID is an event ID in memory (hashed) and its event time.
type fedID struct {
	id uint64
	t  int64
}

// first reports whether d's event is not in memory yet, and notes it;
// it forgets the IDs of events too old for memory to take again.
func (lv *LiveVelocity) first(d *decision.Decision) bool {
	if lv.keep == 0 || d.EventID == "" {
		return true
	}
	id := maphash.String(lv.seed, d.EventID)
	if _, ok := lv.seen[id]; ok {
		return false
	}
	t := d.EventTime.UnixNano()
	lv.seen[id] = struct{}{}
	lv.ids = append(lv.ids, fedID{id, t})
	lv.latest = max(lv.latest, t)
	// In the order fed, which is event-time order but for late
	// decisions: one of those is forgotten a little after its time.
	for lv.idHead < len(lv.ids) && lv.ids[lv.idHead].t < lv.latest-lv.keep {
		delete(lv.seen, lv.ids[lv.idHead].id)
		lv.ids[lv.idHead] = fedID{}
		lv.idHead++
	}
	if lv.idHead >= 1024 && lv.idHead*2 >= len(lv.ids) {
		lv.ids = lv.ids[:copy(lv.ids, lv.ids[lv.idHead:])]
		lv.idHead = 0
	}
	return true
}
