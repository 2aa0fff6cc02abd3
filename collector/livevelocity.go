package collector

import (
	"context"
	"errors"
	"fmt"
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
// policy.Window over the recent decisions (by event time, back to the
// policy's longest window plus liveRetain), filled from the store when it
// is made and fed every decision the shadow evaluates, error decisions
// included, as replay feeds its Window every stored decision. So count
// and distinct give replay's answers without reading the store. A
// decision whose windows reach back before what memory holds (a backfill
// of old events) is answered from the store's indexes (StoreVelocity) plus
// the decisions fed since the last Begin, which are not committed yet.
//
// Memory is bounded by max entries (one per decision and key it is
// counted under): past it the oldest are forgotten (policy.Window.Trim)
// and the floor rises, so that the store answers for the windows reaching
// before it, with the same answers.
//
// It is not safe for concurrent use: Shadow serialises its calls.
type LiveVelocity struct {
	w   *policy.Window
	max int
	// floor: every stored decision with an event time from floor on is
	// in w (and all are when all is set).
	floor time.Time
	all   bool
	db    *store.DB
	group groupVelocity
	// settle, when set, returns once every decision evaluated before the
	// current group is committed: the store then holds them all.
	settle func()
}

// NewLiveVelocity returns the velocity for p's queries over db, filled
// with the stored decisions of p's longest window (plus liveRetain) before
// now, holding at most max entries (0: no bound).
func NewLiveVelocity(ctx context.Context, db *store.DB, p *policy.Policy, now time.Time, max int) (*LiveVelocity, error) {
	lv := &LiveVelocity{w: policy.NewWindow(p.Queries()...), db: db, max: max}
	lv.w.Retain(liveRetain)
	if len(p.Queries()) == 0 {
		lv.all = true
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
	}
}

// Begin starts a commit group: its decisions are fed as they are
// evaluated, and read from the store (with ctx) only when memory does not
// reach back far enough.
func (lv *LiveVelocity) Begin(ctx context.Context) {
	lv.group = groupVelocity{store: NewStoreVelocity(ctx, lv.db), group: lv.group.group[:0], settle: lv.settle}
}

// Add feeds a decision: later decisions count it. d must not change
// until the next Begin.
func (lv *LiveVelocity) Add(d *decision.Decision) error {
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
