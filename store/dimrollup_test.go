package store

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// dimT0 starts the decisions of these tests, on an hour.
var dimT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// dimDecisions returns n decisions spread over width from dimT0, with at
// most ips addresses (in /24s of 50) and a few values of every other
// dimension, signals repeated on some.
func dimDecisions(seed uint64, n, ips int, width time.Duration) []decision.Decision {
	r := rand.New(rand.NewPCG(seed, 3))
	ds := make([]decision.Decision, n)
	for i := range ds {
		ip := r.IntN(ips)
		t := dimT0.Add(time.Duration(r.Int64N(int64(width))))
		ds[i] = decision.Decision{
			EventID: fmt.Sprintf("dim-%d-%d", seed, i), EventTime: t, ReceivedAt: t,
			Type:      []string{"$login", "$registration", "$transaction"}[r.IntN(3)],
			Status:    []string{"$succeeded", "$failed"}[r.IntN(2)],
			Action:    decision.Actions[r.IntN(len(decision.Actions))],
			UserID:    fmt.Sprintf("u%d", r.IntN(500)),
			IP:        fmt.Sprintf("10.0.%d.%d", ip/50, ip%50),
			Country:   []string{"US", "DE", "", "FR"}[r.IntN(4)],
			Email:     fmt.Sprintf("u@d%d.example", r.IntN(5)),
			UserAgent: []string{"curl/8.5.0", "python-requests/2.31.0", "", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"}[r.IntN(4)],
			Policy:    "default",
		}
		if r.IntN(3) == 0 {
			ds[i].Signals = []string{"proxy_ip", "new_device", "proxy_ip"}[:1+r.IntN(3)]
		}
		if r.IntN(5) == 0 {
			ds[i].ShadowRule = fmt.Sprintf("rule-%d", r.IntN(3))
		}
	}
	return ds
}

// storeShuffled stores ds in random order (a backfill), in commits of
// random sizes, and returns them as stored.
func storeShuffled(t *testing.T, db *DB, seed uint64, ds []decision.Decision) []decision.Decision {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 5))
	ds = slices.Clone(ds)
	r.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	var out []decision.Decision
	for len(ds) > 0 {
		n := min(len(ds), 1+r.IntN(400))
		rs := make([]Result, n)
		for i := range rs {
			rs[i] = Result{Decision: ds[i]}
		}
		got, err := db.Complete(context.Background(), rs)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
		ds = ds[n:]
	}
	return out
}

// recount counts ds by brute force into one exact record per period of
// secs seconds and action.
func recount(ds []decision.Decision, secs int64) map[dimRollPeriod]*dimRec {
	out := map[dimRollPeriod]*dimRec{}
	for i := range ds {
		d := &ds[i]
		s := d.EventTime.Unix()
		p := dimRollPeriod{s - s%secs, uint8(d.Action.Index())}
		r := out[p]
		if r == nil {
			r = new(dimRec)
			out[p] = r
		}
		r.total++
		for dim := range decision.NumDimensions {
			seen := map[string]bool{}
			for _, v := range dim.Values(d, nil) {
				if !seen[v] {
					seen[v] = true
					r.dims[dim].add(v, 1)
				}
			}
		}
	}
	return out
}

