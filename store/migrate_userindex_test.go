package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// TestMigrateSchema2 opens testdata/schema2.db.gz, a file the schema-2
// code wrote (see testdata/README.md): its user index in by_user, with
// retention tombstones and decisions after the index mark. The migration
// moves the user index into the dimension runs; every query that reads it
// answers exactly what the schema-2 code answered, recounts agree, and a
// second open changes nothing.
func TestMigrateSchema2UserIndex(t *testing.T) {
	input := gunzip(t, "testdata/schema2.db.gz")
	var want map[string]string
	if err := json.Unmarshal(gunzip(t, "testdata/schema2-answers.json.gz"), &want); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{NoSync: true}, smallChunks} {
		path := filepath.Join(t.TempDir(), "schema2.db")
		if err := os.WriteFile(path, input, 0o600); err != nil {
			t.Fatal(err)
		}
		byUser, pending := schema2Shape(t, path)
		if byUser == 0 || !pending {
			t.Fatalf("testdata: %d by_user entries, pending decisions %v", byUser, pending)
		}
		db, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		if bak, err := os.ReadFile(path + ".bak-2"); err != nil || !bytes.Equal(bak, input) {
			t.Errorf("the backup is not a byte-for-byte copy of the input (%v)", err)
		}
		err = db.view(func(tx *bolt.Tx) error {
			if tx.Bucket(bktByUser) != nil {
				t.Error("by_user is still there")
			}
			if users, _ := liveDimEntries(t, tx); users != byUser {
				t.Errorf("%d user entries in the runs, by_user had %d", users, byUser)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got := schema2Answers(t, db)
		delete(want, "counts ")
		delete(want, "users on ")
		if len(got) != len(want) {
			t.Errorf("%d answers, schema 2 gave %d", len(got), len(want))
		}
		for q, w := range want {
			if got[q] != w {
				t.Errorf("%s:\n%s\nschema 2 answered\n%s", q, got[q], w)
			}
		}
		all := arrivalOrder(allDecisions(t, db))
		checkUsers(t, db, cutUsers(all))
		checkDims(t, db, cutUsers(all), rand.New(rand.NewPCG(2, 3)))
		first, last := eventSpan(all)
		checkQueries(t, db, all, last.Add(time.Hour))
		// The migrated store takes new decisions and folds them in.
		g := newFakeGen(78, 40, 20)
		rng := rand.New(rand.NewPCG(4, 5))
		var rs []Result
		for i := range 400 {
			d := g.decision(900_000 + i)
			vary(rng, &d)
			d.EventTime = eventTimeFor(rng, first.Add(time.Duration(i)*time.Minute))
			rs = append(rs, Result{Decision: d})
		}
		if _, err := db.Complete(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		before := dumpBuckets(t, path)
		if readU64([]byte(before["meta"]["schema"])) != SchemaVersion || before["meta"][string(metaMigration)] != "" {
			t.Errorf("after the migration: schema %x, migration record %q", before["meta"]["schema"], before["meta"][string(metaMigration)])
		}
		db, err = Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		all = arrivalOrder(allDecisions(t, db))
		checkUsers(t, db, cutUsers(all))
		checkDims(t, db, cutUsers(all), rng)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if err := sameBuckets(before, dumpBuckets(t, path)); err != nil {
			t.Errorf("a second open changed the file: %v", err)
		}
	}
}

// TestMigrateSchema2Interrupted stops the migration after each of its
// first chunks (as a crash would) and opens the file again: the result is
// what an uninterrupted migration leaves.
func TestMigrateSchema2Interrupted(t *testing.T) {
	dir := t.TempDir()
	input := gunzip(t, "testdata/schema2.db.gz")
	clean := filepath.Join(dir, "clean.db")
	if err := os.WriteFile(clean, input, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := smallChunks
	chunks := 0
	opts.testMigrateHook = func(string, int) error { chunks++; return nil }
	db, err := Open(clean, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if chunks < 3 {
		t.Fatalf("the migration took %d chunks, want several", chunks)
	}
	want := dumpBuckets(t, clean)
	errStop := errors.New("stop here")
	for _, stop := range []int{1, 2, chunks - 1} {
		path := filepath.Join(dir, "stopped.db")
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
		if v := readU64([]byte(dumpBuckets(t, path)["meta"]["schema"])); v < 2 || v >= SchemaVersion {
			t.Errorf("a stopped migration left schema version %d, want one from 2 below %d", v, SchemaVersion)
		}
		opts.testMigrateHook = nil
		db, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if err := sameBuckets(want, dumpBuckets(t, path)); err != nil {
			t.Errorf("stopped after chunk %d: %v", stop, err)
		}
		for _, f := range []string{path, path + ".bak-2"} {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// cutUsers returns a copy of all with user IDs cut as summaries and index
// entries hold them
// (the testdata has two users that differ after maxIndexPart bytes).
func cutUsers(all []decision.Decision) []decision.Decision {
	out := slices.Clone(all)
	for i := range out {
		out[i].UserID = indexPart(out[i].UserID)
	}
	return out
}

// schema2Shape returns how many entries a schema-2 file's by_user holds
// and whether it has decisions after its index mark.
func schema2Shape(t *testing.T, path string) (byUser int, pending bool) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.View(func(tx *bolt.Tx) error {
		byUser = tx.Bucket(bktByUser).Stats().KeyN
		pending = indexMark(tx) != decKey(tx.Bucket(bktMeta).Get(metaLastKey))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return byUser, pending
}

// schema2Answers runs the queries that read the user index (journeys, a
// user's values, links, users on an IP, Latest with a user filter) and the
// user summaries and dimension counts over every user and IP of db, and
// returns each answer as JSON, by query.
func schema2Answers(t testing.TB, db *DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	put := func(name string, v any, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(b)
	}
	users, err := db.Users(ctx, UsersQuery{})
	put("users", users, err)
	ips := map[string]bool{}
	for _, u := range users {
		ds, err := db.UserDecisions(ctx, u.UserID, 0)
		ids := make([]string, len(ds))
		for i, d := range ds {
			ids[i] = d.ID + " " + d.EventTime.Format(time.RFC3339Nano)
			ips[d.IP] = true
		}
		put("journey "+u.UserID, ids, err)
		for _, k := range DimKinds {
			vs, err := db.UserValues(ctx, u.UserID, k, time.Time{}, time.Time{})
			put("values "+k.String()+" "+u.UserID, vs, err)
		}
		l, err := db.Links(ctx, LinksQuery{User: u.UserID, Depth: 2})
		put("links "+u.UserID, l, err)
		f, err := decision.ParseFilter("user:"+u.UserID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		latest, err := db.LatestOf(ctx, f, 7, "", Brief(true))
		ids = ids[:0]
		for _, d := range latest {
			ids = append(ids, d.ID)
		}
		put("latest "+u.UserID, ids, err)
	}
	for ip := range ips {
		if ip == "" {
			// The empty value counts pending decisions without an
			// IP until they are folded in (after a second idle): not
			// an answer to compare.
			continue
		}
		us, err := db.Users(ctx, UsersQuery{IP: ip})
		put("users on "+ip, us, err)
		c, err := db.DimensionCounts(ctx, KindIP, ip, time.Time{}, time.Time{})
		put("counts "+ip, c, err)
	}
	return out
}
