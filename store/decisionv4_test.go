package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// hostileDecisions returns decisions with every field at an edge the
// version-4 encoding treats apart: strings empty, long, not UTF-8, emails
// without or with several '@', IPs in and out of canonical form, scores
// that are and are not small decimals, times zero, before 1970, past what
// nanoseconds hold, with and without whole milliseconds.
func hostileDecisions() []decision.Decision {
	g := newFakeGen(21, 30, 20)
	base := g.decision(0)
	long := strings.Repeat("Mozilla/5.0 ", 60)
	var out []decision.Decision
	add := func(f func(d *decision.Decision)) {
		d := base
		d.Signals = append([]string(nil), base.Signals...)
		f(&d)
		out = append(out, d)
	}
	add(func(d *decision.Decision) {})
	add(func(d *decision.Decision) {
		*d = decision.Decision{EventID: "e", Action: decision.ActionAllow}
	})
	for _, email := range []string{"", "a@b.c", "no-at", "@", "x@y@z.org", "\xff@\xfe", "trailing@"} {
		add(func(d *decision.Decision) { d.Email = email })
	}
	for _, ip := range []string{"", "10.0.0.1", "::1", "2001:db8::5", "::ffff:1.2.3.4", "fe80::1%eth0", "010.0.0.1", "1.2.3", "2001:DB8::1", "not an ip"} {
		add(func(d *decision.Decision) { d.IP = ip })
	}
	for _, f := range []float64{0, 1, 63, 64, 100, 0.5, 0.87, 0.1234, 1e-7, 99.99, -1, math.Copysign(0, -1), math.NaN(), math.Inf(1), 1e300, 1 << 52} {
		add(func(d *decision.Decision) { d.Risk, d.Bot = f, f })
	}
	for _, s := range []string{long, "\x00\xff", strings.Repeat("z", strMaxLen), strings.Repeat("z", strMaxLen+1)} {
		add(func(d *decision.Decision) {
			d.UserAgent, d.Source, d.Error, d.ShadowRule, d.Country = s, s, s, s, s
			d.Signals = []string{s, "", s}
		})
	}
	ms := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct{ recv, ev time.Time }{
		{time.Time{}, time.Time{}},
		{time.Time{}, ms},
		{ms.Add(123), ms},
		{ms.Add(123), ms.Add(-time.Hour + 7)},
		{ms, ms.Add(time.Millisecond)},
		{time.Date(1960, 1, 1, 0, 0, 0, 5, time.UTC), ms},
		{time.Date(1960, 1, 1, 0, 0, 0, 5, time.UTC), time.Time{}},
		{time.Date(3000, 1, 1, 0, 0, 0, 5, time.UTC), ms},
		{time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), ms.Add(1)},
		{ms, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		add(func(d *decision.Decision) { d.ReceivedAt, d.EventTime = c.recv, c.ev })
	}
	for i, a := range decision.Actions {
		add(func(d *decision.Decision) {
			d.Action, d.ShadowAction, d.ClockSkew = a, decision.Actions[(i+1)%len(decision.Actions)], i%2 == 0
		})
	}
	add(func(d *decision.Decision) { d.HTTPStatus, d.Latency, d.Attempts = -1, -time.Hour, math.MaxInt32 })
	add(func(d *decision.Decision) { d.Request, d.Response = nil, []byte("only a response") })
	return out
}

// stored returns d as decodeDecision gives it back for key k: what a
// round trip must give.
func stored(d decision.Decision, k decKey) decision.Decision {
	d.ID, d.Time = k.id(), k.time()
	ev := clampNanos(d.EventTime)
	if ev == 0 {
		d.EventTime = d.Time
	} else {
		d.EventTime = time.Unix(0, ev).UTC()
	}
	if !d.ReceivedAt.IsZero() {
		d.ReceivedAt = d.ReceivedAt.UTC()
	}
	if len(d.Signals) == 0 {
		d.Signals = nil
	}
	if len(d.Request) == 0 {
		d.Request = nil
	}
	if len(d.Response) == 0 {
		d.Response = nil
	}
	return d
}

// sameDecision compares two decisions field by field, floats by their
// bits (NaN included).
func sameDecision(a, b decision.Decision) bool {
	for _, p := range [][2]*float64{{&a.Risk, &b.Risk}, {&a.AccountAbuse, &b.AccountAbuse}, {&a.AccountTakeover, &b.AccountTakeover}, {&a.Bot, &b.Bot}} {
		if math.Float64bits(*p[0]) != math.Float64bits(*p[1]) {
			return false
		}
		*p[0], *p[1] = 0, 0
	}
	return reflect.DeepEqual(a, b)
}