// storedRecords decodes every record of a dimension rollup bucket.
func storedRecords(t *testing.T, db *DB, bucket []byte) map[dimRollPeriod]*dimRec {
	t.Helper()
	out := map[dimRollPeriod]*dimRec{}
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			if len(k) != 9 {
				return fmt.Errorf("key %x", k)
			}
			r := new(dimRec)
			if err := decodeDimRec(v, r); err != nil {
				return fmt.Errorf("record %x: %w", k, err)
			}
			out[dimRollPeriod{int64(readU64(k[:8])), k[8]}] = r
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameRec reports how two records differ, "" when they do not.
func sameRec(got, want *dimRec) string {
	if got.total != want.total {
		return fmt.Sprintf("total %d, want %d", got.total, want.total)
	}
	for dim := range decision.NumDimensions {
		g, w := &got.dims[dim], &want.dims[dim]
		if !maps.Equal(g.counts, w.counts) || g.rest != w.rest || g.restMax != w.restMax {
			return fmt.Sprintf("%s: %v rest %d/%d, want %v rest %d/%d", dim, g.counts, g.rest, g.restMax, w.counts, w.rest, w.restMax)
		}
	}
	return ""
}

// checkRecords compares the records of both buckets with a recount of ds.
func checkRecords(t *testing.T, db *DB, ds []decision.Decision) {
	t.Helper()
	for _, c := range []struct {
		bucket []byte
		secs   int64
	}{{bktDimMinutes, minuteSecs}, {bktDimHours, hourSecs}} {
		got, want := storedRecords(t, db, c.bucket), recount(ds, c.secs)
		if len(got) != len(want) {
			t.Errorf("%s: %d records, want %d", c.bucket, len(got), len(want))
		}
		for p, w := range want {
			g, ok := got[p]
			if !ok {
				t.Errorf("%s: no record at %d action %d", c.bucket, p.sec, p.action)
				continue
			}
			if diff := sameRec(g, w); diff != "" {
				t.Errorf("%s at %s action %d: %s", c.bucket, time.Unix(p.sec, 0).UTC(), p.action, diff)
			}
		}
	}
}

func TestDimRollupsRecount(t *testing.T) {
	db := openTest(t, Options{})
	ds := storeShuffled(t, db, 1, dimDecisions(1, 6000, 300, 150*time.Minute))
	checkRecords(t, db, ds)

	// ValueCounts over ragged windows, with and without actions, equals a
	// recount of the decisions inside.
	ctx := context.Background()
	for _, c := range []struct {
		from, to time.Time
		actions  []decision.Action
	}{
		{dimT0, dimT0.Add(150 * time.Minute), nil},
		{dimT0.Add(90 * time.Second), dimT0.Add(137*time.Minute + 7*time.Second), nil},
		{dimT0.Add(59*time.Minute + 30*time.Second), dimT0.Add(61*time.Minute + 5*time.Second), []decision.Action{decision.ActionDeny}},
		{dimT0.Add(10*time.Minute + time.Nanosecond), dimT0.Add(10*time.Minute + 40*time.Second), []decision.Action{decision.ActionDeny, decision.ActionAllow}},
		{dimT0.Add(-time.Hour), dimT0.Add(5 * time.Hour), []decision.Action{decision.ActionError}},
	} {
		got, err := db.ValueCounts(ctx, c.from, c.to, c.actions...)
		if err != nil {
			t.Fatal(err)
		}
		var in []decision.Decision
		for _, d := range ds {
			if !d.EventTime.Before(c.from) && d.EventTime.Before(c.to) && (c.actions == nil || slices.Contains(c.actions, d.Action)) {
				in = append(in, d)
			}
		}
		want := new(dimRec)
		for _, r := range recount(in, 1<<40) {
			want.merge(r)
		}
		g := dimRec{total: got.Total}
		for i := range got.Dims {
			g.dims[i] = dimTally{counts: got.Dims[i].Counts, rest: got.Dims[i].Rest, restMax: got.Dims[i].RestMax}
		}
		if diff := sameRec(&g, want); diff != "" {
			t.Errorf("ValueCounts [%s, %s) %v: %s", c.from, c.to, c.actions, diff)
		}
		for dim := range got.Dims {
			if got.Dims[dim].Rest > 0 {
				t.Errorf("ValueCounts [%s, %s): %s truncated with 300 addresses", c.from, c.to, decision.Dimension(dim))
			}
		}
	}

	// ValueSeries equals binning the matching decisions by hand.
	vals := []RollValue{{decision.DimIP24, "10.0.3.0/24"}, {decision.DimSignal, "proxy_ip"}, {decision.DimUAFamily, "curl"}, {decision.DimType, "none"}}
	for _, c := range []struct {
		from, to time.Time
		bins     int
		actions  []decision.Action
	}{
		{dimT0, dimT0.Add(2 * time.Hour), 30, nil},
		{dimT0.Add(7 * time.Second), dimT0.Add(143*time.Minute + 3*time.Second), 7, []decision.Action{decision.ActionDeny}},
		{dimT0.Add(3 * time.Minute), dimT0.Add(4 * time.Minute), 30, nil},
	} {
		got, bounded, err := db.ValueSeries(ctx, c.from, c.to, c.bins, vals, c.actions...)
		if err != nil {
			t.Fatal(err)
		}
		if bounded {
			t.Errorf("ValueSeries: bounded with nothing truncated")
		}
		span := c.to.Sub(c.from)
		for i, v := range vals {
			want := make([]uint64, c.bins)
			for _, d := range ds {
				off := d.EventTime.Sub(c.from)
				if off < 0 || off >= span || (c.actions != nil && !slices.Contains(c.actions, d.Action)) || !slices.Contains(v.Dim.Values(&d, nil), v.Value) {
					continue
				}
				want[int(off*time.Duration(c.bins)/span)]++
			}
			if !slices.Equal(got[i], want) {
				t.Errorf("ValueSeries %v over [%s, %s) in %d bins: %v, want %v", v, c.from, c.to, c.bins, got[i], want)
			}
		}
	}
}

func TestDimRollupsTruncate(t *testing.T) {
	// One minute, one action, 3000 addresses: 20 heavy ones with 30-49
	// events each, the rest once or twice.
	var ds []decision.Decision
	r := rand.New(rand.NewPCG(9, 9))
	add := func(ip string) {
		tm := dimT0.Add(time.Duration(r.Int64N(int64(time.Minute))))
		ds = append(ds, decision.Decision{EventID: fmt.Sprintf("tr-%d", len(ds)), EventTime: tm, ReceivedAt: tm,
			Type: "$login", Action: decision.ActionAllow, IP: ip})
	}
	for h := range 20 {
		for range 30 + h {
			add(fmt.Sprintf("192.0.2.%d", h))
		}
	}
	for i := range 3000 {
		for range 1 + i%2 {
			add(fmt.Sprintf("10.%d.%d.1", i/200, i%200))
		}
	}
	truth := recount(ds, minuteSecs)[dimRollPeriod{dimT0.Unix(), 0}].dims[decision.DimIP].counts

	check := func(t *testing.T, db *DB, oneGo bool) {
		recs := storedRecords(t, db, bktDimMinutes)
		rec := recs[dimRollPeriod{dimT0.Unix(), 0}]
		if len(recs) != 1 || rec == nil {
			t.Fatalf("records %v", recs)
		}
		ip := &rec.dims[decision.DimIP]
		if len(ip.counts) != dimRollTop {
			t.Errorf("%d addresses listed, want %d", len(ip.counts), dimRollTop)
		}
		var sum uint64
		for v, n := range ip.counts {
			sum += n
			if tn := truth[v]; n > tn || tn > n+ip.bound() {
				t.Errorf("%s: listed %d, true %d, bound %d", v, n, tn, ip.bound())
			}
		}
		if sum+ip.rest != uint64(len(ds)) || rec.total != uint64(len(ds)) {
			t.Errorf("listed %d + other %d, want %d exactly (total %d)", sum, ip.rest, len(ds), rec.total)
		}
		for v, tn := range truth {
			if _, ok := ip.counts[v]; !ok && tn > ip.bound() {
				t.Errorf("%s unlisted with %d events, above the bound %d", v, tn, ip.bound())
			}
		}
		for h := range 20 {
			if v := fmt.Sprintf("192.0.2.%d", h); ip.counts[v] == 0 {
				t.Errorf("heavy address %s not listed", v)
			}
		}
		if oneGo {
			// Written in one go: the top 512 exactly, counts exact, and the
			// bound is the largest count dropped.
			for v, n := range ip.counts {
				if n != truth[v] {
					t.Errorf("%s: %d, want %d", v, n, truth[v])
				}
			}
			if ip.restMax != 2 {
				t.Errorf("rest max %d, want 2", ip.restMax)
			}
		}
	}
	t.Run("one commit", func(t *testing.T) {
		db := openTest(t, Options{})
		rs := make([]Result, len(ds))
		for i := range ds {
			rs[i] = Result{Decision: ds[i]}
		}
		if _, err := db.Complete(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		check(t, db, true)
	})
	t.Run("many commits", func(t *testing.T) {
		db := openTest(t, Options{})
		storeShuffled(t, db, 2, ds)
		check(t, db, false)
	})
}

func TestDimRollupsRetention(t *testing.T) {
	db := openTest(t, Options{})
	ds := storeShuffled(t, db, 3, dimDecisions(3, 3000, 100, 180*time.Minute))
	before := dimT0.Add(70*time.Minute + 20*time.Second)
	if _, err := db.Retain(context.Background(), before); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		bucket []byte
		secs   int64
	}{{bktDimMinutes, minuteSecs}, {bktDimHours, hourSecs}} {
		got, all := storedRecords(t, db, c.bucket), recount(ds, c.secs)
		for p, w := range all {
			g, ok := got[p]
			switch gone := p.sec+c.secs <= before.Unix(); {
			case gone && ok:
				t.Errorf("%s at %s: kept, its decisions are all gone", c.bucket, time.Unix(p.sec, 0).UTC())
			case !gone && !ok:
				t.Errorf("%s at %s: removed, its period ends after the retention", c.bucket, time.Unix(p.sec, 0).UTC())
			case !gone:
				// A period emptied in part keeps its counts.
				if diff := sameRec(g, w); diff != "" {
					t.Errorf("%s at %s: %s", c.bucket, time.Unix(p.sec, 0).UTC(), diff)
				}
			}
		}
	}
}

func TestMigrateDimRollups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := storeShuffled(t, db, 4, dimDecisions(4, 4000, 200, 5*time.Hour))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A schema-2 file: no dimension rollups.
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktDimMinutes, bktDimHours} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bktMeta).Put(metaSchema, u64(2))
	})
	var msgs []string
	db, err = Open(path, Options{migrateChunk: 700, Progress: func(s string) { msgs = append(msgs, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkRecords(t, db, ds)
	if len(msgs) < 3 {
		t.Errorf("progress %q", msgs)
	}
	var schema uint64
	err = db.view(func(tx *bolt.Tx) error {
		schema = readU64(tx.Bucket(bktMeta).Get(metaSchema))
		return nil
	})
	if err != nil || schema != SchemaVersion {
		t.Errorf("schema %d (%v), want %d", schema, err, SchemaVersion)
	}
	// New decisions add to the migrated records.
	more := storeShuffled(t, db, 5, dimDecisions(5, 500, 200, 5*time.Hour))
	checkRecords(t, db, append(ds, more...))
}

func TestMigrateDimRollupsInterrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := storeShuffled(t, db, 6, dimDecisions(6, 3000, 200, 4*time.Hour))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktDimMinutes, bktDimHours} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bktMeta).Put(metaSchema, u64(2))
	})
	stop := fmt.Errorf("stopped")
	for _, at := range []int{2, 4} {
		_, err := Open(path, Options{migrateChunk: 500, testMigrateHook: func(step string, chunks int) error {
			if chunks == at {
				return stop
			}
			return nil
		}})
		if err == nil {
			t.Fatalf("Open went through the hook's failure at chunk %d", at)
		}
	}
	db, err = Open(path, Options{migrateChunk: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkRecords(t, db, ds)
}

// merge adds o, the record of a disjoint set of decisions.
func (r *dimRec) merge(o *dimRec) {
	r.total += o.total
	for i := range r.dims {
		r.dims[i].merge(&o.dims[i])
	}
}
