package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// The string table keeps strings that repeat across decisions (the source,
// event type and status, user agent, country, email domain, signal names,
// policy, shadow rule, error) once, in bktStrings under an ID, and decision
// records of version 4 name them by ID (see encodeDecision). IDs start at
// 1 and only grow; an entry is never rewritten or deleted, so every record
// stays readable. The table is read whole at open; new entries are stored
// by the transaction that stores the first records naming them (Complete
// calls persist), so a committed record never names an ID the file lacks.
//
// A string gets an ID the second time it is seen while new (the first
// sighting goes into a bounded set of candidates), if it is at most
// strMaxLen bytes and the table has room: values that never repeat, such
// as made-up user agents, stay in their records and do not fill the table.
const (
	strMaxLen   = 512
	strMaxCount = 1 << 16
	strMaxBytes = 8 << 20
	// strCandidates bounds the strings seen once; the set starts over
	// when full.
	strCandidates = 1 << 12
)

// strTab is a store's string table. It is safe for concurrent use: records
// are encoded by Complete's callers in parallel, decoded by any reader.
type strTab struct {
	// strs[i] is the string of ID i+1. Adding appends past the published
	// length and publishes a longer slice; a published element never
	// changes.
	strs atomic.Pointer[[]string]
	// ids is an immutable snapshot of string -> ID, replaced now and then
	// by one that includes recent.
	ids atomic.Pointer[map[string]uint32]

	mu     sync.Mutex // guards the rest
	recent map[string]uint32
	seen   map[string]struct{}
	bytes  int
}

// newStrTab returns a table holding strs (IDs 1...).
func newStrTab(strs []string) *strTab {
	t := &strTab{recent: map[string]uint32{}, seen: map[string]struct{}{}}
	ids := make(map[string]uint32, len(strs))
	for i, s := range strs {
		ids[s] = uint32(i + 1)
		t.bytes += len(s)
	}
	t.strs.Store(&strs)
	t.ids.Store(&ids)
	return t
}

