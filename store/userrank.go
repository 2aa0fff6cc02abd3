package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// The rank index (bktUserRank) lists every user summary of bktUsers once
// per sort of Users, keyed so that bbolt's key order, read from the end,
// is Users' order: largest value first, then most recent LastSeen, then
// user ID. A key is
//
//	rank byte + [8-byte value] + 8-byte last seen + descending user
//
// where the value (absent for rankSeen) is the max risk as an
// order-preserving float (rankRisk) or the deny count (rankDenies), big
// endian; last seen is the summary's last event time in nanoseconds with
// its sign bit flipped; and the descending user is the user ID made
// prefix-free (each 0x00 byte escaped as 0x00 0xff, then the terminator
// 0x00 0x01) with every byte complemented, so that a larger key holds a
// smaller user ID. Values are empty.
//
// Every write of a summary goes through a rankBatch, which moves the
// user's keys and counts users (metaUsers) in the same transaction, so the
// index holds exactly the summaries of its snapshot.
const (
	rankSeen byte = iota
	rankRisk
	rankDenies
	numRanks
)

// rankOf returns the rank index of a sort of Users.
func rankOf(by decision.UserSort) (byte, bool) {
	switch by {
	case decision.SortLastSeen:
		return rankSeen, true
	case decision.SortMaxRisk:
		return rankRisk, true
	case decision.SortDenies:
		return rankDenies, true
	}
	return 0, false
}

// rankHead is the length of a rank key before the user: the rank byte, the
// value and last seen.
func rankHead(r byte) int {
	if r == rankSeen {
		return 1 + 8
	}
	return 1 + 8 + 8
}

// appendRankKey appends the key of user's summary s in rank r.
func appendRankKey(b []byte, r byte, user string, s *summary) []byte {
	b = append(b, r)
	switch r {
	case rankRisk:
		b = binary.BigEndian.AppendUint64(b, floatOrder(s.maxRisk))
	case rankDenies:
		b = binary.BigEndian.AppendUint64(b, s.denies)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(s.last)^(1<<63))
	for i := 0; i < len(user); i++ {
		if c := user[i]; c == 0 {
			b = append(b, 0xff, 0x00)
		} else {
			b = append(b, ^c)
		}
	}
	return append(b, 0xff, 0xfe)
}

// floatOrder maps f to a uint64 in the order cmp.Compare gives floats:
// NaN below everything, -0 equal to +0.
func floatOrder(f float64) uint64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f == 0:
		return 1 << 63
	case f > 0:
		return math.Float64bits(f) | 1<<63
	}
	return ^math.Float64bits(f)
}

// rankUser appends the user ID of rank key k to b.
func rankUser(b, k []byte) ([]byte, error) {
	if len(k) < 1 || k[0] >= numRanks || len(k) < rankHead(k[0])+2 {
		return nil, fmt.Errorf("user rank entry %x: %w", k, errRecord)
	}
	p := k[rankHead(k[0]):]
	for i := 0; i < len(p); i++ {
		if p[i] != 0xff {
			b = append(b, ^p[i])
			continue
		}
		if i+1 < len(p) && p[i+1] == 0x00 {
			b = append(b, 0)
			i++
			continue
		}
		if i+2 == len(p) && p[i+1] == 0xfe {
			return b, nil
		}
		break
	}
	return nil, fmt.Errorf("user rank entry %x: %w", k, errRecord)
}

// rankBatch collects the rank index changes of the summaries a transaction
// rewrites, and writes them in key order.
type rankBatch struct {
	st *txState
	// ops are the keys to delete and to put, encoded in the arena (bbolt
	// keeps a put key until the commit). The slice is the writer's, lent
	// to one batch at a time.
	ops []rankOp
	// users is the change in the number of users with a summary.
	users int64
}

// rankOp is a rank key to delete or put. hi and lo are the key's first 16
// bytes (zero-padded) as big-endian integers, its head: the radix sort
// orders by them, and only equal heads need a byte comparison.
type rankOp struct {
	hi, lo uint64
	key    []byte
	put    bool
}

func newRankOp(key []byte, put bool) rankOp {
	var head [16]byte
	copy(head[:], key)
	return rankOp{hi: binary.BigEndian.Uint64(head[:8]), lo: binary.BigEndian.Uint64(head[8:]), key: key, put: put}
}

// compareRankOps orders ops by key: by the 16-byte heads, then (equal
// heads, which zero padding may also make of unequal keys) by the whole
// keys.
func compareRankOps(a, b rankOp) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo, b.lo); c != 0 {
		return c
	}
	return bytes.Compare(a.key, b.key)
}

// maxRankOps is the largest rank operation buffer the writer keeps
// between transactions.
const maxRankOps = 1 << 20

func (st *txState) rankBatch() *rankBatch {
	rb := &rankBatch{st: st, ops: st.w.rankOps[:0]}
	st.w.rankOps = nil
	return rb
}

