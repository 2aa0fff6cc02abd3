package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/store"
)

// StoreVelocity is the live policy.Velocity: it answers count and
// distinct from the store's indexes (the user index for "user", by_dim
// for the other keys), over the stored decisions with an event time in
// [t-window, t) and the same key value (policy.Key.Value) as the decision
// asked about. So it gives the answers a replay's in-memory Window gives
// over the same stored decisions, and sees nothing at or after t.
type StoreVelocity struct {
	ctx context.Context
	db  *store.DB
}

// NewStoreVelocity returns the velocity of db; its reads stop when ctx
// ends.
func NewStoreVelocity(ctx context.Context, db *store.DB) *StoreVelocity {
	return &StoreVelocity{ctx: ctx, db: db}
}

// dimKinds maps the policy keys other than user to the by_dim kinds; they
// group decisions by the same values (policy.Key.Value, store.DimKind.Value).
var dimKinds = map[policy.Key]store.DimKind{
	policy.KeyIP: store.KindIP, policy.KeyIP24: store.KindIP24, policy.KeyEmail: store.KindEmail,
	policy.KeyEmailDomain: store.KindEmailDomain, policy.KeyDevice: store.KindDevice,
}

// maxEntryPart is how much of a value or user the by_dim index keeps: a
// shorter one is held whole, so comparing entries is exact.
const maxEntryPart = 512

// Answer answers q for d from the store.
func (v *StoreVelocity) Answer(q policy.Query, d *decision.Decision) (int, error) {
	seen := map[string]struct{}{}
	n, err := v.tally(q, d, seen)
	if q.Distinct() {
		return len(seen), err
	}
	return n, err
}

// tally counts the decisions q selects for d and adds their non-empty Of
// values to seen (for a distinct query).
func (v *StoreVelocity) tally(q policy.Query, d *decision.Decision, seen map[string]struct{}) (int, error) {
	value := q.Key.Value(d)
	if value == "" {
		return 0, nil
	}
	from, to := d.EventTime.Add(-q.Window), d.EventTime
	kind, isDim := dimKinds[q.Key]
	if isDim && len(value) < maxEntryPart && (q.Of == policy.KeyNone || q.Of == policy.KeyUser) {
		if n, ok, err := v.fromEntries(kind, value, q, from, to, seen); ok || err != nil {
			return n, err
		}
		clear(seen)
	}
	n := 0
	fn := func(x *decision.Decision) bool {
		if q.Key.Value(x) != value {
			return true
		}
		n++
		if q.Distinct() {
			if o := q.Of.Value(x); o != "" {
				seen[o] = struct{}{}
			}
		}
		return true
	}
	var err error
	switch {
	case q.Key == policy.KeyUser:
		err = v.db.UserWindow(v.ctx, value, from, to, fn)
	case isDim:
		err = v.db.DimensionWindow(v.ctx, kind, value, from, to, fn)
	default:
		return 0, fmt.Errorf("velocity: unknown key %s", q.Key)
	}
	if err != nil {
		return 0, fmt.Errorf("velocity %s: %w", q, err)
	}
	return n, nil
}

// fromEntries counts the decisions, and adds their users to seen, from the
// index entries alone, without reading the decisions: each entry carries
// its user. ok is false when an entry's user may have been cut (then the
// caller reads the decisions).
func (v *StoreVelocity) fromEntries(kind store.DimKind, value string, q policy.Query, from, to time.Time, seen map[string]struct{}) (n int, ok bool, err error) {
	ok = true
	err = v.db.DimensionEntries(v.ctx, kind, value, from, to, func(e store.DimEntry) bool {
		n++
		if q.Distinct() && e.UserID != "" {
			if len(e.UserID) >= maxEntryPart {
				ok = false
				return false
			}
			seen[e.UserID] = struct{}{}
		}
		return true
	})
	if err != nil {
		return 0, false, fmt.Errorf("velocity %s: %w", q, err)
	}
	return n, ok, nil
}
