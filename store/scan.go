package store

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// scanChunk is how many decisions Scan reads per read transaction.
const scanChunk = 4096

// Scan yields every decision with an event time in [from, to) (zero values
// are unbounded) in event-time order, decisions with equal event times in
// arrival order, as the by_time index holds them: what a policy replay
// reads. The decisions come without their raw request and response. A
// yielded decision is valid until the next step; the caller may keep its
// strings. An error ends the sequence.
//
// Scan reads the index in chunks, each in its own read transaction, so a
// long scan neither holds one transaction open (which would keep the
// writer from growing the file) nor holds the store's snapshot while the
// caller works: a decision stored during the scan is yielded when its event
// time puts it after the position the scan has reached, and one removed by
// retention before its chunk is read is not.
func (db *DB) Scan(ctx context.Context, from, to time.Time) iter.Seq2[*decision.Decision, error] {
	return func(yield func(*decision.Decision, error) bool) {
		r := evRangeOf(from, to)
		buf := make([]decision.Decision, 0, scanChunk)
		for {
			buf = buf[:0]
			var last evKey
			err := db.view(func(tx *bolt.Tx) error {
				decisions := tx.Bucket(bktDecisions)
				return walkTime(ctx, tx, r, func(e evKey) (bool, error) {
					k := e.dec()
					v := decisions.Get(k[:])
					if v == nil {
						return false, fmt.Errorf("time index names missing decision %s", k.id())
					}
					buf = buf[:len(buf)+1]
					if err := decodeDecision(k[:], v, &buf[len(buf)-1], false); err != nil {
						return false, err
					}
					last = e
					return len(buf) < scanChunk, nil
				})
			})
			if err != nil {
				yield(nil, fmt.Errorf("scan: %w", err))
				return
			}
			for i := range buf {
				if !yield(&buf[i], nil) {
					return
				}
			}
			if len(buf) < scanChunk {
				return
			}
			if err := ctx.Err(); err != nil {
				yield(nil, fmt.Errorf("scan: %w", err))
				return
			}
			r.lo = last.after()
		}
	}
}
