package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cut is how a test truncates the file during a commit (see openCut).
type cut int32

const (
	// cutBeforeWrites: the file is cut to 0 bytes before the commit
	// writes its pages; bbolt writes them into the empty file, which is
	// then as long as before but holds only them.
	cutBeforeWrites cut = iota + 1
	// cutAfterWrites: the file is cut to half its size after the commit
	// wrote and synced everything, before its callers hear of it.
	cutAfterWrites
	// cutToZero: the file is cut to 0 bytes after the commit.
	cutToZero
)

func (c cut) String() string {
	return [...]string{"", "before its writes", "after its writes", "to zero after its writes"}[c]
}

// openCut opens a store that checks its file only around its writes (the
// watch looks once an hour) and fills it with enough incompressible events
// to span many pages. After arm(c), the next commit finds the file cut as
// c says by the time it is checked. onCommit, if set, runs after every
// commit (in the writer goroutine), before the cut.
func openCut(t *testing.T, noSync bool, onCommit func(*DB)) (db *DB, path string, arm func(cut)) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "riskwatch.db")
	db, err := Open(path, Options{NoSync: noSync, WatchEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	var (
		armed atomic.Int32
		prev  []byte // the file before the armed commit (cutBeforeWrites)
	)
	hook := func() {
		if onCommit != nil {
			onCommit(db)
		}
		var err error
		switch cut(armed.Swap(0)) {
		case cutBeforeWrites:
			err = keepWritten(path, prev)
		case cutAfterWrites:
			var st os.FileInfo
			if st, err = os.Stat(path); err == nil {
				err = os.Truncate(path, st.Size()/2)
			}
		case cutToZero:
			err = os.Truncate(path, 0)
		}
		if err != nil {
			t.Errorf("cutting the file: %v", err)
		}
	}
	db.watch.afterCommit.Store(&hook)
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 40 {
		if _, err := db.Enqueue(context.Background(), []InboxEvent{{EventID: fmt.Sprint("fill-", i), Body: noise(r, 3000)}}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	return db, path, func(c cut) {
		if c == cutBeforeWrites {
			// The writer is idle: the last write returned and nothing
			// else is pending.
			if prev, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
		armed.Store(int32(c))
	}
}

// TestTruncationDuringCommitFailsItsCallers: the file is truncated while a
// group commits (before bbolt writes its pages, or after it wrote and
// synced them). The commit itself goes through, but the group's callers
// get ErrFileLost instead of a success: what they hand on (an HTTP 202, a
// checkpoint) would claim events that are in a file no one will open
// again. Before, they were told it was stored, and only the next group
// failed. With and without bbolt's fdatasync.
func TestTruncationDuringCommitFailsItsCallers(t *testing.T) {
	for _, noSync := range []bool{true, false} {
		for _, c := range []cut{cutBeforeWrites, cutAfterWrites, cutToZero} {
			t.Run(fmt.Sprintf("nosync=%v/%v", noSync, c), func(t *testing.T) {
				db, _, arm := openCut(t, noSync, nil)
				ctx := context.Background()
				if err := db.checkLost(); err != nil {
					t.Fatalf("lost before anything happened: %v", err)
				}
				arm(c)
				fresh, err := db.Enqueue(ctx, []InboxEvent{{EventID: "N", Body: make([]byte, 100)}}, nil, nil)
				if !errors.Is(err, ErrFileLost) {
					t.Fatalf("the group cut during its commit: %v %v, want ErrFileLost", fresh, err)
				}
				t.Log(err)
				select {
				case <-db.LostC():
				default:
					t.Fatal("the store is not marked lost")
				}
				if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: "N+1"}}, nil, nil); !errors.Is(err, ErrFileLost) {
					t.Errorf("the next write: %v, want ErrFileLost", err)
				}
				if err := db.Close(); !errors.Is(err, ErrFileLost) {
					t.Errorf("Close = %v, want ErrFileLost", err)
				}
			})
		}
	}
}

// TestTruncationDuringCommitUnderConcurrentWriters: eight writers keep
// enqueueing while the file is cut after one group's commit. Every caller
// of that group gets ErrFileLost, and every write that succeeded was
// committed by a group before it (the store's inbox sequence, read after
// each commit, tells which group stored which event).
func TestTruncationDuringCommitUnderConcurrentWriters(t *testing.T) {
	const writers = 8
	var (
		armed   atomic.Bool
		seen    uint64             // the newest inbox sequence committed
		groupOf = map[string]int{} // event ID -> the commit that stored it
		commits int
		cutAt   = -1
	)
	ctx := context.Background()
	// Runs in the writer goroutine after each commit; the test reads what
	// it wrote only after the writers are done.
	onCommit := func(db *DB) {
		commits++
		items, err := db.InboxNext(ctx, seen, 1<<20)
		if err != nil {
			t.Errorf("reading the inbox after commit %d: %v", commits, err)
			return
		}
		for _, it := range items {
			groupOf[it.EventID] = commits
			seen = it.Seq
		}
		if len(items) > 0 && cutAt < 0 && armed.Load() {
			cutAt = commits
		}
	}
	db, _, arm := openCut(t, true, onCommit)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		oks  []string
		errs = map[string]error{}
	)
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range 1000 {
				id := fmt.Sprintf("w%d-%d", w, i)
				_, err := db.Enqueue(ctx, []InboxEvent{{EventID: id, Body: noise(r, 200+r.IntN(800))}}, nil, nil)
				mu.Lock()
				if err != nil {
					errs[id] = err
				} else {
					oks = append(oks, id)
				}
				n := len(oks)
				mu.Unlock()
				if err != nil {
					return
				}
				if n == 300 {
					armed.Store(true)
					arm(cutAfterWrites)
				}
			}
		})
	}
	wg.Wait()
	if cutAt < 0 {
		t.Fatal("no group was cut")
	}
	var cutIDs []string
	for id, g := range groupOf {
		if g == cutAt {
			cutIDs = append(cutIDs, id)
		}
	}
	slices.Sort(cutIDs)
	t.Logf("%d writes acknowledged, %d refused, %d commits, commit %d cut (%d events: %v)", len(oks), len(errs), commits, cutAt, len(cutIDs), cutIDs)
	if len(cutIDs) == 0 {
		t.Fatal("the cut group stored nothing")
	}
	for _, id := range cutIDs {
		if err, ok := errs[id]; !ok || !errors.Is(err, ErrFileLost) {
			t.Errorf("%s, committed by the cut group: %v, want ErrFileLost", id, err)
		}
	}
	for _, id := range oks {
		if g, ok := groupOf[id]; !ok || g >= cutAt {
			t.Errorf("%s acknowledged but committed by commit %d (the cut was %d)", id, g, cutAt)
		}
	}
	for id, err := range errs {
		if !errors.Is(err, ErrFileLost) {
			t.Errorf("%s: %v, want ErrFileLost", id, err)
		}
	}
	if err := db.Lost(); !errors.Is(err, ErrFileLost) {
		t.Errorf("Lost() = %v", err)
	}
}

