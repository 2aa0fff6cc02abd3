package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

var userSorts = []decision.UserSort{decision.SortLastSeen, decision.SortMaxRisk, decision.SortDenies}

// checkRank compares UserPage on the rank index, for every sort and
// limits from 1 to past the number of users, with a recount of all, and
// checks that the index holds exactly the keys of the stored summaries.
func checkRank(t *testing.T, db *DB, all []decision.Decision) {
	t.Helper()
	ctx := context.Background()
	var want []decision.UserSummary
	for _, s := range summarise(all) {
		want = append(want, s)
	}
	for _, by := range userSorts {
		sortSummaries(want, by)
		for _, limit := range []int{1, 2, 3, 7, 50, len(want), len(want) + 3} {
			if limit <= 0 {
				continue
			}
			p, err := db.UserPage(ctx, UsersQuery{Sort: by, Limit: limit})
			if err != nil {
				t.Fatalf("sort %d, limit %d: %v", by, limit, err)
			}
			if p.Total != len(want) {
				t.Errorf("sort %d, limit %d: total %d, recount %d", by, limit, p.Total, len(want))
			}
			if got, w := fmt.Sprintf("%+v", p.Users), fmt.Sprintf("%+v", want[:min(limit, len(want))]); got != w {
				t.Fatalf("sort %d, limit %d:\n%s\nrecount\n%s", by, limit, got, w)
			}
		}
	}
	checkRankIndex(t, db)
}