// strKey is the bktStrings key of an ID.
func strKey(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

// loadStrTab reads the table stored in tx (empty when the bucket is
// missing: a store not yet migrated, opened read-only). Entries must be
// IDs 1, 2, ... without a gap.
func loadStrTab(tx *bolt.Tx) (*strTab, error) {
	var strs []string
	if b := tx.Bucket(bktStrings); b != nil {
		err := b.ForEach(func(k, v []byte) error {
			if len(k) != 4 || binary.BigEndian.Uint32(k) != uint32(len(strs)+1) {
				return fmt.Errorf("string table key %x after %d entries: %w", k, len(strs), errRecord)
			}
			strs = append(strs, string(v))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return newStrTab(strs), nil
}

// size returns how many strings the table has (the largest ID).
func (t *strTab) size() uint32 {
	if t == nil {
		return 0
	}
	return uint32(len(*t.strs.Load()))
}

// lookup returns the string of id; ok is false when there is none.
func (t *strTab) lookup(id uint64) (s string, ok bool) {
	if t == nil || id == 0 {
		return "", false
	}
	strs := *t.strs.Load()
	if id > uint64(len(strs)) {
		return "", false
	}
	return strs[id-1], true
}

// ref returns the ID of s, giving it one if s has been seen before and
// may have one; 0 when s stays in the record.
func (t *strTab) ref(s string) uint32 {
	if t == nil || len(s) == 0 || len(s) > strMaxLen {
		return 0
	}
	if id, ok := (*t.ids.Load())[s]; ok {
		return id
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.recent[s]; ok {
		return id
	}
	if id, ok := (*t.ids.Load())[s]; ok {
		return id
	}
	strs := *t.strs.Load()
	if len(strs) >= strMaxCount || t.bytes+len(s) > strMaxBytes {
		return 0
	}
	if _, ok := t.seen[s]; !ok {
		if len(t.seen) >= strCandidates {
			clear(t.seen)
		}
		t.seen[strings.Clone(s)] = struct{}{}
		return 0
	}
	delete(t.seen, s)
	s = strings.Clone(s)
	strs = append(strs, s)
	id := uint32(len(strs))
	t.strs.Store(&strs)
	t.bytes += len(s)
	t.recent[s] = id
	// Fold recent into a new snapshot once it is a quarter of it: each
	// entry is copied a bounded number of times on average.
	if ids := *t.ids.Load(); len(t.recent) >= max(64, len(ids)/4) {
		next := make(map[string]uint32, len(ids)+len(t.recent))
		for k, v := range ids {
			next[k] = v
		}
		for k, v := range t.recent {
			next[k] = v
		}
		t.ids.Store(&next)
		clear(t.recent)
	}
	return id
}

// persist stores in tx every entry up to ID n that tx's bucket lacks. The
// writer calls it before storing records encoded when the table had n
// strings; entries past what the file holds are then all in tx.
func (t *strTab) persist(tx *bolt.Tx, n uint32) error {
	if n == 0 {
		return nil
	}
	b := tx.Bucket(bktStrings)
	if b == nil {
		return fmt.Errorf("string table: no bucket %s", bktStrings)
	}
	var stored uint32
	if k, _ := b.Cursor().Last(); k != nil {
		if len(k) != 4 {
			return fmt.Errorf("string table key %x: %w", k, errRecord)
		}
		stored = binary.BigEndian.Uint32(k)
	}
	strs := *t.strs.Load()
	if n > uint32(len(strs)) {
		return fmt.Errorf("string table: %d strings asked for, %d known", n, len(strs))
	}
	for id := stored + 1; id <= n; id++ {
		if err := b.Put(strKey(id), []byte(strs[id-1])); err != nil {
			return fmt.Errorf("string table: %w", err)
		}
	}
	return nil
}

// sref appends s as a string reference: uvarint(ID<<1 | 1) when t gives
// it an ID, else uvarint(len<<1) and the bytes.
func (e *encoder) sref(s string, t *strTab) {
	if id := t.ref(s); id != 0 {
		e.uvarint(uint64(id)<<1 | 1)
		return
	}
	e.uvarint(uint64(len(s)) << 1)
	e.b = append(e.b, s...)
}

// sref reads a string reference; an ID the table lacks fails d with an
// error wrapping ErrCorrupt.
func (d *decoder) sref(c recCodec) string {
	x := d.uvarint()
	if x&1 != 0 {
		s, ok := c.lookup(x >> 1)
		if !ok && d.err == nil {
			d.err, d.b = fmt.Errorf("%w (%w): no string %d in the string table", ErrCorrupt, errRecord, x>>1), nil
		}
		return s
	}
	n := x >> 1
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	if d.in != nil {
		return d.in.get(p)
	}
	return string(p)
}

// recCodec is what decoding a stored decision needs besides the record:
// the store's string table (in memory, or read from a transaction), and
// its raw body dictionaries when the bodies are wanted (nil: they are left
// nil).
type recCodec struct {
	strs *strTab
	tx   *txStrings
	raw  *rawCodec
}

// brief returns c without the raw bodies.
func (c recCodec) brief() recCodec {
	c.raw = nil
	return c
}

// txStrings reads the string table from a transaction's bucket, keeping
// what it read: for code that has a transaction and no DB. Not safe for
// concurrent use.
type txStrings struct {
	b   *bolt.Bucket
	got map[uint64]string
}

// txCodec returns a codec that reads strings from tx, without raw
// bodies.
func txCodec(tx *bolt.Tx) recCodec {
	return recCodec{tx: &txStrings{b: tx.Bucket(bktStrings)}}
}

// lookup returns the string of id; ok is false when there is none.
func (c recCodec) lookup(id uint64) (string, bool) {
	if c.strs != nil || c.tx == nil {
		return c.strs.lookup(id)
	}
	t := c.tx
	if s, ok := t.got[id]; ok {
		return s, true
	}
	if t.b == nil || id == 0 || id > math.MaxUint32 {
		return "", false
	}
	v := t.b.Get(strKey(uint32(id)))
	if v == nil {
		return "", false
	}
	if t.got == nil {
		t.got = map[uint64]string{}
	}
	s := string(v)
	t.got[id] = s
	return s, true
}

// brief returns the codec that decodes decisions without their raw bodies.
func (db *DB) brief() recCodec { return recCodec{strs: db.strs} }

// whole returns the codec that decodes decisions with their raw bodies.
func (db *DB) whole() recCodec { return recCodec{strs: db.strs, raw: db.raw} }
