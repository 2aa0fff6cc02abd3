package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// BenchmarkUsersPending measures the users list and the Journeys view's
// queries on a store with mergeEvery-1 decisions not yet folded in, in
// the three cases a live dashboard meets: "first" is the first query of
// a freshly opened (read-only) store, "repeat" the same query again on an
// unchanged snapshot, and "new" a query after newDecisions more decisions
// were written (timed without the writes). It uses the stores
// BenchmarkUsersTop builds (RISKWATCH_USERS_BENCH, default 100000, and
// RISKWATCH_USERS_BENCH_DIR); "new" writes to a copy. Run it with a fixed
// -benchtime (e.g. 50x): "new" adds decisions with every iteration.
func BenchmarkUsersPending(b *testing.B) {
	sizes, dir := usersBenchStores(b)
	const newDecisions = 10
	ctx := context.Background()
	sorts := []struct {
		name  string
		by    decision.UserSort
		limit int
	}{
		{"last-seen", decision.SortLastSeen, 50}, {"max-risk", decision.SortMaxRisk, 50},
		{"denies", decision.SortDenies, 50}, {"last-seen-100", decision.SortLastSeen, 100},
	}
	for _, n := range sizes {
		path := filepath.Join(dir, fmt.Sprintf("users-%d.db", n))
		if _, err := os.Stat(path); err != nil {
			if err := buildUsersStore(path, n); err != nil {
				b.Fatal(err)
			}
		}
		pending := filepath.Join(dir, fmt.Sprintf("users-%d-pending-s%d.db", n, SchemaVersion))
		if _, err := os.Stat(pending); err != nil {
			if err := addPending(path, pending, n); err != nil {
				b.Fatal(err)
			}
		}
		query := func(b *testing.B, db *DB, by decision.UserSort, limit int) {
			us, err := db.Users(ctx, UsersQuery{Sort: by, Limit: limit})
			if err != nil || len(us) != limit {
				b.Fatalf("Users: %d, %v", len(us), err)
			}
		}
		b.Run(fmt.Sprintf("decisions=%d", n), func(b *testing.B) {
			for _, s := range sorts {
				b.Run("first/"+s.name, func(b *testing.B) {
					var cpu time.Duration
					for b.Loop() {
						b.StopTimer()
						db, err := Open(pending, Options{ReadOnly: true})
						if err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						start := cpuTime()
						query(b, db, s.by, s.limit)
						cpu += cpuTime() - start
						b.StopTimer()
						if err := db.Close(); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					reportCPU(b, cpu)
				})
			}
			db, err := Open(pending, Options{ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range sorts {
				b.Run("repeat/"+s.name, func(b *testing.B) {
					query(b, db, s.by, s.limit)
					start := cpuTime()
					for b.Loop() {
						query(b, db, s.by, s.limit)
					}
					reportCPU(b, cpuTime()-start)
				})
			}
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			work := filepath.Join(b.TempDir(), "pending-work.db")
			if err := copyFile(pending, work); err != nil {
				b.Fatal(err)
			}
			// Nothing is folded in while the benchmark writes: every
			// query overlays all the decisions written so far.
			db, err = Open(work, Options{NoSync: true, mergeEvery: 1 << 30, mergeIdle: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			g := newFakeGen(uint64(n)+2, n/20, n/50)
			next := 2 * n
			for _, s := range sorts {
				b.Run("new/"+s.name, func(b *testing.B) {
					query(b, db, s.by, s.limit)
					var cpu time.Duration
					for b.Loop() {
						b.StopTimer()
						rs := make([]Result, newDecisions)
						for j := range rs {
							d := g.decision(next)
							d.EventTime = time.Now()
							rs[j] = Result{Decision: d}
							next++
						}
						if _, err := db.Complete(ctx, rs); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						start := cpuTime()
						query(b, db, s.by, s.limit)
						cpu += cpuTime() - start
					}
					reportCPU(b, cpu)
				})
			}
		})
	}
}
