package collector

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/store"
)

// The health names the database and reports the newest rejected inputs
// with their positions from the store, so they are there after a restart.
func TestHealthReadsTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rw.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var rejects []store.Rejected
	for i, pos := range []string{"offset 0", "offset 512", "offset 9120", "line 7", "item 3"} {
		rejects = append(rejects, store.Rejected{Time: at.Add(time.Duration(i) * time.Second), Source: "file:/var/log/app.ndjson", Position: pos, Reason: "not JSON"})
	}
	for range 3 { // more than Health reports
		rejects = append(rejects, rejects...)
	}
	if err := db.Reject(context.Background(), rejects); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := NewStoreReader(db, nil).Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h.StorePath != path {
		t.Errorf("store path %q, want %q", h.StorePath, path)
	}
	if len(h.Rejects) != healthRejects || h.Rejected != uint64(len(rejects)) {
		t.Fatalf("%d rejects reported of %d counted, want the newest %d of %d", len(h.Rejects), h.Rejected, healthRejects, len(rejects))
	}
	if r := h.Rejects[0]; r.Position != "item 3" || r.Reason != "not JSON" || r.Source != "file:/var/log/app.ndjson" || !r.Time.Equal(at.Add(4*time.Second)) {
		t.Errorf("newest reject %+v", r)
	}
}