// checkRankIndex checks that the rank index holds the keys of every stored
// summary and nothing else, and that the users count is right.
func checkRankIndex(t *testing.T, db *DB) {
	t.Helper()
	err := db.view(func(tx *bolt.Tx) error {
		want := map[string]bool{}
		n := 0
		err := tx.Bucket(bktUsers).ForEach(func(k, v []byte) error {
			var s summary
			if err := decodeSummary(string(k), v, &s); err != nil {
				return err
			}
			for r := range numRanks {
				want[string(appendRankKey(nil, r, string(k), &s))] = true
			}
			n++
			return nil
		})
		if err != nil {
			return err
		}
		got := 0
		err = tx.Bucket(bktUserRank).ForEach(func(k, v []byte) error {
			got++
			if !want[string(k)] || len(v) != 0 {
				t.Errorf("rank entry %x -> %x is no summary's", k, v)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if got != len(want) {
			t.Errorf("%d rank entries, want %d", got, len(want))
		}
		if c := readU64(tx.Bucket(bktMeta).Get(metaUsers)); c != uint64(n) {
			t.Errorf("users count %d, %d summaries", c, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRankKeysOrder sorts summaries full of ties (values, last seen, user
// IDs that are prefixes of each other or hold 0x00 and 0xff bytes, NaN,
// infinities and both zeros) by their rank keys, largest first, and by
// Users' comparison: the orders agree, and every key gives its user back.
func TestRankKeysOrder(t *testing.T) {
	users := []string{"a", "a\x00", "a\x00\x00", "a\x01", "ab", "a\xff", "a\xff\x00", "b", "\x00", "\xff", "\xff\xff", "\x01", "user-1", "user-10"}
	risks := []float64{math.NaN(), math.Inf(-1), -1, math.Copysign(0, -1), 0, 5e-324, 0.5, 50, 100, math.Inf(1)}
	lasts := []int64{math.MinInt64, -1, 0, 1, 1_700_000_000_000_000_000, math.MaxInt64}
	rng := rand.New(rand.NewPCG(1, 2))
	type item struct {
		pub decision.UserSummary
		s   summary
	}
	var items []item
	for _, u := range users {
		for range 12 {
			s := summary{count: 1, maxRisk: risks[rng.IntN(len(risks))], denies: uint64(rng.IntN(3)), last: lasts[rng.IntN(len(lasts))]}
			s.first = s.last
			items = append(items, item{s.public(u), s})
		}
	}
	for _, by := range userSorts {
		r, _ := rankOf(by)
		pubs := make([]decision.UserSummary, len(items))
		for i := range items {
			pubs[i] = items[i].pub
		}
		sortSummaries(pubs, by)
		byKey := slices.Clone(items)
		slices.SortStableFunc(byKey, func(a, b item) int {
			return bytes.Compare(appendRankKey(nil, r, b.pub.UserID, &b.s), appendRankKey(nil, r, a.pub.UserID, &a.s))
		})
		// Items equal under the comparison (same user and compared
		// values) may come in either order.
		sorted := func(u decision.UserSummary) string {
			return fmt.Sprintf("%q %v %v %d", u.UserID, u.LastSeen, map[decision.UserSort]any{decision.SortMaxRisk: u.MaxRisk, decision.SortDenies: u.Denies}[by], by)
		}
		for i := range pubs {
			if got, want := sorted(byKey[i].pub), sorted(pubs[i]); got != want {
				t.Fatalf("sort %d, place %d: key order gives\n%s\nUsers' order\n%s", by, i, got, want)
			}
		}
		for _, it := range items {
			k := appendRankKey(nil, r, it.pub.UserID, &it.s)
			if u, err := rankUser(nil, k); err != nil || string(u) != it.pub.UserID {
				t.Errorf("key %x: user %q, %v; want %q", k, u, err, it.pub.UserID)
			}
		}
	}
}

// FuzzRankKey checks on any two summaries that their rank keys order them
// as Users does and that rankUser reads every key back, and that rankUser
// fails cleanly on any bytes.
func FuzzRankKey(f *testing.F) {
	f.Add("a", "a\x00", 1.0, 1.0, uint64(0), uint64(0), int64(5), int64(5), byte(1), []byte{1, 2})
	f.Add("", "\xff", math.Copysign(0, -1), 0.0, uint64(3), uint64(2), int64(-1), int64(0), byte(2), []byte{0xff, 0xfe})
	f.Add("ab", "a", math.NaN(), math.Inf(-1), uint64(1), uint64(1), int64(math.MaxInt64), int64(math.MinInt64), byte(0), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, u1, u2 string, r1, r2 float64, d1, d2 uint64, l1, l2 int64, sort byte, raw []byte) {
		if u, err := rankUser(nil, raw); err == nil {
			// Whatever it accepts ends as the key of the user it read.
			h := rankHead(raw[0])
			if k := appendRankKey(nil, raw[0], string(u), &summary{}); !bytes.Equal(k[h:], raw[h:]) {
				t.Fatalf("rankUser(%x) = %q, whose key ends %x", raw, u, k[h:])
			}
		}
		by := decision.UserSort(sort % 3)
		r, _ := rankOf(by)
		a := summary{count: 1, maxRisk: r1, denies: d1, last: l1}
		b := summary{count: 1, maxRisk: r2, denies: d2, last: l2}
		ka, kb := appendRankKey(nil, r, u1, &a), appendRankKey(nil, r, u2, &b)
		pa, pb := a.public(u1), b.public(u2)
		pubs := []decision.UserSummary{pa, pb}
		sortSummaries(pubs, by)
		want := []decision.UserSummary{pa, pb}
		if bytes.Compare(ka, kb) < 0 {
			want = []decision.UserSummary{pb, pa}
		}
		if !bytes.Equal(ka, kb) && fmt.Sprintf("%+v", pubs) != fmt.Sprintf("%+v", want) {
			t.Fatalf("sort %d: keys %x, %x order\n%+v\nUsers orders\n%+v", by, ka, kb, want, pubs)
		}
		for _, x := range []struct {
			k []byte
			u string
		}{{ka, u1}, {kb, u2}} {
			if got, err := rankUser(nil, x.k); err != nil || string(got) != x.u {
				t.Fatalf("key %x: %q, %v; want %q", x.k, got, err, x.u)
			}
		}
	})
}

// hasPending reports whether db has decisions not yet folded into the
// summaries.
func hasPending(t *testing.T, db *DB) bool {
	t.Helper()
	var pending bool
	err := db.view(func(tx *bolt.Tx) error {
		pending = indexMark(tx) != decKey(tx.Bucket(bktMeta).Get(metaLastKey))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pending
}

// writeRandom writes n random decisions of users users in calls of 1-8,
// the clock moving 0-10 minutes between calls, and returns them.
func writeRandom(t *testing.T, db *DB, clock *fakeClock, g *fakeGen, rng *rand.Rand, from, n int) {
	t.Helper()
	for i := from; i < from+n; {
		k := min(from+n-i, 1+rng.IntN(8))
		rs := make([]Result, k)
		for j := range rs {
			d := g.decision(i + j)
			vary(rng, &d)
			d.ReceivedAt = clock.Now()
			d.EventTime = eventTimeFor(rng, clock.Now())
			if rng.IntN(4) == 0 {
				d.Risk = float64(rng.IntN(3)) * 50 // ties of max risk
			}
			rs[j].Decision = d
		}
		if _, err := db.Complete(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		i += k
		clock.Add(time.Duration(rng.IntN(10*60)) * time.Second)
	}
}

// TestUsersRankMatchRecount reads the top users through the rank index
// with decisions pending, after retention and after reopening, against a
// recount.
func TestUsersRankMatchRecount(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 4, 1, 22, 17, 31, 0, time.UTC)}
			path := filepath.Join(t.TempDir(), "rank.db")
			opts := Options{NoSync: true, Now: clock.Now, MaxDelay: time.Microsecond, mergeEvery: 41, mergeIdle: time.Hour}
			db, err := Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { db.Close() }()
			g := newFakeGen(seed, 60, 20)
			g.errRate = 0.1
			rng := rand.New(rand.NewPCG(seed, 7))
			writeRandom(t, db, clock, g, rng, 0, 1500)
			for !hasPending(t, db) {
				writeRandom(t, db, clock, g, rng, 5000+rng.IntN(1000), 1)
			}
			all := allDecisions(t, db)
			checkRank(t, db, all)

			// Retention by event time: summaries lose counts, maxima
			// and last-seen times, some users go.
			cut := eventOrder(all)[len(all)/2].EventTime.Add(time.Nanosecond)
			if _, err := db.Retain(context.Background(), cut); err != nil {
				t.Fatal(err)
			}
			all = allDecisions(t, db)
			checkRank(t, db, all)
			writeRandom(t, db, clock, g, rng, 10_000, 300)
			all = allDecisions(t, db)
			checkRank(t, db, all)

			db = reopenStore(t, db, path, opts)
			checkRank(t, db, all)
		})
	}
}

// TestUsersRankTies lists users equal in every value but their ID (IDs
// that are prefixes of each other, with 0x00 and 0xff bytes), or in all
// but last seen or the sorted value.
func TestUsersRankTies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ties.db")
	opts := Options{NoSync: true, MaxDelay: time.Microsecond, mergeEvery: 5, mergeIdle: time.Hour}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	at := time.Date(2026, 3, 3, 3, 3, 3, 3, time.UTC)
	var rs []Result
	add := func(user string, ev time.Time, risk float64, act decision.Action) {
		d := decision.Decision{EventID: fmt.Sprint("e", len(rs)), UserID: user, EventTime: ev, Risk: risk, Action: act, Type: "$login"}
		rs = append(rs, Result{Decision: d})
	}
	for _, u := range []string{"a", "a\x00", "a\x00\x00", "a\x01", "ab", "a\xff", "b", "\xff", "\x00", "\x01"} {
		add(u, at, 70, decision.ActionDeny)
	}
	add("late", at.Add(time.Nanosecond), 70, decision.ActionDeny)
	add("early", at.Add(-time.Nanosecond), 70, decision.ActionDeny)
	add("risky", at, 71, decision.ActionChallenge)
	add("denied", at.Add(-time.Hour), 10, decision.ActionDeny)
	add("denied", at.Add(-time.Hour), 10, decision.ActionDeny)
	add("errored", at, 99, decision.ActionError)
	for _, r := range rs {
		if _, err := db.Complete(context.Background(), []Result{r}); err != nil {
			t.Fatal(err)
		}
	}
	all := allDecisions(t, db)
	if !hasPending(t, db) {
		t.Fatal("nothing pending")
	}
	checkRank(t, db, all)
	// Folded in at Close: the same answers from the index alone.
	db = reopenStore(t, db, path, opts)
	checkRank(t, db, all)
}

// TestUsersRankMoves follows a few users whose summaries move up and down
// every sort many times, folded in every few decisions, checking the top
// users after every call.
func TestUsersRankMoves(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	db := openTest(t, Options{NoSync: true, Now: clock.Now, MaxDelay: time.Microsecond, mergeEvery: 3, mergeIdle: time.Hour})
	rng := rand.New(rand.NewPCG(5, 5))
	ctx := context.Background()
	for i := range 400 {
		k := 1 + rng.IntN(3)
		rs := make([]Result, k)
		for j := range rs {
			act := []decision.Action{decision.ActionAllow, decision.ActionDeny, decision.ActionChallenge, decision.ActionError}[rng.IntN(4)]
			rs[j].Decision = decision.Decision{
				EventID: fmt.Sprint("m", i, "-", j), UserID: fmt.Sprint("u", rng.IntN(6)), Type: "$login", Action: act,
				Risk:      float64(rng.IntN(i + 2)),
				EventTime: clock.Now().Add(-time.Duration(rng.IntN(3600)) * time.Second),
			}
		}
		if _, err := db.Complete(ctx, rs); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Duration(rng.IntN(600)) * time.Second)
		if i%10 == 9 {
			checkRank(t, db, allDecisions(t, db))
		}
	}
}

// TestUsersRankDamage: a rank entry that names no summary, or one that
// does not match its summary, is an error, not a wrong answer.
func TestUsersRankDamage(t *testing.T) {
	for _, damage := range []string{"no summary", "other summary"} {
		t.Run(damage, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "d.db")
			db, err := Open(path, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i, u := range []string{"x", "y"} {
				d := decision.Decision{EventID: u, UserID: u, Type: "$login", Action: decision.ActionAllow, Risk: float64(10 * i), EventTime: time.Unix(int64(1e9+i), 0)}
				if _, err := db.Complete(ctx, []Result{{Decision: d}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				users := tx.Bucket(bktUsers)
				if damage == "no summary" {
					return users.Delete([]byte("y"))
				}
				return users.Put([]byte("y"), users.Get([]byte("x")))
			})
			if db, err = Open(path, Options{NoSync: true}); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, by := range userSorts {
				if _, err := db.Users(ctx, UsersQuery{Sort: by, Limit: 2}); !errors.Is(err, errRecord) {
					t.Errorf("sort %d: %v, want a malformed record", by, err)
				}
			}
		})
	}
}

// rankStore writes a store of n random decisions at path and closes it.
func rankStore(t *testing.T, path string, n int) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	db, err := Open(path, Options{NoSync: true, Now: clock.Now, MaxDelay: time.Microsecond, mergeEvery: 97})
	if err != nil {
		t.Fatal(err)
	}
	writeRandom(t, db, clock, newFakeGen(11, 120, 30), rand.New(rand.NewPCG(11, 1)), 0, n)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// toSchema6 makes a current file look like one schema 6 wrote: no rank
// index, no users count.
func toSchema6(t *testing.T, path string) {
	t.Helper()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bktUserRank); err != nil {
			return err
		}
		meta := tx.Bucket(bktMeta)
		if err := meta.Delete(metaUsers); err != nil {
			return err
		}
		return meta.Put(metaSchema, u64(6))
	})
}

// rankDump is what the rank migration writes: the rank index, the users
// count, and the summaries it reads.
func rankDump(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	d := dumpBuckets(t, path)
	return map[string]map[string]string{
		"rank":  d[string(bktUserRank)],
		"users": d[string(bktUsers)],
		"count": {"n": d[string(bktMeta)][string(metaUsers)], "schema": d[string(bktMeta)][string(metaSchema)], "migration": d[string(bktMeta)][string(metaMigration)]},
	}
}

// TestMigrateUserRank builds the rank index of a schema-6 file: it is
// exactly the index the writer kept as the decisions came, also when the
// migration stops after any chunk and goes on at the next Open.
func TestMigrateUserRank(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.db")
	rankStore(t, orig, 2000)
	want := rankDump(t, orig)
	if len(want["rank"]) < 300 {
		t.Fatalf("only %d rank entries", len(want["rank"]))
	}
	toSchema6(t, orig)
	input, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{NoSync: true, migrateTxEntries: 9}
	chunks := 0
	opts.testMigrateHook = func(string, int) error { chunks++; return nil }
	path := filepath.Join(dir, "m.db")
	if err := os.WriteFile(path, input, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkRankIndex(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sameBuckets(want, rankDump(t, path)); err != nil {
		t.Fatalf("migrated: %v", err)
	}
	if chunks < 10 {
		t.Fatalf("%d chunks, want many", chunks)
	}
	errStop := errors.New("stop here")
	for _, stop := range []int{1, 2, chunks / 2, chunks - 1} {
		for _, f := range []string{path, path + ".bak-6"} {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(path, input, 0o600); err != nil {
			t.Fatal(err)
		}
		opts.testMigrateHook = func(_ string, chunk int) error {
			if chunk == stop {
				return errStop
			}
			return nil
		}
		if _, err := Open(path, opts); !errors.Is(err, errStop) {
			t.Fatalf("Open stopped at chunk %d: %v", stop, err)
		}
		opts.testMigrateHook = nil
		db, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if err := sameBuckets(want, rankDump(t, path)); err != nil {
			t.Errorf("stopped after chunk %d: %v", stop, err)
		}
	}
}

// TestUsersRankFailedCommits writes and retains while some commits fail
// (decisions folded into the summaries in them, users going in them):
// nothing of a failed transaction stays in the rank index or the users
// count, and what the next commits fold in is exact, before and after
// reopening.
func TestUsersRankFailedCommits(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "fail.db")
	var failing commitSwitch
	opts := Options{NoSync: true, Now: clock.Now, MaxDelay: time.Microsecond, mergeEvery: 13, mergeIdle: time.Hour,
		FailCommit: failing.fail}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	ctx := context.Background()
	g := newFakeGen(9, 50, 20)
	rng := rand.New(rand.NewPCG(9, 9))
	failed := 0
	for i := 0; i < 1200; {
		rs := make([]Result, 1+rng.IntN(8))
		for j := range rs {
			d := g.decision(i + j)
			vary(rng, &d)
			d.EventTime = eventTimeFor(rng, clock.Now())
			rs[j].Decision = d
		}
		fail := rng.IntN(4) == 0
		failing.set(fail)
		_, err := db.Complete(ctx, rs)
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
		if i%200 < 8 {
			failing.set(false)
			checkRank(t, db, allDecisions(t, db))
		}
	}
	failing.set(false)
	if failed < 20 {
		t.Fatalf("only %d failed commits", failed)
	}
	all := allDecisions(t, db)
	checkRank(t, db, all)

	cut := eventOrder(all)[len(all)/2].EventTime.Add(time.Nanosecond)
	failing.set(true)
	if _, err := db.Retain(ctx, cut); !errors.Is(err, errInjected) {
		t.Fatalf("retention: %v, want the injected error", err)
	}
	failing.set(false)
	checkRank(t, db, all)
	if _, err := db.Retain(ctx, cut); err != nil {
		t.Fatal(err)
	}
	all = allDecisions(t, db)
	checkRank(t, db, all)
	db = reopenStore(t, db, path, opts)
	checkRank(t, db, all)
}

// TestRankOpOrder checks that the rank batch orders keys as bbolt does
// (bytes.Compare), also for keys shorter than the 16-byte heads it
// sorts by first and keys that differ only past them or by trailing
// zeros: the comparison of two ops and the radix sort of many.
func TestRankOpOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	key := func() []byte {
		k := make([]byte, r.IntN(24))
		for i := range k {
			// Few distinct bytes, zeros among them, so that heads tie.
			k[i] = []byte{0, 1, 0xff}[r.IntN(3)]
		}
		return k
	}
	for range 100_000 {
		a, b := key(), key()
		if got, want := compareRankOps(newRankOp(a, false), newRankOp(b, true)), bytes.Compare(a, b); got != want {
			t.Fatalf("compare %x with %x = %d, bytes.Compare = %d", a, b, got, want)
		}
	}
	// The radix sort, with heads that differ in every byte and heads
	// that tie, over slices of every small length and some long ones.
	var tmp []rankOp
	for n := range 300 {
		if n > 40 {
			n *= 37
		}
		ops := make([]rankOp, n)
		keys := make([][]byte, n)
		for i := range ops {
			keys[i] = key()
			if r.IntN(3) == 0 {
				keys[i] = binary.BigEndian.AppendUint64(keys[i], r.Uint64())
			}
			ops[i] = newRankOp(keys[i], false)
		}
		tmp = radixRankOps(ops, tmp)
		slices.SortFunc(keys, bytes.Compare)
		for i := range ops {
			if !bytes.Equal(ops[i].key, keys[i]) {
				t.Fatalf("%d ops: radix sort puts %x at %d, want %x", n, ops[i].key, i, keys[i])
			}
		}
	}
}
