package store

import (
	"context"
	"fmt"
	"iter"
	"sync"
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
// retention before its chunk is read is not. A goroutine reads and decodes
// the next chunk while the caller works on the current one (a replay's
// decoding and evaluation then use two cores); it ends when the sequence
// does.
func (db *DB) Scan(ctx context.Context, from, to time.Time) iter.Seq2[*decision.Decision, error] {
	return func(yield func(*decision.Decision, error) bool) {
		type chunk struct {
			ds  []decision.Decision
			err error
		}
		full := make(chan chunk, 1)
		// free holds the buffers the reader may fill: two, so that one is
		// read while the caller works on the other.
		free := make(chan []decision.Decision, 2)
		free <- make([]decision.Decision, 0, scanChunk)
		free <- make([]decision.Decision, 0, scanChunk)
		done := make(chan struct{})
		var wg sync.WaitGroup
		defer wg.Wait()
		defer close(done)
		wg.Go(func() {
			defer close(full)
			r := evRangeOf(from, to)
			in := newInterner()
			for {
				var buf []decision.Decision
				select {
				case buf = <-free:
				case <-done:
					return
				}
				buf, last, err := db.scanChunk(ctx, r, buf[:0], in)
				select {
				case full <- chunk{buf, err}:
				case <-done:
					return
				}
				if err != nil || len(buf) < scanChunk {
					return
				}
				r.lo = last.after()
			}
		})
		for c := range full {
			if c.err != nil {
				yield(nil, c.err)
				return
			}
			for i := range c.ds {
				if !yield(&c.ds[i], nil) {
					return
				}
			}
			free <- c.ds
		}
	}
}

// scanChunk decodes into buf the first scanChunk decisions of r, in one
// read transaction, with the repeating strings from in, and returns them
// with the event key of the last.
func (db *DB) scanChunk(ctx context.Context, r evRange, buf []decision.Decision, in *interner) ([]decision.Decision, evKey, error) {
	var last evKey
	if err := ctx.Err(); err != nil {
		return buf, last, fmt.Errorf("scan: %w", err)
	}
	err := db.view(func(tx *bolt.Tx) error {
		decisions := tx.Bucket(bktDecisions)
		return walkTime(ctx, tx, r, func(e evKey) (bool, error) {
			k := e.dec()
			v := decisions.Get(k[:])
			if v == nil {
				return false, fmt.Errorf("time index names missing decision %s", k.id())
			}
			buf = buf[:len(buf)+1]
			if err := decodeDecisionWith(k[:], v, &buf[len(buf)-1], db.brief(), in); err != nil {
				return false, err
			}
			last = e
			return len(buf) < scanChunk, nil
		})
	})
	if err != nil {
		return buf, last, fmt.Errorf("scan: %w", err)
	}
	return buf, last, nil
}
