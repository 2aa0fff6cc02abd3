package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// TestPreparedMergeSurvivesFailedCommits fails commits exactly while they
// apply a merge prepared in the background (sometimes twice in a row, so
// the retry that applies it again fails too), with callers retrying their
// group as the pipeline does. The user summaries, by_ip and the user and
// dimension entries must then equal a recount of what was committed, both
// live (indexes plus pending decisions) and after Close has folded
// everything in (indexes alone), and the commits after the failures must
// still merge right.
func TestPreparedMergeSurvivesFailedCommits(t *testing.T) {
	boom := errors.New("injected commit failure")
	var (
		w        atomic.Pointer[writer]
		armed    atomic.Int32 // failures still to inject
		injected atomic.Int32
	)
	clock := &fakeClock{now: time.Date(2026, 4, 1, 22, 17, 31, 0, time.UTC)}
	opts := Options{NoSync: true, Now: clock.Now, MaxDelay: time.Microsecond, mergeEvery: 61, dims: smallRuns,
		FailCommit: func() error {
			// The hook runs on the writer goroutine after flush: w.ready
			// is set exactly when this transaction applied a prepared
			// merge (flush applies a ready merge unconditionally).
			if wr := w.Load(); wr != nil && wr.ready != nil && armed.Load() > 0 {
				armed.Add(-1)
				injected.Add(1)
				return boom
			}
			return nil
		}}
	path := filepath.Join(t.TempDir(), "prep.db")
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.Store(db.w)
	g := newFakeGen(21, 40, 15)
	rng := rand.New(rand.NewPCG(21, 5))
	ctx := context.Background()
	var committed []decision.Decision
	next := 0 // the generator's next decision (event IDs are unique)
	write := func(n int, arm bool) (failures int) {
		for i := 0; i < n; {
			k := min(n-i, 1+rng.IntN(20))
			rs := make([]Result, k)
			for j := range rs {
				d := g.decision(next)
				next++
				vary(rng, &d)
				d.ReceivedAt = clock.Now()
				d.EventTime = eventTimeFor(rng, clock.Now())
				rs[j].Decision = d
			}
			if arm && armed.Load() == 0 && rng.IntN(2) == 0 {
				armed.Store(1 + rng.Int32N(2))
			}
			// A group whose commit failed is sent again until it commits.
			for {
				out, err := db.Complete(ctx, rs)
				if errors.Is(err, boom) {
					failures++
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				committed = append(committed, out...)
				break
			}
			i += k
			clock.Add(time.Duration(rng.IntN(15*60)) * time.Second)
		}
		return failures
	}
	failures := write(1500, true)
	// A compaction step's transaction applies a ready merge too, and its
	// failure reaches no caller.
	if failures < 5 || failures > int(injected.Load()) {
		t.Fatalf("callers saw %d failures, %d injected while a prepared merge was applied; want at least 5", failures, injected.Load())
	}
	armed.Store(0)
	// The commits after the failures merge several times more.
	write(600, false)

	check := func(db *DB, stage string) {
		t.Helper()
		all := arrivalOrder(allDecisions(t, db))
		if got, want := ids(all), ids(arrivalOrder(slices.Clone(committed))); !slices.Equal(got, want) {
			t.Fatalf("%s: stored decisions are not the %d committed (%d stored)", stage, len(want), len(got))
		}
		checkUsers(t, db, all)
		checkDims(t, db, all, rand.New(rand.NewPCG(21, 6)))
		if t.Failed() {
			t.Fatalf("%s: indexes differ from the recount", stage)
		}
	}
	check(db, "live")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.view(func(tx *bolt.Tx) error {
		last, _ := tx.Bucket(bktDecisions).Cursor().Last()
		if mark := indexMark(tx); string(mark[:]) != string(last) {
			t.Fatalf("index mark %x after Close, newest decision %x: Close should fold everything in", mark, last)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check(db, "after Close")
}
