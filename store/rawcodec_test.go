package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// encodeDecisionV2 is round 2's decision encoder: version 3's layout
// without the raw-body encoding tag, the bodies plain.
func encodeDecisionV2(d *decision.Decision) []byte {
	b := encodeDecisionV3(nil, d, nil)
	tail := len(binary.AppendUvarint(nil, uint64(len(d.Request)))) + len(d.Request) +
		len(binary.AppendUvarint(nil, uint64(len(d.Response)))) + len(d.Response)
	tag := len(b) - tail - 1
	b[0] = decisionV2
	return append(b[:tag], b[tag+1:]...)
}

// trainedCodec returns a codec whose newest dictionary (ID 1) is trained
// on n decisions of g.
func trainedCodec(t testing.TB, g *fakeGen, n int) *rawCodec {
	t.Helper()
	var samples [][]byte
	for i := range n {
		d := g.decision(i)
		samples = append(samples, append(d.Request, d.Response...))
	}
	d, err := buildRawDict(1, samples)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawCodec{}
	c.add(d)
	return c
}

// rawTag returns the raw-body encoding tag of a record of version 3 or 4
// whose strings c reads.
func rawTag(t testing.TB, c recCodec, key, val []byte) uint64 {
	t.Helper()
	var d decision.Decision
	r := decoder{b: val}
	if v := r.version(decisionV4); v == decisionV4 {
		decodeV4(&r, &d, c.brief())
	} else {
		decodeV1to3(&r, v, &d, nil)
	}
	tag := r.uvarint()
	if r.err != nil {
		t.Fatalf("record %x: no raw-body tag: %v", key, r.err)
	}
	return tag
}

// hostileBodies are raw bodies a decision may carry: empty, not UTF-8,
// not JSON, large and incompressible, large and repetitive.
func hostileBodies(r *rand.Rand) [][2][]byte {
	noise := make([]byte, 3<<20)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	return [][2][]byte{
		{nil, nil},
		{[]byte(`{"type":"$login"}`), nil},
		{nil, []byte(`{"risk":1}`)},
		{{0xff, 0xfe, 0x00, 0xc3, 0x28}, {0xed, 0xa0, 0x80, '{', 0}},
		{noise[:1<<20], noise[1<<20:]},
		{bytes.Repeat([]byte(`{"a":"b"},`), 1<<20), bytes.Repeat([]byte{0}, 5<<20)},
		{[]byte("x"), []byte("y")},
	}
}

func TestRawSectionRoundTrip(t *testing.T) {
	g := newFakeGen(3, 50, 20)
	c := trainedCodec(t, g, 2000)
	key := makeDecKey(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).UnixNano(), 1)
	check := func(d *decision.Decision) uint64 {
		t.Helper()
		val := encodeDecision(nil, d, c, nil)
		var got decision.Decision
		if err := decodeDecision(key[:], val, &got, recCodec{raw: c}); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !bytes.Equal(got.Request, d.Request) || !bytes.Equal(got.Response, d.Response) ||
			(got.Request == nil) != (len(d.Request) == 0) || (got.Response == nil) != (len(d.Response) == 0) {
			t.Fatalf("bodies of %d+%d bytes came back as %d+%d bytes", len(d.Request), len(d.Response), len(got.Request), len(got.Response))
		}
		got.Request, got.Response, d.Request, d.Response = nil, nil, nil, nil
		d.ID, d.Time = got.ID, got.Time
		if fmt.Sprint(got) != fmt.Sprint(*d) {
			t.Fatalf("decision changed:\n%+v\n%+v", *d, got)
		}
		return rawTag(t, recCodec{}, key[:], val)
	}
	compressed := 0
	for i := range 3000 {
		d := g.decision(10_000 + i)
		d.EventTime = d.ReceivedAt
		if check(&d) != rawPlain {
			compressed++
		}
	}
	if compressed < 2900 {
		t.Errorf("%d of 3000 decisions compressed", compressed)
	}
	for i, b := range hostileBodies(rand.New(rand.NewPCG(1, 2))) {
		d := g.decision(i)
		d.EventTime = d.ReceivedAt
		d.Request, d.Response = b[0], b[1]
		tag := check(&d)
		if i == 4 && tag != rawPlain {
			t.Errorf("incompressible bodies kept compressed (tag %d)", tag)
		}
	}
}

