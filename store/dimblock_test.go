package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// blockEntry is one by_dim entry for the block tests.
type blockEntry struct{ k, v []byte }

// randomEntries returns n sorted entries shaped like by_dim's: a kind, a
// value from a small or a large set, an event key; values a user or
// empty; a few short keys and long values mixed in.
func randomEntries(rng *rand.Rand, n int) []blockEntry {
	out := make([]blockEntry, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		var k []byte
		switch rng.IntN(10) {
		case 0:
			k = []byte(fmt.Sprintf("short%d", rng.IntN(50)))
		default:
			k = dimPrefix(nil, DimKind(rng.IntN(6)), fmt.Sprintf("value-%d", rng.IntN(30)))
			ev := int64(1_800_000_000_000_000_000 + rng.Int64N(1e12))
			k = appendEv(k, ev, makeDecKey(ev+rng.Int64N(1e9), uint64(rng.IntN(1e6))))
		}
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		var v []byte
		switch rng.IntN(4) {
		case 0:
		case 1:
			v = bytes.Repeat([]byte{'x'}, rng.IntN(300))
		default:
			v = appendLP(nil, fmt.Sprintf("u%d", rng.IntN(5)))
		}
		out = append(out, blockEntry{k, v})
	}
	slices.SortFunc(out, func(a, b blockEntry) int { return bytes.Compare(a.k, b.k) })
	return out
}

// writeBlocks cuts entries into blocks of size and returns them.
func writeBlocks(t testing.TB, ents []blockEntry, size int) (keys, blocks [][]byte) {
	w := blockWriter{id: 7, size: size, put: func(k, v []byte) error {
		keys, blocks = append(keys, slices.Clone(k)), append(blocks, slices.Clone(v))
		return nil
	}}
	for _, e := range ents {
		if err := w.add(e.k, e.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	if w.n != uint64(len(ents)) {
		t.Fatalf("writer counted %d entries, want %d", w.n, len(ents))
	}
	return keys, blocks
}

// encodeBlockV1 is the version-1 block of ents, as schema 4 and 5 wrote it.
func encodeBlockV1(ents []blockEntry) []byte {
	var b []byte
	for _, e := range ents {
		b = appendLP(b, string(e.k))
		b = appendLP(b, string(e.v))
	}
	return b
}

// readBlocks reads every entry of blocks back, checking that each block's
// key names its first entry.
func readBlocks(t testing.TB, keys, blocks [][]byte) []blockEntry {
	var out []blockEntry
	var r blockReader
	for i, b := range blocks {
		r.reset(b)
		first := true
		for r.next() {
			if first && !bytes.Equal(keys[i][8:], r.k) {
				t.Fatalf("block %d: key names %x, first entry is %x", i, keys[i][8:], r.k)
			}
			first = false
			out = append(out, blockEntry{r.k, r.v})
		}
		if r.err != nil {
			t.Fatalf("block %d: %v", i, r.err)
		}
	}
	return out
}

func sameEntries(t *testing.T, got, want []blockEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entries read, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].k, want[i].k) || !bytes.Equal(got[i].v, want[i].v) {
			t.Fatalf("entry %d: %x=%x, want %x=%x", i, got[i].k, got[i].v, want[i].k, want[i].v)
		}
	}
}

// TestBlockRoundTrip writes entries in version-2 blocks of several sizes
// and reads them back exactly; the keys handed out stay unchanged after
// the reader moves on, and every block fits the size it is cut at.
func TestBlockRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1, 120, 300, 2048, dimBlockSize} {
		ents := randomEntries(rng, 3000)
		keys, blocks := writeBlocks(t, ents, size)
		got := readBlocks(t, keys, blocks) // readBlocks keeps every key: none may be overwritten
		sameEntries(t, got, ents)
		for i, b := range blocks {
			if b[0] != 0 || b[1] != blockV2 {
				t.Fatalf("size %d block %d starts %x, want 00%02x", size, i, b[:2], blockV2)
			}
			if n := blockPageSlack + len(keys[i]) - 8 + len(b); n > size && blockCount(t, b) > 1 {
				t.Fatalf("size %d: block %d of %d entries takes %d bytes", size, i, blockCount(t, b), n)
			}
		}
		last, err := blockLast(blocks[len(blocks)-1])
		if err != nil || !bytes.Equal(last, ents[len(ents)-1].k) {
			t.Fatalf("size %d: blockLast = %x, %v; want %x", size, last, err, ents[len(ents)-1].k)
		}
	}
}