// move records that user's summary changes from old to s (a zero count
// means no summary).
func (rb *rankBatch) move(user string, old, s *summary) {
	switch {
	case old.count == 0 && s.count > 0:
		rb.users++
	case old.count > 0 && s.count == 0:
		rb.users--
	}
	for r := range numRanks {
		var was, is []byte
		if old.count > 0 {
			was = rb.st.encode(func(b []byte) []byte { return appendRankKey(b, r, user, old) })
		}
		if s.count > 0 {
			is = rb.st.encode(func(b []byte) []byte { return appendRankKey(b, r, user, s) })
		}
		if bytes.Equal(was, is) {
			continue
		}
		if was != nil {
			rb.ops = append(rb.ops, newRankOp(was, false))
		}
		if is != nil {
			rb.ops = append(rb.ops, newRankOp(is, true))
		}
	}
}

// write applies the batch and gives its buffer back to the writer.
func (rb *rankBatch) write() error {
	// A user moves at most once per batch, so no key is both deleted and
	// put: the order of equal keys does not matter.
	w := rb.st.w
	w.rankTmp = radixRankOps(rb.ops, w.rankTmp)
	if cap(w.rankTmp) > maxRankOps {
		w.rankTmp = nil
	}
	rank := rb.st.tx.Bucket(bktUserRank)
	// Deletes go through one cursor (repositioned by each Seek, so the
	// puts between them do not invalidate it).
	c := rank.Cursor()
	for _, op := range rb.ops {
		var err error
		if op.put {
			err = rank.Put(op.key, []byte{})
		} else if k, _ := c.Seek(op.key); bytes.Equal(k, op.key) {
			err = c.Delete()
		}
		if err != nil {
			return fmt.Errorf("user rank index: %w", err)
		}
	}
	clear(rb.ops)
	if cap(rb.ops) <= maxRankOps {
		w.rankOps = rb.ops[:0]
	}
	rb.ops = nil
	if rb.users != 0 {
		meta := rb.st.meta
		n := int64(readU64(meta.Get(metaUsers))) + rb.users
		if n < 0 {
			return fmt.Errorf("user count below zero: %w", errRecord)
		}
		if err := meta.Put(metaUsers, rb.st.keepU64(uint64(n))); err != nil {
			return err
		}
		rb.users = 0
	}
	return nil
}

// setSummary writes user's summary s (deletes it when s counts nothing)
// and moves its rank keys.
func (st *txState) setSummary(user string, s *summary) error {
	var old summary
	if v := st.users.Get([]byte(user)); v != nil {
		if err := decodeSummary(user, v, &old); err != nil {
			return err
		}
	}
	var err error
	if s.count == 0 {
		err = st.users.Delete([]byte(user))
	} else {
		err = st.putEnc(st.users, []byte(user), func(b []byte) []byte { return encodeSummary(b, s) })
	}
	if err != nil {
		return fmt.Errorf("summary of user %q: %w", user, err)
	}
	rb := st.rankBatch()
	rb.move(user, &old, s)
	return rb.write()
}

// rankEnd positions c on the last key of rank r and returns it (nil if the
// rank has no key).
func rankEnd(c *bolt.Cursor, r byte) []byte {
	k, _ := c.Seek([]byte{r + 1})
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if len(k) == 0 || k[0] != r {
		return nil
	}
	return k
}

// radixRankOps sorts ops by key: an LSD radix sort on the 16-byte heads
// (skipping bytes all heads share), then a comparison sort of each run of
// equal heads (a few ops are only compared). tmp is scratch space,
// returned for reuse.
func radixRankOps(ops, tmp []rankOp) []rankOp {
	if len(ops) < 64 {
		slices.SortFunc(ops, compareRankOps)
		return tmp
	}
	tmp = slices.Grow(tmp[:0], len(ops))[:len(ops)]
	src, dst := ops, tmp
	for d := 15; d >= 0; d-- {
		var count [257]int
		for i := range src {
			count[int(headByte(&src[i], d))+1]++
		}
		if slices.Contains(count[1:], len(src)) {
			continue
		}
		for i := 1; i < 257; i++ {
			count[i] += count[i-1]
		}
		for i := range src {
			c := headByte(&src[i], d)
			dst[count[c]] = src[i]
			count[c]++
		}
		src, dst = dst, src
	}
	if &src[0] != &ops[0] {
		copy(ops, src)
	}
	for i := 0; i < len(ops); {
		j := i + 1
		for j < len(ops) && ops[j].hi == ops[i].hi && ops[j].lo == ops[i].lo {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(ops[i:j], compareRankOps)
		}
		i = j
	}
	clear(tmp)
	return tmp[:0]
}

// headByte returns byte d (0 first) of op's head.
func headByte(op *rankOp, d int) byte {
	if d < 8 {
		return byte(op.hi >> (56 - 8*d))
	}
	return byte(op.lo >> (56 - 8*(d-8)))
}
