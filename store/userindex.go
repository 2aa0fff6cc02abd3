package store

import (
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The user index lives in by_dim's sorted runs (see dimruns.go) as kind
// kindUser: key kindUser + lp(user) + event key -> empty, so that folding a
// batch in appends a run instead of rewriting a page per user of a B-tree
// that grows with the store. Its entries sort before every dimension kind's
// and merge, expire and are tombstoned with them.

// kindUser is the by_dim kind byte of the user index. It is not a DimKind
// that queries name (DimKind.valid rejects it).
const kindUser DimKind = 0

// userRunPrefix appends the user index key prefix of user to b.
func userRunPrefix(b []byte, user string) []byte {
	return dimPrefix(b, kindUser, user)
}

// walkUserRuns calls fn with the event key of every user index entry of
// user (compared by its first maxIndexPart bytes) in r, in r's direction:
// the decisions up to the index mark of state s, without the pending ones.
func walkUserRuns(ctx context.Context, tx *bolt.Tx, s *dimState, user string, r evRange, fn func(e evKey) (bool, error)) error {
	prefix := userRunPrefix(nil, user)
	lo := append(slices.Clip(prefix), r.lo[:]...)
	hi := append(slices.Clip(prefix), r.hi[:]...)
	n := 0
	return mergeRuns(tx.Bucket(bktByDim), s, s.runIDs(), lo, hi, r.reverse, func(k, _ []byte) (bool, error) {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		if len(k) != len(prefix)+len(evKey{}) {
			return false, fmt.Errorf("user index entry %x: %w", k, errRecord)
		}
		return fn(evKey(k[len(prefix):]))
	})
}

// userSpan returns the event times of the first and last user index
// entries of user in state s; ok is false when there are none.
func userSpan(tx *bolt.Tx, s *dimState, user string) (first, last int64, ok bool, err error) {
	all := evRange{hi: maxEvKey}
	one := func(r evRange) (int64, bool, error) {
		var ev int64
		found := false
		err := walkUserRuns(context.Background(), tx, s, user, r, func(e evKey) (bool, error) {
			ev, found = e.ev(), true
			return false, nil
		})
		return ev, found, err
	}
	if first, ok, err = one(all); err != nil || !ok {
		return 0, 0, false, err
	}
	all.reverse = true
	last, ok, err = one(all)
	return first, last, ok, err
}
