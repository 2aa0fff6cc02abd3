package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	berrors "go.etcd.io/bbolt/errors"
)

func TestGroupCommit(t *testing.T) {
	db := openTest(t, Options{NoSync: true, MaxDelay: 300 * time.Millisecond})
	ctx := context.Background()
	before := db.w.txs.Load()
	const callers = 200
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			_, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: fmt.Sprint(i), UserID: "u", Action: decision.ActionAllow}}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	txs := db.w.txs.Load() - before
	if txs > 4 {
		t.Errorf("%d concurrent calls took %d transactions, want a few groups", callers, txs)
	}
	if in, _ := db.Info(); in.Decisions != callers {
		t.Errorf("stored %d decisions, want %d", in.Decisions, callers)
	}
}

func TestGroupCommitBatchLimit(t *testing.T) {
	db := openTest(t, Options{NoSync: true, MaxBatch: 10, MaxDelay: time.Hour})
	before := db.w.txs.Load()
	var evs []InboxEvent
	for i := range 25 {
		evs = append(evs, InboxEvent{EventID: fmt.Sprint(i)})
	}
	// One call larger than MaxBatch commits at once instead of waiting
	// for MaxDelay.
	done := make(chan error, 1)
	go func() {
		_, err := db.Enqueue(context.Background(), evs, nil, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a full batch waited for MaxDelay")
	}
	if txs := db.w.txs.Load() - before; txs != 1 {
		t.Errorf("%d transactions, want 1", txs)
	}
}

func TestCommitErrorReachesEveryWaiter(t *testing.T) {
	db := openTest(t, Options{NoSync: true, MaxSize: 1 << 20, MaxDelay: 500 * time.Millisecond})
	ctx := context.Background()
	big := []byte(`"` + strings.Repeat("x", 100<<10) + `"`)
	if _, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: "alone", Action: decision.ActionAllow, Request: big}}}); err != nil {
		t.Fatalf("a single 100KB decision should fit: %v", err)
	}
	// Twenty of them in one group exceed MaxSize: the commit fails and
	// every caller of the group gets the error.
	const callers = 20
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			_, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: fmt.Sprint("big", i), Action: decision.ActionAllow, Request: big}},
				{Seq: 0, Decision: decision.Decision{EventID: fmt.Sprint("small", i), Action: decision.ActionAllow}}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, berrors.ErrMaxSizeReached) {
			t.Errorf("caller got %v, want the commit error", err)
		}
	}
	in, err := db.Info()
	if err != nil {
		t.Fatal(err)
	}
	if in.Decisions != 1 {
		t.Errorf("%d decisions stored after the failed commit, want 1", in.Decisions)
	}
	if l, _ := db.Latest(ctx, nil, 100, ""); len(l) != 1 || l[0].EventID != "alone" {
		t.Errorf("Latest after a failed commit: %d decisions", len(l))
	}
	if _, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: "after", Action: decision.ActionAllow}}}); err != nil {
		t.Errorf("store unusable after a failed commit: %v", err)
	}
}

func TestEventsAndCheckpointAllOrNothing(t *testing.T) {
	db := openTest(t, Options{NoSync: true, MaxSize: 1 << 20})
	ctx := context.Background()
	if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: "1"}}, nil, []Checkpoint{{Source: "file:a", Offset: 10}}); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 200<<10)
	var evs []InboxEvent
	for i := range 8 {
		evs = append(evs, InboxEvent{EventID: fmt.Sprint("big", i), Body: body})
	}
	if _, err := db.Enqueue(ctx, evs, nil, []Checkpoint{{Source: "file:a", Offset: 99}}); !errors.Is(err, berrors.ErrMaxSizeReached) {
		t.Fatalf("oversized enqueue: %v, want a commit error", err)
	}
	cp, _, err := db.Checkpoint("file:a")
	if err != nil || cp.Offset != 10 {
		t.Errorf("checkpoint after a failed commit = %+v, %v; want offset 10", cp, err)
	}
	if items, _ := db.InboxNext(ctx, 0, 100); len(items) != 1 || db.InboxDepth() != 1 {
		t.Errorf("inbox after a failed commit: %d items, depth %d", len(items), db.InboxDepth())
	}
}

func TestBadRequestDoesNotFailItsGroup(t *testing.T) {
	db := openTest(t, Options{NoSync: true, MaxDelay: 300 * time.Millisecond})
	ctx := context.Background()
	var wg sync.WaitGroup
	good := make(chan error, 10)
	var bad error
	wg.Go(func() {
		_, bad = db.Enqueue(ctx, []InboxEvent{{EventID: "doomed"}}, nil, []Checkpoint{{Source: strings.Repeat("s", 40000)}})
	})
	for i := range 10 {
		wg.Go(func() {
			_, err := db.Enqueue(ctx, []InboxEvent{{EventID: fmt.Sprint(i)}}, nil, nil)
			good <- err
		})
	}
	wg.Wait()
	close(good)
	if !errors.Is(bad, berrors.ErrKeyTooLarge) {
		t.Errorf("bad request got %v, want its own error", bad)
	}
	for err := range good {
		if err != nil {
			t.Errorf("good request failed with %v", err)
		}
	}
	if d := db.InboxDepth(); d != 10 {
		t.Errorf("InboxDepth = %d, want the 10 good events", d)
	}
}

