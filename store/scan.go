package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// Scan calls fn with every decision whose event time lies in [from, to)
// (zero times are unbounded) and that matches f (nil matches all), in
// event-time order, read from one snapshot, until fn returns an error. The
// decision is decoded without its raw request and response, and is valid
// only during the call: fn copies what it keeps. Scan reads every
// decision of the period, so its cost grows with the period's decisions;
// it checks ctx as it goes.
func (db *DB) Scan(ctx context.Context, from, to time.Time, f *decision.Filter, fn func(d *decision.Decision) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	var d decision.Decision
	err := db.view(func(tx *bolt.Tx) error {
		return walkDecisions(ctx, tx, "", evRangeOf(from, to), func(e evKey, v []byte) (bool, error) {
			k := e.dec()
			if err := decodeDecision(k[:], v, &d, false); err != nil {
				return false, err
			}
			if !f.Match(&d) {
				return true, nil
			}
			return true, fn(&d)
		})
	})
	if err != nil {
		return fmt.Errorf("scan [%v, %v): %w", from, to, err)
	}
	return nil
}