// TestRawHuffmanFramesRead: frames made with Huffman-coded literals (the
// encoder's setting before it kept literals raw) read back through the
// codec with the same dictionary, as the records already stored do; and
// keeping literals raw costs little space on generated bodies.
func TestRawHuffmanFramesRead(t *testing.T) {
	g := newFakeGen(4, 50, 20)
	c := trainedCodec(t, g, 2000)
	cur := c.cur.Load()
	huff := &rawDict{rawDictInfo: cur.rawDictInfo, data: cur.data}
	huff.encOnce.Do(func() {
		huff.enc, huff.encErr = zstd.NewWriter(nil, zstd.WithEncoderDict(huff.data), zstd.WithEncoderLevel(zstd.SpeedFastest))
	})
	var scratch []byte
	differ, oldBytes, newBytes := 0, 0, 0
	for i := range 2000 {
		d := g.decision(10_000 + i)
		old, ok := huff.appendFrame(nil, d.Request, d.Response, &scratch)
		if !ok {
			t.Fatal(huff.encErr)
		}
		now := c.appendRaw(nil, d.Request, d.Response)
		if !bytes.Equal(old, now) {
			differ++
		}
		oldBytes, newBytes = oldBytes+len(old), newBytes+len(now)
		r := decoder{b: old}
		req, resp := c.readRaw(&r)
		if r.err != nil || len(r.b) != 0 || !bytes.Equal(req, d.Request) || !bytes.Equal(resp, d.Response) {
			t.Fatalf("decision %d: a Huffman-coded frame read back as %d+%d bytes (%v), want %d+%d",
				i, len(req), len(resp), r.err, len(d.Request), len(d.Response))
		}
	}
	if differ == 0 {
		t.Error("no frame with Huffman-coded literals: the test reads nothing old")
	}
	if float64(newBytes) > 1.05*float64(oldBytes) {
		t.Errorf("raw literals take %d bytes, Huffman-coded %d: more than 5%% more", newBytes, oldBytes)
	}
}

