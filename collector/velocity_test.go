package collector

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/internal/policytest"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/store"
)

// TestStoreVelocityIsTheWindow asks every velocity query of the 10-rule
// policy about every stored decision of a generated store, from the
// store's indexes, and checks each answer against the in-memory Window a
// replay uses, fed the same decisions in event-time order.
func TestStoreVelocityIsTheWindow(t *testing.T) {
	n := 3000
	if raceEnabled {
		n = 1200
	}
	p, err := policy.Parse("ten.toml", []byte(policytest.TenRules))
	if err != nil {
		t.Fatal(err)
	}
	s := policytest.NewSynth(9)
	ds := s.Decisions(n)
	// A stretch of attack traffic, so that windows hold many decisions.
	for range 6000 - n {
		var d decision.Decision
		s.Next(&d)
	}
	ds = append(ds, s.Decisions(n/2)...)
	// Most decisions are folded into the indexes (Close folds them), the
	// last few are pending: queries read both.
	path := filepath.Join(t.TempDir(), "v.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	pending := 200
	storeDecisions(t, db, ds[:len(ds)-pending])
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = store.Open(path, store.Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storeDecisions(t, db, ds[len(ds)-pending:])
	ctx := context.Background()
	live := NewStoreVelocity(ctx, db)
	w := policy.NewWindow(p.Queries()...)
	nonzero := map[policy.Query]int{}
	for d, err := range db.Scan(ctx, ds[0].EventTime, ds[len(ds)-1].EventTime.Add(1)) {
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range p.Queries() {
			want, err := w.Answer(q, d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := live.Answer(q, d)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("%s for %s (user %q ip %q at %s): store %d, window %d", q, d.ID, d.UserID, d.IP, d.EventTime, got, want)
			}
			if got > 0 {
				nonzero[q]++
			}
		}
		if err := w.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range p.Queries() {
		if nonzero[q] == 0 {
			t.Errorf("%s is 0 for every decision: the data does not exercise it", q)
		}
	}
}
