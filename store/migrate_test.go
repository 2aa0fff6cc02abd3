package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// gunzip returns the contents of a gzipped test file.
func gunzip(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dumpBuckets returns every key and value of every bucket of a file.
func dumpBuckets(t testing.TB, path string) map[string]map[string]string {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := map[string]map[string]string{}
	err = b.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			m := map[string]string{}
			out[string(name)] = m
			return bk.ForEach(func(k, v []byte) error {
				m[string(k)] = string(v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameBuckets reports the first difference between two dumps.
func sameBuckets(a, b map[string]map[string]string) error {
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range a {
			if !yield(n) {
				return
			}
		}
	}) {
		x, y := a[name], b[name]
		if len(x) != len(y) {
			return fmt.Errorf("bucket %s: %d entries, then %d", name, len(x), len(y))
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || w != v {
				return fmt.Errorf("bucket %s, key %x: %x, then %x (present %v)", name, k, v, w, ok)
			}
		}
	}
	if len(a) != len(b) {
		return fmt.Errorf("%d buckets, then %d", len(a), len(b))
	}
	return nil
}

// exportRow is a line of round 1's `riskwatch export`.
type exportRow struct {
	ID              string          `json:"id"`
	EventID         string          `json:"event_id"`
	Time            time.Time       `json:"time"`
	ReceivedAt      time.Time       `json:"received_at"`
	EventTime       time.Time       `json:"event_time"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Status          string          `json:"status"`
	UserID          string          `json:"user_id"`
	Email           string          `json:"email"`
	IP              string          `json:"ip"`
	Country         string          `json:"country"`
	Risk            float64         `json:"risk"`
	AccountAbuse    float64         `json:"account_abuse"`
	AccountTakeover float64         `json:"account_takeover"`
	Bot             float64         `json:"bot"`
	Signals         []string        `json:"signals"`
	Policy          string          `json:"policy"`
	Action          decision.Action `json:"action"`
	Error           string          `json:"error"`
	HTTPStatus      int             `json:"http_status"`
	Attempts        int             `json:"attempts"`
	Request         json.RawMessage `json:"request"`
	Response        json.RawMessage `json:"response"`
}

// TestMigrateRound1 opens the database the round-1 release wrote (see
// testdata/README.md) and checks that the migration loses nothing and
// that a second open changes nothing.
func TestMigrateRound1(t *testing.T) {
	input := gunzip(t, "testdata/round1.db.gz")
	path := filepath.Join(t.TempDir(), "round1.db")
	if err := os.WriteFile(path, input, 0o600); err != nil {
		t.Fatal(err)
	}
	var rows []exportRow
	dec := json.NewDecoder(bytes.NewReader(gunzip(t, "testdata/round1-export.ndjson.gz")))
	for dec.More() {
		var r exportRow
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	var stats struct {
		Decisions uint64            `json:"decisions"`
		ByAction  map[string]uint64 `json:"by_action"`
		ByType    map[string]uint64 `json:"by_type"`
		Rejected  uint64            `json:"rejected"`
		Inbox     uint64            `json:"inbox"`
	}
	raw, err := os.ReadFile("testdata/round1-stats.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &stats); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1203 || stats.Decisions != 1203 {
		t.Fatalf("testdata: %d exported decisions, stats say %d", len(rows), stats.Decisions)
	}

	var progress []string
	db, err := Open(path, Options{NoSync: true, Progress: func(m string) { progress = append(progress, m) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if bak, err := os.ReadFile(path + ".bak-1"); err != nil || !bytes.Equal(bak, input) {
		t.Errorf("the backup is not a byte-for-byte copy of the input (%v)", err)
	}
	if len(progress) < 3 || !strings.Contains(progress[0], path+".bak-1") || !strings.Contains(progress[len(progress)-1], "migrated") {
		t.Errorf("progress messages: %q", progress)
	}

	// Every decision, as round 1 exported it.
	for _, r := range rows {
		d, err := db.Get(ctx, r.ID)
		if err != nil {
			t.Fatalf("decision %s (%s): %v", r.ID, r.EventID, err)
		}
		var req, resp bytes.Buffer
		if json.Compact(&req, d.Request) != nil || json.Compact(&resp, d.Response) != nil {
			t.Errorf("%s: raw request or response is not JSON any more", r.ID)
		}
		if d.EventID != r.EventID || d.Action != r.Action || d.Risk != r.Risk || d.AccountAbuse != r.AccountAbuse ||
			d.AccountTakeover != r.AccountTakeover || d.Bot != r.Bot || fmt.Sprint(d.Signals) != fmt.Sprint(r.Signals) ||
			d.UserID != r.UserID || d.IP != r.IP || d.Type != r.Type || d.Policy != r.Policy || d.Source != r.Source ||
			!d.Time.Equal(r.Time) || !d.ReceivedAt.Equal(r.ReceivedAt) || d.HTTPStatus != r.HTTPStatus || d.Attempts != r.Attempts ||
			!bytes.Equal(req.Bytes(), r.Request) || !bytes.Equal(resp.Bytes(), r.Response) {
			t.Errorf("decision %s differs from round 1's export:\n%+v\n%+v", r.ID, d, r)
		}
		want, skew := decision.EventTimeOf(r.EventTime, r.ReceivedAt)
		if !d.EventTime.Equal(want) || d.ClockSkew != skew {
			t.Errorf("%s: event time %s (skew %v), want %s (%v) from timestamp %s", r.ID, d.EventTime, d.ClockSkew, want, skew, r.EventTime)
		}
	}
	tot, err := db.Totals(ctx, time.Time{}, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for a, n := range stats.ByAction {
		if tot.ByAction[decision.Action(a)] != n {
			t.Errorf("Totals: %d %s, round 1 said %d", tot.ByAction[decision.Action(a)], a, n)
		}
	}
	if fmt.Sprint(tot.ByType) != fmt.Sprint(stats.ByType) || tot.Decisions != stats.Decisions || tot.Rejected != stats.Rejected || tot.Inbox != stats.Inbox {
		t.Errorf("Totals = %+v, round 1 said %+v", tot, stats)
	}
	if rj, err := db.RecentRejected(ctx, 10); err != nil || len(rj) != 4 {
		t.Errorf("%d rejected records (%v), want 4", len(rj), err)
	}
	if items, err := db.InboxNext(ctx, 0, 100); err != nil || len(items) != 20 || db.InboxDepth() != 20 {
		t.Errorf("%d inbox events, depth %d (%v); want 20", len(items), db.InboxDepth(), err)
	}
	if cp, ok, err := db.Checkpoint("file:/tmp/fx/events.ndjson"); err != nil || !ok || cp.Offset != 621848 || cp.FileID != "fe00-9846c5-20c-68635c843bfdd2f7" {
		t.Errorf("checkpoint %+v %v %v", cp, ok, err)
	}
	if us, err := db.Users(ctx, UsersQuery{}); err != nil || len(us) != 928 {
		t.Errorf("%d users (%v), want 928", len(us), err)
	}

	// Journeys follow event time.
	byUser := map[string][]exportRow{}
	for _, r := range rows {
		byUser[r.UserID] = append(byUser[r.UserID], r)
	}
	checked := 0
	for user, rs := range byUser {
		if len(rs) < 3 {
			continue
		}
		ds, err := db.UserDecisions(ctx, user, 0)
		if err != nil || len(ds) != len(rs) {
			t.Fatalf("journey of %s: %d decisions (%v), want %d", user, len(ds), err, len(rs))
		}
		for i := 1; i < len(ds); i++ {
			if ds[i].EventTime.After(ds[i-1].EventTime) {
				t.Errorf("journey of %s is not newest event first", user)
			}
		}
		checked++
	}
	if checked < 5 {
		t.Errorf("only %d journeys checked", checked)
	}

	// The 11 hours the events spread over show in event-time windows.
	all := arrivalOrder(allDecisions(t, db))
	first, last := eventSpan(all)
	if last.Sub(first) < 10*time.Hour {
		t.Fatalf("event times span %s", last.Sub(first))
	}
	rates, err := db.Rates(ctx, first, last.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	hours := map[time.Time]bool{}
	var n uint64
	for _, r := range rates {
		if r.Total() > 0 {
			hours[r.Minute.Truncate(time.Hour)] = true
			n += r.Total()
		}
	}
	if len(hours) < 10 || n != 1203 {
		t.Errorf("Rates over the event times: %d decisions in %d hours", n, len(hours))
	}
	h, err := db.Histogram(ctx, decision.ScoreRisk, first.Add(time.Hour), first.Add(3*time.Hour))
	if err != nil || h.Total < 100 {
		t.Errorf("histogram of the second and third hour of events: %d (%v)", h.Total, err)
	}
	var windows [][2]time.Time
	for hr := first.Truncate(time.Hour); hr.Before(last); hr = hr.Add(time.Hour) {
		windows = append(windows, [2]time.Time{hr, hr.Add(time.Hour)}, [2]time.Time{hr.Add(-7 * time.Minute), hr.Add(2 * time.Hour)})
	}
	checkRollups(t, db, all, nil, append(windows, [2]time.Time{}))
	checkUsers(t, db, all)
	checkDims(t, db, all, rand.New(rand.NewPCG(1, 1)))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A second open does nothing.
	before := dumpBuckets(t, path)
	if before["meta"][string(metaMigration)] != "" || readU64([]byte(before["meta"]["schema"])) != SchemaVersion {
		t.Errorf("after the migration: schema %x, migration record %q", before["meta"]["schema"], before["meta"][string(metaMigration)])
	}
	progress = nil
	db, err = Open(path, Options{NoSync: true, Progress: func(m string) { progress = append(progress, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sameBuckets(before, dumpBuckets(t, path)); err != nil || len(progress) != 0 {
		t.Errorf("a second open changed the file: %v, said %q", err, progress)
	}
	if _, err := os.Stat(path + ".bak-1.1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a second backup: %v", err)
	}
}

// generatedRound1 writes a schema-1 file of n decisions of which round-1
// retention deleted the first gone (their counts stay in the rollups), with
// inbox events, rejects and checkpoints, and returns its description and
// its decisions.
func generatedRound1(t testing.TB, path string, n, gone int) (*round1File, []decision.Decision) {
	t.Helper()
	gen := round1Decisions(5, n, time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC), 7*time.Second)
	ds := make([]decision.Decision, n)
	for i := range ds {
		ds[i] = gen(i)
	}
	f := &round1File{n: n, gone: gone, decision: func(i int) decision.Decision { return ds[i] },
		inbox:       []InboxEvent{{EventID: "q-1", Source: "http", Body: []byte(`{"type":"$login"}`)}, {EventID: "q-2", Source: "file:/a"}},
		rejects:     []Rejected{{Time: ds[0].Time, Source: "http", Reason: "not JSON", Head: []byte("{")}},
		checkpoints: []Checkpoint{{Source: "file:/a", FileID: "1:2", Offset: 99}, {Source: "file:/b", FileID: "3:4", Offset: 7}}}
	writeRound1(t, path, f)
	return f, ds
}

// smallChunks makes a migration of a few thousand decisions take many
// chunks, runs and transactions.
var smallChunks = Options{NoSync: true, migrateChunk: 150, migrateRunBytes: 24 << 10, migrateTxEntries: 400}

// TestMigrateGenerated migrates a generated round-1 file whose oldest
// decisions retention had deleted, and checks every query against recounts:
// what round 1 counted in its rollups is still counted (deleted decisions
// where round 1 put them, stored ones by event time).
func TestMigrateGenerated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.db")
	f, ds := generatedRound1(t, path, 2000, 500)
	kept := ds[f.gone:]
	db, err := Open(path, smallChunks)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	all := arrivalOrder(allDecisions(t, db))
	if len(all) != len(kept) {
		t.Fatalf("%d decisions after the migration, want %d", len(all), len(kept))
	}
	for i, d := range all {
		want := asStored(kept[i])
		want.ID = makeDecKey(want.Time.UnixNano(), uint64(f.gone+i+1)).id()
		if fmt.Sprintf("%+v", d) != fmt.Sprintf("%+v", want) {
			t.Fatalf("decision %d:\n%+v\nwant\n%+v", i, d, want)
		}
	}
	// Deleted decisions stay counted in the minute round 1 stored them in.
	var gone []decision.Decision
	for _, d := range ds[:f.gone] {
		d.EventTime = d.Time
		gone = append(gone, d)
	}
	first, last := eventSpan(append(slices.Clone(all), gone...))
	rng := rand.New(rand.NewPCG(8, 8))
	windows := randomWindows(rng, first, last)
	checkRollups(t, db, all, gone, windows[:16])
	checkWhatIf(t, db, all, gone, windows[:6], rng)
	checkUsers(t, db, all)
	checkQueries(t, db, all, last.Add(time.Hour))
	checkDims(t, db, all, rng)
	tot, err := db.Totals(ctx, time.Time{}, time.Time{}, nil)
	if err != nil || tot.Decisions != 2000 || tot.Inbox != 2 || tot.Rejected != 1 {
		t.Errorf("Totals = %+v (%v), want all 2000 decisions round 1 counted, 2 queued, 1 rejected", tot, err)
	}
	if cps, err := db.Checkpoints(); err != nil || fmt.Sprint(cps) != fmt.Sprint(f.checkpoints) {
		t.Errorf("checkpoints %+v (%v)", cps, err)
	}
	if items, err := db.InboxNext(ctx, 0, 10); err != nil || len(items) != 2 || string(items[0].Body) != `{"type":"$login"}` {
		t.Errorf("inbox %+v (%v)", items, err)
	}
	// The migrated store takes new decisions and answers for them.
	if fresh, err := db.Enqueue(ctx, []InboxEvent{{EventID: all[5].EventID}, {EventID: "q-1"}}, nil, nil); err != nil || fresh[0] || fresh[1] {
		t.Errorf("event IDs of migrated decisions and inbox events are not known: %v %v", fresh, err)
	}
	g := newFakeGen(77, 50, 20)
	var rs []Result
	for i := range 300 {
		d := g.decision(100_000 + i)
		vary(rng, &d)
		d.EventTime = eventTimeFor(rng, time.Now())
		rs = append(rs, Result{Decision: d})
	}
	if _, err := db.Complete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	all = arrivalOrder(allDecisions(t, db))
	checkUsers(t, db, all)
	checkDims(t, db, all, rng)
}

// TestMigrateInterrupted stops a migration after the first chunk of each
// step (as a crash would) and opens the file again: the migration goes on
// from there, takes no second backup, and leaves exactly what an
// uninterrupted one leaves.
func TestMigrateInterrupted(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.db")
	generatedRound1(t, orig, 700, 100)
	input, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	clean := filepath.Join(dir, "clean.db")
	if err := os.WriteFile(clean, input, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(clean, smallChunks)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	want := dumpBuckets(t, clean)
	errStop := errors.New("stop here")
	steps := [][]string{{migrations[0].steps[1].name, migrations[0].steps[2].name}}
	for _, s := range migrations[0].steps {
		steps = append(steps, []string{s.name})
	}
	for i, stops := range steps {
		t.Run(fmt.Sprint(stops), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("run-%d.db", i))
			if err := os.WriteFile(path, input, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, stop := range stops {
				opts := smallChunks
				opts.testMigrateHook = func(step string, _ int) error {
					if step == stop {
						return errStop
					}
					return nil
				}
				if _, err := Open(path, opts); !errors.Is(err, errStop) {
					t.Fatalf("Open stopped at %q: %v", stop, err)
				}
				if v := readU64([]byte(dumpBuckets(t, path)["meta"]["schema"])); v != 1 && stop != migrations[0].steps[len(migrations[0].steps)-1].name {
					t.Errorf("a stopped migration left schema version %d", v)
				}
			}
			db, err := Open(path, smallChunks)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if err := sameBuckets(want, dumpBuckets(t, path)); err != nil {
				t.Errorf("an interrupted migration differs from an uninterrupted one: %v", err)
			}
			if bak, err := os.ReadFile(path + ".bak-1"); err != nil || !bytes.Equal(bak, input) {
				t.Errorf("backup: %v", err)
			}
			if _, err := os.Stat(path + ".bak-1.1"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a second backup: %v", err)
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".migrate-") {
					t.Errorf("temporary file %s left", e.Name())
				}
			}
		})
	}
}

// TestBackupNeverOverwrites keeps an existing backup and picks a numbered
// name.
func TestBackupNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	generatedRound1(t, path, 50, 0)
	if err := os.WriteFile(path+".bak-1", []byte("an older backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	input, _ := os.ReadFile(path)
	var said []string
	db, err := Open(path, Options{NoSync: true, Progress: func(m string) { said = append(said, m) }})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if old, _ := os.ReadFile(path + ".bak-1"); string(old) != "an older backup" {
		t.Error("the older backup was overwritten")
	}
	if bak, err := os.ReadFile(path + ".bak-1.1"); err != nil || !bytes.Equal(bak, input) {
		t.Errorf("no numbered backup: %v", err)
	}
	if len(said) == 0 || !strings.Contains(said[0], path+".bak-1.1") {
		t.Errorf("progress does not name the backup: %q", said)
	}
}