// TestRawCorrupt damages compressed records: every damage fails the
// decode with ErrCorrupt (or decodes to the same bytes), never panics.
func TestRawCorrupt(t *testing.T) {
	g := newFakeGen(5, 50, 20)
	c := trainedCodec(t, g, 1000)
	d := g.decision(5000)
	key := makeDecKey(1, 1)
	val := encodeDecision(nil, &d, c, nil)
	if rawTag(t, recCodec{}, key[:], val) != 1 {
		t.Fatal("not compressed")
	}
	var base decision.Decision
	if err := decodeDecision(key[:], val, &base, recCodec{}); err != nil {
		t.Fatal(err)
	}
	head := len(encodeDecision(nil, &base, nil, nil)) - 3 // where the raw section starts
	section := val[head:]
	cases := map[string][]byte{
		"unknown dictionary": append([]byte{7}, section[1:]...),
		"huge dictionary ID": append(binary.AppendUvarint(nil, 1<<40), section[1:]...),
		"truncated frame":    section[:len(section)-5],
		"request too long":   append(append([]byte{1}, binary.AppendUvarint(nil, uint64(len(d.Request)+1))...), section[1+len(binary.AppendUvarint(nil, uint64(len(d.Request)))):]...),
		"claims a terabyte":  append(append([]byte{1}, binary.AppendUvarint(nil, 1<<40)...), section[1+len(binary.AppendUvarint(nil, uint64(len(d.Request)))):]...),
	}
	r := rand.New(rand.NewPCG(9, 9))
	for i := range 300 {
		b := bytes.Clone(section)
		p := 4 + r.IntN(len(b)-4)
		b[p] ^= byte(1 + r.IntN(255))
		cases[fmt.Sprintf("flipped byte %d (%d)", p, i)] = b
	}
	for name, s := range cases {
		rec := append(bytes.Clone(val[:head]), s...)
		var got decision.Decision
		err := decodeDecision(key[:], rec, &got, recCodec{raw: c})
		switch {
		case err == nil && bodiesOf(got.Request, got.Response) != bodiesOf(d.Request, d.Response):
			t.Errorf("%s: decoded to other bytes without an error", name)
		case err != nil && !errors.Is(err, errRecord):
			t.Errorf("%s: %v, not a malformed record", name, err)
		case err == nil && name[:7] != "flipped", err != nil && name != "truncated frame" && name[:7] != "flipped" && !errors.Is(err, ErrCorrupt):
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

func bodiesOf(a, b []byte) string { return string(a) + "\x00" + string(b) }

// FuzzRawRecord feeds damaged and arbitrary records to the decoder with a
// trained dictionary: it must fail cleanly, and what it accepts must
// survive a re-encode (compressed or not) byte for byte.
func FuzzRawRecord(f *testing.F) {
	g := newFakeGen(7, 20, 10)
	c := trainedCodec(f, g, 500)
	for i := range 4 {
		d := g.decision(1000 + i)
		enc := encodeDecision(nil, &d, c, nil)
		f.Add(enc)
		f.Add(enc[:len(enc)-3])
		f.Add(append(enc, 1, 0))
		f.Add(encodeDecision(nil, &d, nil, nil))
	}
	f.Add([]byte{decisionV3})
	key := makeDecKey(1, 1)
	f.Fuzz(func(t *testing.T, val []byte) {
		var d decision.Decision
		if err := decodeDecision(key[:], val, &d, recCodec{raw: c}); err != nil {
			return
		}
		for _, raw := range []*rawCodec{c, nil} {
			var again decision.Decision
			if err := decodeDecision(key[:], encodeDecision(nil, &d, raw, nil), &again, recCodec{raw: c}); err != nil {
				t.Fatalf("re-encoded decision does not decode: %v", err)
			}
			if fmt.Sprint(again) != fmt.Sprint(d) {
				t.Fatalf("re-encode changed the decision:\n%+v\n%+v", d, again)
			}
		}
	})
}

// waitTries waits until db's trainer has finished n tries.
func waitTries(t *testing.T, db *DB, n uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for db.train.tries.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the trainer finished %d tries, want %d", db.train.tries.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// completeAll stores ds in groups of 100 and returns them as stored.
func completeAll(t *testing.T, db *DB, ds []decision.Decision) []decision.Decision {
	t.Helper()
	var out []decision.Decision
	for i := 0; i < len(ds); i += 100 {
		var rs []Result
		for _, d := range ds[i:min(i+100, len(ds))] {
			rs = append(rs, Result{Decision: d})
		}
		got, err := db.Complete(context.Background(), rs)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

// checkBodies reads every stored decision (Get, After and a Range) and
// compares its bodies with want's, byte for byte; it returns how many
// records keep them under each encoding tag.
func checkBodies(t *testing.T, db *DB, want []decision.Decision) map[uint64]int {
	t.Helper()
	ctx := context.Background()
	byID := map[string]decision.Decision{}
	for _, d := range want {
		byID[d.ID] = d
	}
	same := func(how string, got decision.Decision) {
		w, ok := byID[got.ID]
		if !ok || !bytes.Equal(got.Request, w.Request) || !bytes.Equal(got.Response, w.Response) {
			t.Fatalf("%s: decision %s: bodies of %d+%d bytes, want %d+%d", how, got.ID, len(got.Request), len(got.Response), len(w.Request), len(w.Response))
		}
	}
	for _, d := range want {
		got, err := db.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		same("Get", got)
	}
	after, err := db.After(ctx, "", len(want)+1)
	if err != nil || len(after) != len(want) {
		t.Fatalf("After: %d decisions, %v", len(after), err)
	}
	for _, d := range after {
		same("After", d)
	}
	rng, err := db.Range(ctx, RangeQuery{Limit: len(want) + 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rng.Decisions {
		same("Range", d)
	}
	tags := map[uint64]int{}
	err = db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bktDecisions).ForEach(func(k, v []byte) error {
			if v[0] >= decisionV3 {
				tags[rawTag(t, txCodec(tx), k, v)]++
			} else {
				tags[1<<63|uint64(v[0])]++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

// TestRawTrainingInStore: the store trains its first dictionary once it
// holds enough decisions, compresses what comes after with it, tries again
// at four times as many and keeps a new dictionary only when it is better,
// and every body reads back as stored, also after reopening.
func TestRawTrainingInStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raw.db")
	opts := Options{NoSync: true, rawTrainMin: 300}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	g := newFakeGen(8, 40, 20)
	var ds []decision.Decision
	for i := range 300 {
		ds = append(ds, g.decision(i))
	}
	stored := completeAll(t, db, ds)
	waitTries(t, db, 1)
	if db.raw.newest() != 1 {
		t.Fatalf("after 300 decisions the newest dictionary is %d, want 1", db.raw.newest())
	}
	// Bodies of another shape, and hostile ones.
	ds = ds[:0]
	for i := range 1000 {
		d := g.decision(300 + i)
		d.Request = fmt.Appendf(nil, `<event><kind>%s</kind><who>%s</who><addr>%s</addr><agent>%s</agent></event>`, d.Type, d.UserID, d.IP, d.UserAgent)
		d.Response = fmt.Appendf(nil, `<verdict risk="%g" bot="%g"><policy>%s</policy></verdict>`, d.Risk, d.Bot, d.Action)
		ds = append(ds, d)
	}
	for i, b := range hostileBodies(rand.New(rand.NewPCG(3, 4))) {
		d := g.decision(2000 + i)
		d.Request, d.Response = b[0], b[1]
		ds = append(ds, d)
	}
	stored = append(stored, completeAll(t, db, ds)...)
	waitTries(t, db, 2)
	if db.raw.newest() != 2 {
		t.Fatalf("after bodies of another shape the newest dictionary is %d, want 2", db.raw.newest())
	}
	var more []decision.Decision
	for i := range 200 {
		more = append(more, g.decision(4000+i))
	}
	stored = append(stored, completeAll(t, db, more)...)
	tags := checkBodies(t, db, stored)
	if tags[1] < 900 || tags[2] < 150 || tags[rawPlain] < 300 {
		t.Errorf("records by raw-body encoding: %v", tags)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.raw.newest() != 2 || len(*db.raw.dicts.Load()) != 2 {
		t.Fatalf("reopened with dictionaries up to %d", db.raw.newest())
	}
	checkBodies(t, db, stored)
	var last uint64
	if err := db.view(func(tx *bolt.Tx) error { last = readU64(tx.Bucket(bktMeta).Get(metaRawTrained)); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := db.train.next.Load(); last < 1200 || last > uint64(len(stored)) || got != 4*last {
		t.Errorf("reopened: the last try at %d decisions, the next due at %d", last, got)
	}
}

// TestRawCorruptInStore damages a compressed record in a file: reading it
// fails with ErrCorrupt, and the others still read.
func TestRawCorruptInStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raw.db")
	db, err := Open(path, Options{NoSync: true, rawTrainMin: 200})
	if err != nil {
		t.Fatal(err)
	}
	g := newFakeGen(9, 40, 20)
	var ds []decision.Decision
	for i := range 300 {
		ds = append(ds, g.decision(i))
	}
	completeAll(t, db, ds[:200])
	waitTries(t, db, 1)
	stored := completeAll(t, db, ds[200:])
	victim := stored[50]
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		k, _ := parseID(victim.ID)
		b := tx.Bucket(bktDecisions)
		v := bytes.Clone(b.Get(k[:]))
		if rawTag(t, txCodec(tx), k[:], v) == rawPlain {
			t.Fatal("not compressed")
		}
		v[len(v)-8] ^= 0x5a
		v[len(v)-20] ^= 0xa5
		return b.Put(k[:], v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get(context.Background(), victim.ID); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of the damaged record: %v", err)
	}
	if got, err := db.Get(context.Background(), stored[51].ID); err != nil || !bytes.Equal(got.Request, stored[51].Request) {
		t.Errorf("Get of its neighbour: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
