package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// txDecisions decodes every decision of tx's snapshot, in key order.
func txDecisions(tx *bolt.Tx) ([]decision.Decision, error) {
	var all []decision.Decision
	codec := txCodec(tx)
	err := tx.Bucket(bktDecisions).ForEach(func(k, v []byte) error {
		var d decision.Decision
		if err := decodeDecision(k, v, &d, codec); err != nil {
			return err
		}
		all = append(all, d)
		return nil
	})
	return all, err
}

// recountPage answers q by brute force from the decisions all.
func recountPage(all []decision.Decision, q UsersQuery) UserPage {
	onIP := map[string]bool{}
	for _, d := range all {
		if q.IP != "" && d.IP == q.IP {
			onIP[d.UserID] = true
		}
	}
	search := strings.ToLower(q.Search)
	var out []decision.UserSummary
	for user, s := range summarise(all) {
		if q.IP != "" && !onIP[user] {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(s.UserID), search) &&
			!strings.Contains(strings.ToLower(s.Email), search) && !strings.Contains(strings.ToLower(s.LastIP), search) {
			continue
		}
		out = append(out, s)
	}
	sortSummaries(out, q.Sort)
	p := UserPage{Total: len(out), Users: out}
	if q.Limit > 0 && len(out) > q.Limit {
		p.Users = out[:q.Limit]
	}
	return p
}

// checkPageTx compares UserPage for q in tx with a recount of tx's own
// decisions.
func checkPageTx(db *DB, tx *bolt.Tx, q UsersQuery) error {
	var got UserPage
	if err := db.userPage(context.Background(), tx, q, &got); err != nil {
		return err
	}
	all, err := txDecisions(tx)
	if err != nil {
		return err
	}
	want := recountPage(all, q)
	if got.Total != want.Total {
		return fmt.Errorf("query %+v: total %d, recount %d", q, got.Total, want.Total)
	}
	if g, w := fmt.Sprintf("%+v", got.Users), fmt.Sprintf("%+v", want.Users); g != w {
		return fmt.Errorf("query %+v:\n%s\nrecount\n%s", q, g, w)
	}
	return nil
}

// randomQuery returns a users query of any sort, limit, search and IP
// filter, the search and IP drawn from all.
func randomQuery(rng *rand.Rand, all []decision.Decision) UsersQuery {
	q := UsersQuery{Sort: userSorts[rng.IntN(len(userSorts))]}
	switch rng.IntN(4) {
	case 0:
	case 1:
		q.Limit = 1 + rng.IntN(5)
	default:
		q.Limit = 1 + rng.IntN(80)
	}
	if len(all) > 0 {
		d := all[rng.IntN(len(all))]
		switch rng.IntN(6) {
		case 0:
			q.IP = d.IP
		case 1:
			if d.UserID != "" {
				q.Search = strings.ToUpper(d.UserID[len(d.UserID)/2:])
			}
		case 2:
			q.Search = "10.0.1"
		}
	}
	return q
}