func TestCancelledWaiter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := Open(path, Options{NoSync: true, MaxDelay: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	taken := db.w.taken.Load()
	done := make(chan error, 1)
	go func() {
		_, err := db.Enqueue(ctx, []InboxEvent{{EventID: "x"}}, nil, nil)
		done <- err
	}()
	// The writer holds the request for MaxDelay; wait until it has it.
	deadline := time.Now().Add(5 * time.Second)
	for db.w.taken.Load() == taken {
		if time.Now().After(deadline) {
			t.Fatal("the writer never took the request")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Enqueue returned %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancelled Enqueue kept waiting")
	}
	start := time.Now()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close waited %s for MaxDelay", d)
	}
	if _, err := db.Enqueue(context.Background(), nil, nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: %v", err)
	}
	// The writer saw the cancellation before applying the request, so it
	// skipped it (a request cancelled later may still commit).
	db, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if d := db.InboxDepth(); d != 0 {
		t.Errorf("cancelled event stored: inbox depth %d", d)
	}
}

func TestCloseDrains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stored []string
	for i := range 40 {
		wg.Go(func() {
			for j := range 20 {
				id := fmt.Sprint(i, "-", j)
				_, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: id, UserID: fmt.Sprint("u", j%3), Action: decision.ActionAllow}}})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				stored = append(stored, id)
				mu.Unlock()
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for db.decisions.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	db, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := map[string]bool{}
	for _, d := range allDecisions(t, db) {
		got[d.EventID] = true
	}
	for _, id := range stored {
		if !got[id] {
			t.Errorf("%s was reported stored but is missing after Close", id)
		}
	}
	if len(got) != len(stored) {
		t.Errorf("%d decisions stored, %d reported", len(got), len(stored))
	}
	if len(db.w.pend) != 0 {
		t.Errorf("%d decisions left pending after a clean Close", len(db.w.pend))
	}
}

func TestKeysIncreaseWhenClockStepsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	var mu sync.Mutex
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(-time.Minute) // every reading is earlier
		return now
	}
	ctx := context.Background()
	var prev decision.Decision
	for round := range 2 {
		db, err := Open(path, Options{NoSync: true, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			ds, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: fmt.Sprint(round, i), Action: decision.ActionAllow}}})
			if err != nil {
				t.Fatal(err)
			}
			d := ds[0]
			if len(d.ID) != 32 || d.ID <= prev.ID || d.Time.Before(prev.Time) {
				t.Errorf("decision %s at %s after %s at %s", d.ID, d.Time, prev.ID, prev.Time)
			}
			k, err := parseID(d.ID)
			if err != nil || !k.time().Equal(d.Time) {
				t.Errorf("ID %s does not encode Time %s", d.ID, d.Time)
			}
			prev = d
		}
		db.Close()
	}
}

// TestConcurrentReaders runs queries while two goroutines write; run it
// with -race.
func TestConcurrentReaders(t *testing.T) {
	db := openTest(t, Options{NoSync: true, MaxDelay: time.Millisecond, mergeEvery: 40})
	ctx := context.Background()
	var writers, readers sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		writers.Go(func() {
			g := newFakeGen(uint64(w), 20, 10)
			for i := range 60 {
				var rs []Result
				for j := range 10 {
					d := g.decision(i*10 + j)
					d.EventID = fmt.Sprint(w, "-", i, "-", j)
					rs = append(rs, Result{Decision: d})
				}
				if _, err := db.Complete(ctx, rs); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	f, err := decision.ParseFilter("user:user-3", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		readers.Go(func() {
			var last uint64
			for {
				select {
				case <-stop:
					return
				default:
				}
				l, err := db.Latest(ctx, nil, 20, "")
				if err != nil {
					t.Error(err)
					return
				}
				for i := 1; i < len(l); i++ {
					if l[i].ID >= l[i-1].ID {
						t.Errorf("Latest not newest first: %s then %s", l[i-1].ID, l[i].ID)
					}
				}
				tot, err := db.Totals(ctx, time.Time{}, time.Time{}, nil)
				if err != nil || tot.Decisions < last {
					t.Errorf("Totals went from %d to %d (%v)", last, tot.Decisions, err)
					return
				}
				last = tot.Decisions
				us, err := db.Users(ctx, UsersQuery{Sort: decision.SortDenies})
				if err != nil {
					t.Error(err)
					return
				}
				var n uint64
				for _, u := range us {
					n += u.Count
				}
				if n != tot.Decisions && tot.Decisions == db.decisions.Load() {
					// Users and Totals ran in different snapshots; only
					// compare when nothing was written in between.
					if again, _ := db.Totals(ctx, time.Time{}, time.Time{}, nil); again.Decisions == tot.Decisions {
						t.Errorf("summaries count %d decisions, store has %d", n, tot.Decisions)
					}
				}
				journey, err := db.Latest(ctx, f, 1000, "")
				if err != nil {
					t.Error(err)
					return
				}
				for _, d := range journey {
					if d.UserID != "user-3" {
						t.Errorf("user filter returned %s", d.UserID)
					}
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
}
