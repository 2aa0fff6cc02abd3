package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// TestFailCommitFailsWholeGroupsAndRecovers: with Options.FailCommit
// failing, a write returns the injected error and stores nothing; once it
// stops failing, the same write succeeds and the store is consistent.
func TestFailCommitFailsWholeGroupsAndRecovers(t *testing.T) {
	full := errors.New("no space left on device")
	var failing atomic.Bool
	db, err := Open(filepath.Join(t.TempDir(), "rw.db"), Options{NoSync: true, FailCommit: func() error {
		if failing.Load() {
			return full
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	fresh, err := db.Enqueue(ctx, []InboxEvent{{EventID: "e1", Source: "t", ReceivedAt: time.Now(), Body: []byte(`{"type":"$login"}`)}}, nil, nil)
	if err != nil || len(fresh) != 1 || !fresh[0] {
		t.Fatalf("enqueue: %v %v", fresh, err)
	}
	items, err := db.InboxNext(ctx, 0, 10)
	if err != nil || len(items) != 1 {
		t.Fatalf("inbox: %v %v", items, err)
	}
	res := []Result{{Seq: items[0].Seq, Decision: decision.Decision{EventID: "e1", Type: "$login", Action: decision.ActionAllow}}}

	failing.Store(true)
	for range 3 {
		if _, err := db.Complete(ctx, res); !errors.Is(err, full) {
			t.Fatalf("Complete while failing: %v, want the injected error", err)
		}
	}
	if db.InboxDepth() != 1 {
		t.Errorf("inbox depth %d after failed commits, want 1", db.InboxDepth())
	}
	if info, _ := db.Info(); info.Decisions != 0 {
		t.Errorf("%d decisions stored by failed commits", info.Decisions)
	}

	failing.Store(false)
	if _, err := db.Complete(ctx, res); err != nil {
		t.Fatalf("Complete after recovery: %v", err)
	}
	if info, _ := db.Info(); info.Decisions != 1 || db.InboxDepth() != 0 {
		t.Errorf("after recovery: %d decisions, inbox %d; want 1, 0", info.Decisions, db.InboxDepth())
	}
	if ds, err := db.Latest(ctx, nil, 10, ""); err != nil || len(ds) != 1 || ds[0].EventID != "e1" {
		t.Errorf("latest after recovery: %v %v", ds, err)
	}
}
