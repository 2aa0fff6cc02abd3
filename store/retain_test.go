package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

func TestRetention(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "r.db")
	opts := Options{NoSync: true, Now: clock.Now, MaxDelay: time.Microsecond, mergeEvery: 53}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	early, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: "early", UserID: "early-user", IP: "192.0.2.1", Type: "$login", Action: decision.ActionDeny, Risk: 99}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Reject(ctx, []Rejected{{Time: clock.Now(), Reason: "old"}}); err != nil {
		t.Fatal(err)
	}
	clock.Add(48 * time.Hour)
	g := newFakeGen(9, 30, 10)
	g.errRate = 0.1
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 1500; i += 10 {
		var rs []Result
		for j := range 10 {
			d := g.decision(i + j)
			vary(rng, &d)
			d.ReceivedAt = clock.Now()
			d.EventTime = eventTimeFor(rng, clock.Now())
			if rng.IntN(50) == 0 {
				d.Risk = 100 // maxima that retention may delete
			}
			rs = append(rs, Result{Decision: d})
		}
		if _, err := db.Complete(ctx, rs); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Duration(rng.IntN(10*60)) * time.Second)
	}
	if err := db.Reject(ctx, []Rejected{{Time: clock.Now(), Reason: "new"}}); err != nil {
		t.Fatal(err)
	}
	// Retention goes by event time: the cut falls among decisions
	// that arrived in another order.
	all := allDecisions(t, db)
	cut := all[len(all)*2/5].EventTime.Add(time.Nanosecond)
	var keep []decision.Decision
	for _, d := range arrivalOrder(slices.Clone(all)) {
		if !d.EventTime.Before(cut) {
			keep = append(keep, d)
		}
	}
	histBefore, _ := db.Histogram(ctx, decision.ScoreRisk, time.Time{}, time.Time{})
	totBefore, _ := db.Totals(ctx, time.Time{}, time.Time{}, nil)

	deleted, err := db.Retain(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if deleted != len(all)-len(keep) {
		t.Errorf("Retain deleted %d, want %d", deleted, len(all)-len(keep))
	}
	if got := allDecisions(t, db); fmt.Sprint(ids(got)) != fmt.Sprint(ids(eventOrder(keep))) {
		t.Errorf("%d decisions left, want %d", len(got), len(keep))
	}
	histAfter, _ := db.Histogram(ctx, decision.ScoreRisk, time.Time{}, time.Time{})
	totAfter, _ := db.Totals(ctx, time.Time{}, time.Time{}, nil)
	if histAfter.Counts != histBefore.Counts || totAfter.Decisions != totBefore.Decisions {
		t.Errorf("retention changed the rollups: %d -> %d decisions", totBefore.Decisions, totAfter.Decisions)
	}
	want := summarise(keep)
	users, err := db.Users(ctx, UsersQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != len(want) {
		t.Errorf("%d users after retention, want %d", len(users), len(want))
	}
	for _, u := range users {
		if w := want[u.UserID]; fmt.Sprintf("%+v", u) != fmt.Sprintf("%+v", w) {
			t.Errorf("summary after retention\n%+v\nrecount\n%+v", u, w)
		}
	}
	if _, err := db.Get(ctx, early[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a retained decision: %v", err)
	}
	if onIP, _ := db.Users(ctx, UsersQuery{IP: "192.0.2.1"}); len(onIP) != 0 {
		t.Errorf("IP seen only before the cut still lists %+v", onIP)
	}
	if fresh, err := db.Enqueue(ctx, []InboxEvent{{EventID: "early"}}, nil, nil); err != nil || !fresh[0] {
		t.Errorf("event ID of a retained decision still indexed: %v %v", fresh, err)
	}
	rj, _ := db.RecentRejected(ctx, 10)
	if len(rj) != 1 || rj[0].Reason != "new" {
		t.Errorf("rejected records after retention: %+v", rj)
	}
	if in, _ := db.Info(); in.Rejected != 2 || in.Decisions != uint64(len(keep)) {
		t.Errorf("Info after retention: %+v", in)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Index entries of deleted decisions are gone (Close folded in the
	// pending ones, so the index covers every decision).
	withUser, dims := 0, 0
	for _, d := range keep {
		if d.UserID != "" {
			withUser++
		}
		for _, k := range DimKinds {
			if k.Value(&d) != "" {
				dims++
			}
		}
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.View(func(tx *bolt.Tx) error {
		users, live := liveDimEntries(t, tx)
		if users != withUser {
			t.Errorf("user index has %d live entries, want %d", users, withUser)
		}
		if n := tx.Bucket(bktEvents).Stats().KeyN; n != len(keep)+1 {
			t.Errorf("event index has %d entries, want %d", n, len(keep)+1)
		}
		if n := tx.Bucket(bktByTime).Stats().KeyN; n != len(keep) {
			t.Errorf("time index has %d entries, want %d", n, len(keep))
		}
		if live != dims {
			t.Errorf("dimension index has %d live entries, want %d", live, dims)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRetainCancelled(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Retain(ctx, time.Now()); !errors.Is(err, context.Canceled) {
		t.Errorf("Retain with a cancelled context: %v", err)
	}
}

func TestInfoAndCompact(t *testing.T) {
	db, all, _ := randomStore(t, 11, 800, Options{})
	ctx := context.Background()
	in, err := db.Info()
	if err != nil {
		t.Fatal(err)
	}
	if in.Decisions != uint64(len(all)) || in.Size <= 0 || in.Inbox != 0 {
		t.Errorf("Info = %+v", in)
	}
	dst := filepath.Join(t.TempDir(), "compact.db")
	if err := db.Compact(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(ctx, dst); err == nil {
		t.Error("Compact overwrote an existing file")
	}
	st, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > in.Size {
		t.Errorf("compacted copy (%d bytes) is larger than the store (%d)", st.Size(), in.Size)
	}
	cp, err := Open(dst, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	for _, q := range []func(*DB) (string, error){
		func(d *DB) (string, error) { l, err := d.Latest(ctx, nil, 50, ""); return fmt.Sprint(ids(l)), err },
		func(d *DB) (string, error) { u, err := d.Users(ctx, UsersQuery{}); return fmt.Sprint(u), err },
		func(d *DB) (string, error) {
			tot, err := d.Totals(ctx, time.Time{}, time.Time{}, nil)
			return fmt.Sprint(tot), err
		},
	} {
		a, err1 := q(db)
		b, err2 := q(cp)
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("compacted copy answers differently (%v, %v)", err1, err2)
		}
	}
	if err := cp.Close(); err != nil {
		t.Fatal(err)
	}
	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.Compact(ctxDone, filepath.Join(t.TempDir(), "x.db")); !errors.Is(err, context.Canceled) {
		t.Errorf("Compact with a cancelled context: %v", err)
	}
}
