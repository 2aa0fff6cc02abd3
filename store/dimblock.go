package store

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// The encoding of a by_dim block (the value of a block key; see
// dimruns.go for the runs the blocks make up).
//
// Version 1 (schema 4 and 5): the entries back to back in key order, each
// uvarint(len key) key uvarint(len value) value. Its first byte is the
// length of a non-empty key, never 0.
//
// Version 2 starts with the bytes 0, blockV2, then the entries in key
// order, each front-coded against the entry before it in the block:
//
//	uvarint h: shared<<2 | tail<<1 | same
//	uvarint(len suffix) suffix
//	if tail: uvarint zigzag(n - n'), uvarint zigzag(s - s')
//	if not same: uvarint(len value) value
//
// A key is its head and, when tail is set, a 16-byte tail read as two
// big-endian numbers n and s (every by_dim key ends with a decision key,
// whose stored time and sequence grow together); n' and s' are those of
// the last entry before it with a tail (0 at the block's start, with
// wrapping arithmetic). The head is the first shared bytes of the previous
// entry's head followed by suffix; same says the value is the previous
// entry's value (empty at the block's start).
//
// Both are read by blockReader; blockWriter writes version 2.
const blockV2 = 2

// blockTail is the length of the delta-coded end of a version-2 key.
const blockTail = 16

// blockPageSlack is what a page holding one block needs besides the
// block's value: the page and element headers and the block's key (8-byte
// run ID and first entry key). A block is cut so that all of it fits the
// size it is cut at (two 4 KiB pages at the default size), rather than
// spilling a few bytes into a third page.
const blockPageSlack = 16 + 16 + 8

// errBlock reports a block that does not decode.
var errBlock = errors.New("malformed dimension index block")

// blockWriter cuts a run's sorted entries into blocks and hands each to put
// (which must copy what it keeps).
type blockWriter struct {
	id    uint64
	size  int
	buf   []byte
	first []byte
	key   []byte
	n     uint64
	put   func(k, v []byte) error

	// The previous entry of the block: its head, value and tail numbers.
	head, val  []byte
	tailN      uint64
	tailS      uint64
	entryStart int
}

// add appends an entry; entries must come in key order.
func (w *blockWriter) add(k, v []byte) error {
	if len(w.buf) > 0 {
		mark := len(w.buf)
		w.encode(k, v)
		if blockPageSlack+len(w.first)+len(w.buf) <= w.size {
			w.n++
			return nil
		}
		// The entry does not fit: the block ends before it.
		w.buf = w.buf[:mark]
		if err := w.flush(); err != nil {
			return err
		}
	}
	w.start(k)
	w.encode(k, v)
	w.n++
	if blockPageSlack+len(w.first)+len(w.buf) >= w.size {
		return w.flush()
	}
	return nil
}

// start begins a block whose first entry key is k.
func (w *blockWriter) start(k []byte) {
	w.first = append(w.first[:0], k...)
	w.buf = append(w.buf[:0], 0, blockV2)
	w.head, w.val = w.head[:0], w.val[:0]
	w.tailN, w.tailS = 0, 0
}

// encode appends entry k, v to the block, front-coded against the one
// before.
func (w *blockWriter) encode(k, v []byte) {
	head, tail := k, []byte(nil)
	if len(k) >= blockTail {
		head, tail = k[:len(k)-blockTail], k[len(k)-blockTail:]
	}
	shared := commonPrefix(w.head, head)
	h := uint64(shared) << 2
	if tail != nil {
		h |= 2
	}
	same := bytes.Equal(v, w.val)
	if same {
		h |= 1
	}
	w.buf = binary.AppendUvarint(w.buf, h)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(head)-shared))
	w.buf = append(w.buf, head[shared:]...)
	if tail != nil {
		n, s := binary.BigEndian.Uint64(tail), binary.BigEndian.Uint64(tail[8:])
		w.buf = binary.AppendVarint(w.buf, int64(n-w.tailN))
		w.buf = binary.AppendVarint(w.buf, int64(s-w.tailS))
		w.tailN, w.tailS = n, s
	}
	if !same {
		w.buf = binary.AppendUvarint(w.buf, uint64(len(v)))
		w.buf = append(w.buf, v...)
		w.val = append(w.val[:0], v...)
	}
	w.head = append(w.head[:0], head...)
}

// flush hands the block to put.
func (w *blockWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	w.key = append(binary.BigEndian.AppendUint64(w.key[:0], w.id), w.first...)
	err := w.put(w.key, w.buf)
	w.buf = w.buf[:0]
	return err
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// blockReader reads the entries of one block of either version, in order.
// Keys and values stay valid (and unchanged) after the reader moves on or
// is reset: version-1 keys and every value are the block's own bytes
// (bbolt memory, valid in the transaction); version-2 keys are rebuilt in
// memory of their own.
type blockReader struct {
	b   []byte // the entries not read yet
	v2  bool
	err error
	// k and v are the entry read last.
	k, v []byte
	// head is the head of the version-2 entry read last; arena holds the
	// keys rebuilt from this block (appended to, never overwritten).
	head, arena  []byte
	tailN, tailS uint64
}

// reset starts reading block.
func (r *blockReader) reset(block []byte) {
	*r = blockReader{b: block}
	if len(block) > 0 && block[0] == 0 {
		if len(block) < 2 || block[1] != blockV2 {
			r.fail()
			return
		}
		r.v2, r.b = true, block[2:]
	}
}

func (r *blockReader) fail() {
	r.err, r.b, r.k, r.v = errBlock, nil, nil, nil
}

// more reports whether entries are left.
func (r *blockReader) more() bool { return len(r.b) > 0 }

// next reads the next entry into k and v; false at the end of the block or
// on damage (err is then set).
func (r *blockReader) next() bool {
	if len(r.b) == 0 {
		return false
	}
	if !r.v2 {
		d := decoder{b: r.b}
		r.k, r.v = d.view(), d.view()
		if d.err != nil || len(r.k) == 0 {
			r.fail()
			return false
		}
		r.b = d.b
		return true
	}
	d := decoder{b: r.b}
	h := d.uvarint()
	shared := h >> 2
	suffix := d.view()
	if d.err != nil || shared > uint64(len(r.head)) {
		r.fail()
		return false
	}
	start := len(r.arena)
	r.arena = append(r.arena, r.head[:shared]...)
	r.arena = append(r.arena, suffix...)
	r.head = r.arena[start:len(r.arena):len(r.arena)]
	if h&2 != 0 {
		r.tailN += uint64(d.varint())
		r.tailS += uint64(d.varint())
		r.arena = binary.BigEndian.AppendUint64(r.arena, r.tailN)
		r.arena = binary.BigEndian.AppendUint64(r.arena, r.tailS)
	}
	if h&1 == 0 {
		r.v = d.view()
	} else if r.v == nil {
		r.v = []byte{}
	}
	if d.err != nil || len(r.arena) == start {
		r.fail()
		return false
	}
	r.k = r.arena[start:len(r.arena):len(r.arena)]
	r.b = d.b
	return true
}

// blockLast returns the last entry key of block (nil when it has none).
func blockLast(block []byte) ([]byte, error) {
	var r blockReader
	r.reset(block)
	var last []byte
	for r.next() {
		last = r.k
	}
	return last, r.err
}