func blockCount(t *testing.T, b []byte) int {
	var r blockReader
	n := 0
	for r.reset(b); r.next(); n++ {
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return n
}

// TestBlockV1Readable reads blocks in the version-1 format.
func TestBlockV1Readable(t *testing.T) {
	ents := randomEntries(rand.New(rand.NewPCG(3, 4)), 500)
	var keys, blocks [][]byte
	for i := 0; i < len(ents); i += 37 {
		part := ents[i:min(i+37, len(ents))]
		keys = append(keys, append(u64(7), part[0].k...))
		blocks = append(blocks, encodeBlockV1(part))
	}
	sameEntries(t, readBlocks(t, keys, blocks), ents)
}

// TestBlockSmaller checks that front coding shrinks by_dim-shaped blocks.
func TestBlockSmaller(t *testing.T) {
	ents := randomEntries(rand.New(rand.NewPCG(5, 6)), 5000)
	_, blocks := writeBlocks(t, ents, dimBlockSize)
	v2 := 0
	for _, b := range blocks {
		v2 += len(b)
	}
	if v1 := len(encodeBlockV1(ents)); v2 >= v1*3/4 {
		t.Fatalf("version 2 takes %d bytes, version 1 %d", v2, v1)
	}
}

// TestBlockDamage reads every truncation and many byte flips of a block:
// an error or entries, never a panic, and a damaged header is an error.
func TestBlockDamage(t *testing.T) {
	ents := randomEntries(rand.New(rand.NewPCG(7, 8)), 200)
	_, blocks := writeBlocks(t, ents, dimBlockSize)
	b := blocks[0]
	for n := range len(b) {
		_, _ = blockLast(b[:n])
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		c := slices.Clone(b)
		c[rng.IntN(len(c))] ^= byte(1 + rng.IntN(255))
		_, _ = blockLast(c)
	}
	for _, bad := range [][]byte{{0}, {0, 1}, {0, 3, 1, 1}, {0, blockV2, 4 << 2, 1, 'a'}, {0, blockV2, 0, 0, 1}} {
		if _, err := blockLast(bad); err == nil {
			t.Errorf("block %x: no error", bad)
		}
	}
}

// TestRunsReadMixedBlocks stores a run in version-1 blocks (as schema 5
// left it) and one in version-2 blocks in a real file, and reads their
// merge both ways between bounds against a sorted recount.
func TestRunsReadMixedBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	all := randomEntries(rng, 4000)
	var oldRun, newRun []blockEntry
	for _, e := range all {
		if len(e.k) < len(evKey{}) {
			continue
		}
		if rng.IntN(2) == 0 {
			oldRun = append(oldRun, e)
		} else {
			newRun = append(newRun, e)
		}
	}
	db, err := bolt.Open(filepath.Join(t.TempDir(), "runs.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bktByDim)
		if err != nil {
			return err
		}
		for i := 0; i < len(oldRun); i += 50 {
			part := oldRun[i:min(i+50, len(oldRun))]
			if err := b.Put(append(u64(1), part[0].k...), encodeBlockV1(part)); err != nil {
				return err
			}
		}
		w := blockWriter{id: 2, size: 1024, put: func(k, v []byte) error { return b.Put(slices.Clone(k), slices.Clone(v)) }}
		for _, e := range newRun {
			if err := w.add(e.k, e.v); err != nil {
				return err
			}
		}
		return w.flush()
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(oldRun), newRun...)
	slices.SortFunc(want, func(a, b blockEntry) int { return bytes.Compare(a.k, b.k) })
	err = db.View(func(tx *bolt.Tx) error {
		s := &dimState{}
		for range 50 {
			i, j := rng.IntN(len(want)), rng.IntN(len(want))
			i, j = min(i, j), max(i, j)
			for _, reverse := range []bool{false, true} {
				var got []blockEntry
				err := mergeRuns(tx.Bucket(bktByDim), s, []uint64{1, 2}, want[i].k, want[j].k, reverse, func(k, v []byte) (bool, error) {
					got = append(got, blockEntry{k, v})
					return true, nil
				})
				if err != nil {
					return err
				}
				exp := slices.Clone(want[i:j])
				if reverse {
					slices.Reverse(exp)
				}
				sameEntries(t, got, exp)
			}
		}
		for id, run := range map[uint64][]blockEntry{1: oldRun, 2: newRun} {
			last, err := lastEntry(tx.Bucket(bktByDim), id)
			if err != nil || !bytes.Equal(last, run[len(run)-1].k) {
				t.Errorf("run %d: last entry %x, %v", id, last, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzDimBlock reads arbitrary blocks: no panic, and a block that reads
// writes back to one that reads the same.
func FuzzDimBlock(f *testing.F) {
	ents := randomEntries(rand.New(rand.NewPCG(13, 14)), 40)
	_, blocks := writeBlocks(f, ents, 512)
	for _, b := range blocks {
		f.Add(b)
	}
	f.Add(encodeBlockV1(ents[:10]))
	f.Add([]byte{0, blockV2})
	f.Add(binary.AppendUvarint([]byte{0, blockV2}, 1<<40))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r blockReader
		var got []blockEntry
		for r.reset(b); r.next(); {
			got = append(got, blockEntry{r.k, r.v})
		}
		if r.err != nil || len(got) == 0 {
			return
		}
		var again []blockEntry
		w := blockWriter{id: 1, size: 1 << 30, put: func(_, v []byte) error {
			var r2 blockReader
			for r2.reset(v); r2.next(); {
				again = append(again, blockEntry{r2.k, r2.v})
			}
			return r2.err
		}}
		for _, e := range got {
			if err := w.add(e.k, e.v); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		sameEntries(t, again, got)
	})
}
