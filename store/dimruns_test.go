package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestMergeRunsBothWays writes random entries as several runs of small
// blocks and checks mergeRuns, forward and in reverse, between random
// bounds (present keys, absent ones, none), against a sorted recount.
func TestMergeRunsBothWays(t *testing.T) {
	b, err := bolt.Open(filepath.Join(t.TempDir(), "runs.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rng := rand.New(rand.NewPCG(9, 9))
	var all [][]byte
	s := dimState{next: 1}
	err = b.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucket(bktByDim)
		if err != nil {
			return err
		}
		for range 5 {
			var run [][]byte
			for range 1 + rng.IntN(300) {
				// Keys with shared prefixes, as user and value keys have.
				k := fmt.Appendf(nil, "u%d/%08d", rng.IntN(7), rng.IntN(1_000_000))
				if !slices.ContainsFunc(all, func(x []byte) bool { return bytes.Equal(x, k) }) {
					run = append(run, k)
					all = append(all, k)
				}
			}
			slices.SortFunc(run, bytes.Compare)
			w := blockWriter{id: s.next, size: 40 + rng.IntN(200), put: func(k, v []byte) error {
				return bk.Put(slices.Clone(k), slices.Clone(v))
			}}
			for _, k := range run {
				if err := w.add(k, k[:2]); err != nil {
					return err
				}
			}
			if err := w.flush(); err != nil {
				return err
			}
			s.runs = append(s.runs, dimRun{id: s.next, n: w.n})
			s.next++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(all, bytes.Compare)
	bound := func() []byte {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			return all[rng.IntN(len(all))]
		}
		return fmt.Appendf(nil, "u%d/%08d", rng.IntN(8), rng.IntN(1_000_000))
	}
	err = b.View(func(tx *bolt.Tx) error {
		for range 300 {
			from, to := bound(), bound()
			var want [][]byte
			for _, k := range all {
				if (from == nil || bytes.Compare(k, from) >= 0) && (to == nil || bytes.Compare(k, to) < 0) {
					want = append(want, k)
				}
			}
			for _, reverse := range []bool{false, true} {
				var got [][]byte
				err := mergeRuns(tx.Bucket(bktByDim), &s, s.runIDs(), from, to, reverse, func(k, v []byte) (bool, error) {
					if !bytes.Equal(v, k[:2]) {
						t.Fatalf("entry %q has value %q", k, v)
					}
					got = append(got, slices.Clone(k))
					return true, nil
				})
				if err != nil {
					return err
				}
				if reverse {
					slices.Reverse(got)
				}
				if len(got) != len(want) || !slices.EqualFunc(got, want, bytes.Equal) {
					t.Fatalf("[%q, %q) reverse %v: %d entries, recount %d", from, to, reverse, len(got), len(want))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