// TestUsersPendingSnapshotRecount runs queries of every sort, limit,
// search and IP filter while a writer stores decisions (some commits
// failing, merges every few dozen decisions, idle merges, a retention):
// each answer must equal a recount of the decisions in its own snapshot,
// whichever folds other readers left in the cache.
func TestUsersPendingSnapshotRecount(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)}
	var failing commitSwitch
	path := filepath.Join(t.TempDir(), "pend.db")
	opts := Options{NoSync: true, Now: clock.Now, MaxDelay: time.Microsecond, mergeEvery: 37, mergeIdle: 3 * time.Millisecond,
		FailCommit: failing.fail}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	ctx := context.Background()
	total := 1000
	if testing.Short() {
		total = 400
	}
	var done atomic.Bool
	var queries atomic.Int64
	// Retention corrects some summaries (MaxRisk, the latest values) in
	// transactions after those that delete: no query runs in between.
	var retaining sync.RWMutex
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 77))
			for !done.Load() {
				retaining.RLock()
				err := db.view(func(tx *bolt.Tx) error {
					all, err := txDecisions(tx)
					if err != nil {
						return err
					}
					return checkPageTx(db, tx, randomQuery(rng, all))
				})
				retaining.RUnlock()
				if err != nil {
					errs <- err
					return
				}
				queries.Add(1)
			}
		})
	}
	g := newFakeGen(31, 45, 15)
	rng := rand.New(rand.NewPCG(31, 3))
	failed := 0
	for i := 0; i < total; {
		rs := make([]Result, 1+rng.IntN(6))
		for j := range rs {
			d := g.decision(i + j)
			vary(rng, &d)
			d.ReceivedAt = clock.Now()
			d.EventTime = eventTimeFor(rng, clock.Now())
			rs[j].Decision = d
		}
		fail := rng.IntN(5) == 0
		failing.set(fail)
		_, err := db.Complete(ctx, rs)
		failing.set(false)
		switch {
		case fail && !errors.Is(err, errInjected):
			t.Fatalf("decision %d: %v, want the injected error", i, err)
		case fail:
			failed++
		case err != nil:
			t.Fatal(err)
		}
		i += len(rs)
		clock.Add(time.Duration(rng.IntN(300)) * time.Second)
		if i >= total/2 && i-len(rs) < total/2 {
			all := allDecisions(t, db)
			// At a day's start, so that the IP index stays exact.
			cut := eventOrder(all)[len(all)/3].EventTime.Truncate(24 * time.Hour)
			retaining.Lock()
			_, err := db.Retain(ctx, cut)
			retaining.Unlock()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if failed == 0 || queries.Load() < 10 {
		t.Fatalf("%d failed commits, %d queries: the test did not exercise the cache", failed, queries.Load())
	}
	t.Logf("%d queries, %d failed commits", queries.Load(), failed)
	db = reopenStore(t, db, path, opts)
	checkFolds(t, db, rng)
}

// checkFolds checks, in one snapshot, that the cache's fold equals a fold
// built from nothing, that the cache keeps only folds of that snapshot's
// mark and no more than pendFolds, and that queries equal a recount.
func checkFolds(t *testing.T, db *DB, rng *rand.Rand) {
	t.Helper()
	err := db.view(func(tx *bolt.Tx) error {
		got, err := db.pend.fold(context.Background(), tx)
		if err != nil {
			return err
		}
		mark := indexMark(tx)
		want, err := (&pendFold{mark: mark, upTo: mark}).extend(context.Background(), tx)
		if err != nil {
			return err
		}
		if err := sameFold(got, want); err != nil {
			return err
		}
		db.pend.mu.Lock()
		n := len(db.pend.folds)
		for _, f := range db.pend.folds {
			if f.mark != mark {
				err = fmt.Errorf("cache keeps a fold of mark %s beside %s", f.mark.id(), mark.id())
			}
		}
		db.pend.mu.Unlock()
		if n > pendFolds {
			return fmt.Errorf("cache keeps %d folds", n)
		}
		if err != nil {
			return err
		}
		all, err := txDecisions(tx)
		if err != nil {
			return err
		}
		for range 8 {
			if err := checkPageTx(db, tx, randomQuery(rng, all)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sameFold reports how folds a and b differ (IPs compared as sets).
func sameFold(a, b *pendFold) error {
	if a.mark != b.mark || a.upTo != b.upTo {
		return fmt.Errorf("fold of %s up to %s, want %s up to %s", a.mark.id(), a.upTo.id(), b.mark.id(), b.upTo.id())
	}
	names := func(f *pendFold) []string {
		var out []string
		for _, u := range f.sorted {
			if f.users[u.user] != u {
				out = append(out, "(not in the map) "+u.user)
			}
			out = append(out, u.user)
		}
		return out
	}
	if an, bn := names(a), names(b); !slices.Equal(an, bn) {
		return fmt.Errorf("fold lists %q, want %q", an, bn)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(a.users)), names(a)) {
		return fmt.Errorf("fold lists %q, not its users", names(a))
	}
	for user, u := range a.users {
		w := b.users[user]
		if u.user != user {
			return fmt.Errorf("record of %q under %q", u.user, user)
		}
		if u.add != w.add {
			return fmt.Errorf("user %q: pending summary %+v, want %+v", user, u.add, w.add)
		}
		ips := func(l []string) []string { return slices.Compact(slices.Sorted(slices.Values(l))) }
		if g, w := ips(u.ips), ips(w.ips); !slices.Equal(g, w) {
			return fmt.Errorf("user %q: IPs %q, want %q", user, g, w)
		}
	}
	return nil
}

// TestUsersPendingFoldSteps checks the cached fold against one built from
// nothing after every kind of step: new decisions, failed commits, a
// merge, retention and a reopen.
func TestUsersPendingFoldSteps(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)}
	var failing commitSwitch
	path := filepath.Join(t.TempDir(), "steps.db")
	opts := Options{NoSync: true, Now: clock.Now, MaxDelay: time.Microsecond, mergeEvery: 1 << 20, mergeIdle: time.Hour,
		FailCommit: failing.fail}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	ctx := context.Background()
	g := newFakeGen(5, 30, 12)
	rng := rand.New(rand.NewPCG(5, 5))
	next := 0
	write := func(n int, fail bool) {
		t.Helper()
		rs := make([]Result, n)
		for j := range rs {
			d := g.decision(next)
			next++
			vary(rng, &d)
			d.ReceivedAt = clock.Now()
			d.EventTime = eventTimeFor(rng, clock.Now())
			rs[j].Decision = d
		}
		failing.set(fail)
		_, err := db.Complete(ctx, rs)
		failing.set(false)
		if fail != errors.Is(err, errInjected) || (!fail && err != nil) {
			t.Fatalf("write (failing %t): %v", fail, err)
		}
		clock.Add(time.Duration(rng.IntN(600)) * time.Second)
	}
	checkFolds(t, db, rng) // an empty store
	for step := range 40 {
		write(1+rng.IntN(30), step%4 == 3)
		checkFolds(t, db, rng)
	}
	// A merge (Retain folds everything in first): the folds of the old
	// mark go, and the next ones start from the new mark.
	if _, err := db.Retain(ctx, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if !hasPending(t, db) {
		db.pend.mu.Lock()
		n := len(db.pend.folds)
		db.pend.mu.Unlock()
		if n != 0 {
			t.Fatalf("%d folds of the old mark kept after the merge", n)
		}
	}
	checkFolds(t, db, rng)
	for step := range 10 {
		write(1+rng.IntN(30), step%3 == 2)
		checkFolds(t, db, rng)
	}
	all := allDecisions(t, db)
	if _, err := db.Retain(ctx, eventOrder(all)[len(all)/2].EventTime.Truncate(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	write(20, false)
	checkFolds(t, db, rng)
	db = reopenStore(t, db, path, opts)
	checkFolds(t, db, rng)
	write(20, false)
	checkFolds(t, db, rng)
}

// TestUsersPendingNoStaleOrFutureFold plants folds the cache must not
// serve: one of a later snapshot than the reader's (a fold up to a key the
// reader does not have, holding a user it does not have) and one of an
// earlier index mark; and it checks that a fold older than the snapshot
// is extended, not served as it is.
func TestUsersPendingNoStaleOrFutureFold(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)}
	db := openTest(t, Options{NoSync: true, Now: clock.Now, MaxDelay: time.Microsecond, mergeEvery: 1 << 20, mergeIdle: time.Hour})
	ctx := context.Background()
	g := newFakeGen(8, 20, 10)
	rng := rand.New(rand.NewPCG(8, 8))
	writeRandom(t, db, clock, g, rng, 0, 200)
	q := UsersQuery{Sort: decision.SortLastSeen, Limit: 1000}
	check := func(what string) {
		t.Helper()
		err := db.view(func(tx *bolt.Tx) error { return checkPageTx(db, tx, q) })
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	check("first query")
	newest := func() *pendFold {
		db.pend.mu.Lock()
		defer db.pend.mu.Unlock()
		if len(db.pend.folds) == 0 {
			t.Fatal("no fold cached")
		}
		return db.pend.folds[len(db.pend.folds)-1]
	}
	// plant returns f with a user no decision has, up to key upTo.
	plant := func(f *pendFold, mark, upTo decKey) *pendFold {
		p := &pendFold{mark: mark, upTo: upTo, users: maps.Clone(f.users)}
		ghost := &pendUser{user: "zz-ghost", ips: []string{"192.0.2.1"}}
		ghost.add.add(clock.Now().UnixNano(), &userFields{ip: "192.0.2.1", action: decision.ActionDeny, risk: 99})
		p.users[ghost.user] = ghost
		p.sorted = append(slices.Clone(f.sorted), ghost)
		return p
	}

	// A fold of the same mark up to a key after the snapshot's last one,
	// as a reader of a later snapshot leaves it: not for this snapshot.
	f := newest()
	future := makeDecKey(f.upTo.nanos()+int64(1000*time.Hour), 0)
	db.pend.put(plant(f, f.mark, future))
	check("a fold from the future cached")

	// The fold of the first query is stale once decisions are added: it
	// must be extended.
	writeRandom(t, db, clock, g, rng, 1000, 30)
	check("new decisions after the cached fold")
	if got := newest().upTo; got != future {
		t.Fatalf("newest fold up to %s, want the planted %s", got.id(), future.id())
	}

	// A merge moves the mark: the writer drops the folds of the old
	// one, and a fold of it planted afterwards is not used.
	f = newest()
	if _, err := db.Retain(ctx, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	db.pend.mu.Lock()
	n := len(db.pend.folds)
	db.pend.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d folds kept after a merge", n)
	}
	writeRandom(t, db, clock, g, rng, 2000, 30)
	db.pend.put(plant(f, f.mark, f.mark))
	check("a fold of the old mark cached")
}