// TestDecisionV4RoundTrip encodes every hostile decision three times into
// one string table (so that strings are given IDs on the way) and reads
// each record back exactly, whole and brief, with the table in memory and
// with it read from a transaction; peekUser and peekEvent agree.
func TestDecisionV4RoundTrip(t *testing.T) {
	tab := newStrTab(nil)
	k := makeDecKey(time.Date(2026, 3, 1, 12, 5, 0, 0, time.UTC).UnixNano(), 3)
	var recs [][]byte
	ds := hostileDecisions()
	for range 3 {
		for i := range ds {
			recs = append(recs, encodeDecision(nil, &ds[i], nil, tab))
		}
	}
	if tab.size() == 0 {
		t.Fatal("nothing went into the string table")
	}
	path := filepath.Join(t.TempDir(), "strs.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucket(bktStrings); err != nil {
			return err
		}
		return tab.persist(tx, tab.size())
	})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.View(func(tx *bolt.Tx) error {
		loaded, err := loadStrTab(tx)
		if err != nil {
			return err
		}
		for i, val := range recs {
			want := stored(ds[i%len(ds)], k)
			for name, c := range map[string]recCodec{"memory": {strs: tab, raw: &rawCodec{}}, "loaded": {strs: loaded, raw: &rawCodec{}}, "tx": {tx: txCodec(tx).tx, raw: &rawCodec{}}} {
				var got decision.Decision
				if err := decodeDecision(k[:], val, &got, c); err != nil {
					t.Fatalf("record %d (%s): %v", i, name, err)
				}
				if !sameDecision(got, want) {
					t.Fatalf("record %d (%s):\n got %+v\nwant %+v", i, name, got, want)
				}
				if err := decodeDecision(k[:], val, &got, c.brief()); err != nil || got.Request != nil || got.UserID != want.UserID {
					t.Fatalf("record %d (%s) brief: %v", i, name, err)
				}
			}
			if u := peekUser(val); string(u) != want.UserID {
				t.Fatalf("record %d: peekUser %q, want %q", i, u, want.UserID)
			}
			if _, ev, err := peekEvent(k, val); err != nil || ev != clampNanos(want.EventTime) {
				t.Fatalf("record %d: peekEvent %d %v, want %d", i, ev, err, clampNanos(want.EventTime))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDecisionV4Smaller checks that the typical decision shrinks.
func TestDecisionV4Smaller(t *testing.T) {
	g := newFakeGen(22, 50, 20)
	tab := newStrTab(nil)
	var v3, v4 int
	for i := range 2000 {
		d := g.decision(i)
		d.Request, d.Response = nil, nil
		d.Risk, d.Bot = float64(i%101), float64(i%7)
		v3 += len(encodeDecisionV3(nil, &d, nil))
		v4 += len(encodeDecision(nil, &d, nil, tab))
	}
	if v4 > v3*2/3 {
		t.Errorf("version 4 takes %d bytes, version 3 %d", v4, v3)
	}
}

// TestStrTabBounded gives the table strings that never repeat and strings
// that do: the first stay out of it, the others get one ID each.
func TestStrTabBounded(t *testing.T) {
	tab := newStrTab(nil)
	for i := range 3 * strCandidates {
		if id := tab.ref(fmt.Sprintf("agent %d", i)); id != 0 {
			t.Fatalf("a string seen once got ID %d", id)
		}
	}
	if tab.ref("twice") != 0 {
		t.Fatal("a string got an ID at its first sighting")
	}
	id := tab.ref("twice")
	if id == 0 || tab.ref("twice") != id || tab.size() != 1 {
		t.Fatalf("IDs %d, %d; size %d", id, tab.ref("twice"), tab.size())
	}
	for i := range 3000 {
		s := fmt.Sprintf("repeated %d", i)
		tab.ref(s)
		if tab.ref(s) == 0 {
			t.Fatalf("%q: no ID at its second sighting", s)
		}
	}
	for i := range 3000 {
		s := fmt.Sprintf("repeated %d", i)
		if got, ok := tab.lookup(uint64(tab.ref(s))); !ok || got != s {
			t.Fatalf("%q: ID names %q", s, got)
		}
	}
	if tab.ref(strings.Repeat("x", strMaxLen+1)) != 0 || tab.ref(strings.Repeat("x", strMaxLen+1)) != 0 || tab.ref("") != 0 {
		t.Error("a string too long or empty got an ID")
	}
}

// TestDecisionV4UnknownString reads records naming strings a table lacks:
// an ErrCorrupt error, never a panic or another string.
func TestDecisionV4UnknownString(t *testing.T) {
	tab := newStrTab(nil)
	d := hostileDecisions()[0]
	encodeDecision(nil, &d, nil, tab)
	val := encodeDecision(nil, &d, nil, tab)
	k := makeDecKey(1, 1)
	short := newStrTab((*tab.strs.Load())[:tab.size()-1])
	for name, c := range map[string]recCodec{"empty": {strs: newStrTab(nil)}, "short": {strs: short}, "none": {}} {
		var got decision.Decision
		err := decodeDecision(k[:], val, &got, c)
		if !errors.Is(err, ErrCorrupt) || !errors.Is(err, errRecord) {
			t.Errorf("%s table: %v, want ErrCorrupt", name, err)
		}
	}
	// A reference to a huge ID, by hand.
	e := encoder{}
	e.uvarint(1<<62 | 1)
	r := decoder{b: e.b}
	if r.sref(recCodec{strs: tab}); !errors.Is(r.err, ErrCorrupt) {
		t.Errorf("huge ID: %v", r.err)
	}
}

// TestStringsSurviveFailedCommits stores decisions while commits fail
// now and then: the strings the failed transactions would have stored
// are stored by the next one that uses them, and every decision reads
// back the same after the store is reopened.
func TestStringsSurviveFailedCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	var failing commitSwitch
	opts := Options{NoSync: true, FailCommit: failing.fail}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var want []decision.Decision
	for round := range 6 {
		var rs []Result
		for i := range 40 {
			d := decision.Decision{EventID: fmt.Sprintf("e%d-%d", round, i), Action: decision.ActionAllow,
				UserAgent: fmt.Sprintf("agent of round %d", round/2), Type: fmt.Sprintf("$type%d", i%3), Country: "NZ"}
			rs = append(rs, Result{Decision: d})
		}
		failing.set(round%2 == 0)
		out, err := db.Complete(ctx, rs)
		if round%2 == 0 {
			if !errors.Is(err, errInjected) {
				t.Fatalf("round %d: %v, want the injected error", round, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, out...)
	}
	if db.strs.size() == 0 {
		t.Fatal("no strings in the table")
	}
	db = reopenStore(t, db, path, Options{ReadOnly: true})
	defer db.Close()
	for _, w := range want {
		got, err := db.Get(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.UserAgent != w.UserAgent || got.Type != w.Type || got.Country != w.Country || got.EventID != w.EventID {
			t.Fatalf("%s: got %+v, want %+v", w.ID, got, w)
		}
	}
}

// TestStringTableDamage damages the string table of a real file: a gap
// in its IDs fails Open with ErrCorrupt; a missing last entry fails the
// reads of the decisions naming it with ErrCorrupt, and the others read.
func TestStringTableDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mk := func(id, ua string) Result {
		return Result{Decision: decision.Decision{EventID: id, UserID: "u", Action: decision.ActionAllow, UserAgent: ua, Type: "$login"}}
	}
	out, err := db.Complete(ctx, []Result{mk("a", "first agent"), mk("b", "first agent"), mk("c", "plain"), mk("d", "late agent"), mk("e", "late agent")})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var n uint32
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bktStrings).Cursor().Last()
		n = uint32(len(k))
		if n != 4 {
			return fmt.Errorf("last key %x", k)
		}
		return tx.Bucket(bktStrings).Delete(k)
	})
	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range out {
		got, err := db.Get(ctx, d.ID)
		switch {
		case d.EventID == "e" && !errors.Is(err, ErrCorrupt):
			t.Errorf("%s names the lost string: %v, %+v", d.EventID, err, got)
		case d.EventID != "e" && (err != nil || got.UserAgent != d.UserAgent):
			t.Errorf("%s: %q, %v", d.EventID, got.UserAgent, err)
		}
	}
	if _, err := db.Latest(ctx, nil, 10, ""); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Latest: %v, want ErrCorrupt", err)
	}
	db.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bktStrings).Delete(strKey(1)) })
	if db, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrCorrupt) {
		if err == nil {
			db.Close()
		}
		t.Errorf("Open with a gap in the string table: %v, want ErrCorrupt", err)
	}
}