// TestCommitCheckNoFalsePositives: concurrent writers grow a store by
// many groups, with and without fdatasync, removing events as they go
// (bbolt reuses freed pages), then it is reopened and written again:
// the check after each commit never takes it for lost.
func TestCommitCheckNoFalsePositives(t *testing.T) {
	for _, noSync := range []bool{true, false} {
		t.Run(fmt.Sprintf("nosync=%v", noSync), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "riskwatch.db")
			opts := Options{NoSync: noSync, WatchEvery: time.Millisecond}
			db, err := Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			per := 150
			if !noSync {
				per = 30
			}
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(w), 11))
					for i := range per {
						evs := make([]InboxEvent, 1+r.IntN(4))
						for j := range evs {
							evs[j] = InboxEvent{EventID: fmt.Sprint(w, "-", i, "-", j), Body: noise(r, 64+r.IntN(5000))}
						}
						if _, err := db.Enqueue(ctx, evs, nil, nil); err != nil {
							t.Errorf("writer %d, group %d: %v", w, i, err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := db.checkLost(); err != nil {
				t.Fatalf("a growing store taken for lost: %v", err)
			}
			db = reopenStore(t, db, path, opts)
			defer db.Close()
			r := rand.New(rand.NewPCG(12, 13))
			for i := range 20 {
				if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: fmt.Sprint("reopened-", i), Body: noise(r, 3000)}}, nil, nil); err != nil {
					t.Fatalf("after reopening, group %d: %v", i, err)
				}
			}
			if err := db.checkLost(); err != nil {
				t.Fatalf("the reopened store taken for lost: %v", err)
			}
		})
	}
}

// BenchmarkCheckCommitted: what the writer pays per group for looking at
// the file after its commit (two fstats, an lseek and a read transaction
// for the high-water mark), next to BenchmarkCheckBeforeWrite (an fstat
// and an lseek). cpu-ns/op is the process's CPU time: the machine is
// shared and wall time follows its load.
func BenchmarkCheckCommitted(b *testing.B) {
	benchCheck(b, (*DB).checkCommitted)
}

func BenchmarkCheckBeforeWrite(b *testing.B) {
	benchCheck(b, (*DB).checkBeforeWrite)
}

func benchCheck(b *testing.B, check func(*DB) error) {
	db := openTest(b, Options{NoSync: true, WatchEvery: time.Hour})
	r := rand.New(rand.NewPCG(1, 1))
	for i := range 100 {
		if _, err := db.Enqueue(context.Background(), []InboxEvent{{EventID: fmt.Sprint(i), Body: noise(r, 3000)}}, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	cpu0 := cpuTime()
	for b.Loop() {
		if err := check(db); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}
