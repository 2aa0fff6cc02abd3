package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// UserWindow calls fn with each of a user's decisions with an event time
// in [from, to), oldest first, until fn returns false: what a policy's
// velocity over "user" reads. It reads the user index (and the decisions
// not folded into it yet); the decisions come without their raw request
// and response, and are valid during the call only.
func (db *DB) UserWindow(ctx context.Context, user string, from, to time.Time, fn func(d *decision.Decision) bool) error {
	if user == "" {
		return nil
	}
	m := matcher{user: user, codec: db.brief()}
	err := db.view(func(tx *bolt.Tx) error {
		return walkDecisions(ctx, tx, user, evRangeOf(from, to), func(e evKey, v []byte) (bool, error) {
			if err := decodeDecision(e[8:], v, &m.d, db.brief()); err != nil {
				return false, err
			}
			if m.d.UserID != user {
				return true, nil
			}
			return fn(&m.d), nil
		})
	})
	if err != nil {
		return fmt.Errorf("decisions of user %q in a window: %w", user, err)
	}
	return nil
}

// DimensionWindow calls fn with each decision whose value of kind is value
// (see DimKind.Normalize; compared in full, however long) with an event
// time in [from, to), oldest first, until fn returns false: what a
// policy's velocity over an IP, network, email, domain or device reads.
// The decisions come from the by_dim index as DimensionEntries finds
// them, without their raw request and response, and are valid during the
// call only.
func (db *DB) DimensionWindow(ctx context.Context, kind DimKind, value string, from, to time.Time, fn func(d *decision.Decision) bool) error {
	if !kind.valid() {
		return fmt.Errorf("dimension window: unknown kind %d", kind)
	}
	value = kind.Normalize(value)
	var d decision.Decision
	err := db.view(func(tx *bolt.Tx) error {
		decisions := tx.Bucket(bktDecisions)
		return walkDim(ctx, tx, kind, value, evRangeOf(from, to), func(e evKey, _ []byte) (bool, error) {
			k := e.dec()
			v := decisions.Get(k[:])
			if v == nil {
				return false, fmt.Errorf("dimension index names missing decision %s", k.id())
			}
			if err := decodeDecision(k[:], v, &d, db.brief()); err != nil {
				return false, err
			}
			if kind.Value(&d) != value {
				return true, nil
			}
			return fn(&d), nil
		})
	})
	if err != nil {
		return fmt.Errorf("decisions of %s %q in a window: %w", kind, value, err)
	}
	return nil
}
