package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// buildStore writes n synthetic decisions (some with inbox events and
// rejects) into a new store at path and closes it.
func buildStore(t *testing.T, path string, n int) {
	t.Helper()
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	g := newFakeGen(11, 300, 100)
	ctx := context.Background()
	var rs []Result
	for i := range n {
		rs = append(rs, Result{Decision: g.decision(i)})
		if len(rs) == 500 || i == n-1 {
			if _, err := db.Complete(ctx, rs); err != nil {
				t.Fatal(err)
			}
			rs = rs[:0]
		}
	}
	if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: "queued", Body: []byte("{}")}}, []Rejected{{Reason: "not JSON", Head: []byte("garbage")}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// exerciseStore runs every query once and returns how many failed with
// ErrCorrupt. It must not panic; errors are fine on a damaged file.
func exerciseStore(db *DB) (corrupt int) {
	ctx := context.Background()
	now := time.Now()
	f, _ := decision.ParseFilter("user:user-7 risk>=10", now)
	errs := []error{
		second(db.Latest(ctx, nil, 50, "")),
		second(db.Latest(ctx, f, 50, "")),
		second(db.Range(ctx, RangeQuery{Limit: 5000})),
		second(db.UserDecisions(ctx, "user-3", 0)),
		second(db.Users(ctx, UsersQuery{})),
		second(db.Users(ctx, UsersQuery{IP: "10.0.0.1"})),
		second(db.Rates(ctx, now.Add(-time.Hour), now)),
		second(db.Histogram(ctx, decision.ScoreRisk, time.Time{}, time.Time{})),
		second(db.WhatIf(ctx, decision.Thresholds{Score: decision.ScoreBot, Challenge: 50, Deny: 80}, time.Time{}, time.Time{})),
		second(db.Flips(ctx, decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 80}, time.Time{}, time.Time{}, 100)),
		second(db.Totals(ctx, time.Time{}, time.Time{}, nil)),
		second(db.Totals(ctx, time.Time{}, time.Time{}, f)),
		second(db.InboxNext(ctx, 0, 100)),
		second(db.RecentRejected(ctx, 10)),
		second(db.Checkpoints()),
		second(db.Info()),
		second(db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: "after-damage", UserID: "user-1", Action: decision.ActionAllow}}})),
		second(db.Retain(ctx, now.Add(-time.Hour))),
	}
	for _, err := range errs {
		if errors.Is(err, ErrCorrupt) {
			corrupt++
		}
	}
	return corrupt
}

// second returns the error of a two-result call.
func second[T any](_ T, err error) error { return err }

// TestDamagedFiles damages a real store (truncation, overwritten pages) and
// checks that Open and every query return errors instead of crashing.
func TestDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.db")
	buildStore(t, orig, 3000)
	data, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	rng := rand.New(rand.NewPCG(5, 9))
	type damage struct {
		name string
		edit func([]byte) []byte
	}
	cases := []damage{
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"truncated to one page", func(b []byte) []byte { return b[:page] }},
		{"truncated mid-page", func(b []byte) []byte { return b[:3*page+100] }},
		{"meta pages zeroed", func(b []byte) []byte { clear(b[:2*page]); return b }},
		{"first meta page garbled", func(b []byte) []byte {
			for i := 16; i < 80; i++ {
				b[i] ^= 0x5a
			}
			return b
		}},
	}
	for i := range 8 {
		// Overwrite a run of data pages with random bytes.
		cases = append(cases, damage{"random pages " + string(rune('a'+i)), func(b []byte) []byte {
			pages := len(b) / page
			p := 2 + rng.IntN(pages-2)
			n := 1 + rng.IntN(4)
			for j := p * page; j < min(len(b), (p+n)*page); j++ {
				b[j] = byte(rng.IntN(256))
			}
			return b
		}})
		cases = append(cases, damage{"flipped bytes " + string(rune('a'+i)), func(b []byte) []byte {
			for range 64 {
				b[2*page+rng.IntN(len(b)-2*page)] ^= byte(1 + rng.IntN(255))
			}
			return b
		}})
	}
	opened, queryCorrupt := 0, 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "damaged.db")
			if err := os.WriteFile(path, c.edit(append([]byte(nil), data...)), 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path, Options{Timeout: 100 * time.Millisecond})
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("Open: %v, want ErrCorrupt", err)
				}
				return
			}
			opened++
			queryCorrupt += exerciseStore(db)
			_ = db.Close()
		})
	}
	t.Logf("%d of %d damaged files opened; their queries reported ErrCorrupt %d times", opened, len(cases), queryCorrupt)
	if opened == 0 || queryCorrupt == 0 {
		t.Error("the damage cases no longer reach the query-time recovery; change the seed or the damage")
	}
}
