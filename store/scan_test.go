package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestScanFollowsEventTime stores decisions whose event times are out of
// arrival order, over more than one chunk, and checks that Scan yields
// exactly what Range pages give, in the same order, within its bounds.
func TestScanFollowsEventTime(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	g := newFakeGen(7, 200, 50)
	ctx := context.Background()
	base := time.Unix(1_700_000_000, 0).UTC()
	n := scanChunk*2 + 100
	var rs []Result
	for i := range n {
		d := g.decision(i)
		// Event times jump back and forth, and some collide.
		d.EventTime = base.Add(time.Duration((i*7919)%n/2) * time.Second)
		rs = append(rs, Result{Decision: d})
		if len(rs) == 1000 || i == n-1 {
			if _, err := db.Complete(ctx, rs); err != nil {
				t.Fatal(err)
			}
			rs = rs[:0]
		}
	}
	all := allDecisions(t, db)
	for _, c := range []struct{ from, to time.Time }{
		{},
		{from: base.Add(1000 * time.Second)},
		{to: base.Add(3000 * time.Second)},
		{from: base.Add(100 * time.Second), to: base.Add(2500 * time.Second)},
	} {
		var want []string
		for _, d := range all {
			if (c.from.IsZero() || !d.EventTime.Before(c.from)) && (c.to.IsZero() || d.EventTime.Before(c.to)) {
				want = append(want, d.ID)
			}
		}
		var got []string
		for d, err := range db.Scan(ctx, c.from, c.to) {
			if err != nil {
				t.Fatal(err)
			}
			if d.Request != nil || d.Response != nil {
				t.Fatalf("decision %s comes with its raw bytes", d.ID)
			}
			got = append(got, d.ID)
		}
		if len(got) != len(want) {
			t.Fatalf("[%s, %s): %d decisions, want %d", c.from, c.to, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("[%s, %s): decision %d is %s, want %s", c.from, c.to, i, got[i], want[i])
			}
		}
	}

	// Stopping early stops; a cancelled context ends the scan with its error.
	seen := 0
	for range db.Scan(ctx, time.Time{}, time.Time{}) {
		if seen++; seen == 10 {
			break
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var err error
	for _, e := range db.Scan(cctx, time.Time{}, time.Time{}) {
		err = e
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled scan: %v", err)
	}
}