// FuzzDecisionV4 reads arbitrary records with a fixed string table: no
// panic; a record that reads writes back (with the table or without) to
// one that reads the same.
func FuzzDecisionV4(f *testing.F) {
	tab := newStrTab(nil)
	ds := hostileDecisions()
	for range 2 {
		for i := range ds {
			encodeDecision(nil, &ds[i], nil, tab)
		}
	}
	for i := range ds {
		enc := encodeDecision(nil, &ds[i], nil, tab)
		f.Add(enc)
		if i%5 == 0 {
			f.Add(enc[:len(enc)/2])
			f.Add(append(bytes.Clone(enc), 9, 1, 'x'))
		}
	}
	f.Add([]byte{decisionV4, 0, 0xff})
	f.Add([]byte{decisionV4, 1, 'u', flagV4NoEvent | flagV4EventMs})
	key := makeDecKey(1_800_000_000_000_000_000, 1)
	f.Fuzz(func(t *testing.T, val []byte) {
		peekUser(val)
		_, ev, peekErr := peekEvent(key, val)
		var d decision.Decision
		if err := decodeDecision(key[:], val, &d, recCodec{strs: tab, raw: &rawCodec{}}); err != nil {
			return
		}
		if peekErr != nil || ev != clampNanos(d.EventTime) {
			t.Fatalf("peekEvent = %d, %v; the decoder says %s", ev, peekErr, d.EventTime)
		}
		for _, strs := range []*strTab{tab, nil} {
			var again decision.Decision
			if err := decodeDecision(key[:], encodeDecision(nil, &d, nil, strs), &again, recCodec{strs: tab, raw: &rawCodec{}}); err != nil {
				t.Fatalf("re-encoded decision does not decode: %v", err)
			}
			if !sameDecision(again, d) {
				t.Fatalf("re-encode changed the decision:\n%+v\n%+v", d, again)
			}
		}
	})
}
