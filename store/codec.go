package store

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// The stored values are hand-rolled binary records: a version byte, then
// fields in a fixed order, integers as varints, strings and byte slices with
// a uvarint length prefix, floats as 8 little-endian bytes, times as a
// presence byte, varint seconds and uvarint nanoseconds. Records of newer
// versions also name strings by their ID in the store's string table
// (strtab.go) and pack numbers tighter (decisionv4.go). Decoders never
// alias their input, since it is bbolt memory valid only inside a
// transaction.

// errRecord reports a stored value that does not decode.
var errRecord = errors.New("malformed record")

// encoder appends fields to a byte slice.
type encoder struct{ b []byte }

func (e *encoder) byte1(c byte)     { e.b = append(e.b, c) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)     { e.b = appendLP(e.b, s) }
func (e *encoder) f64(v float64)    { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *encoder) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.byte1(0)
		return
	}
	e.byte1(1)
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

// decoder reads fields in the order an encoder wrote them. The first error
// sticks: later reads return zero values and err reports it.
type decoder struct {
	b   []byte
	err error
	in  *interner // for istr; nil: every string is a new copy
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errRecord
	}
	d.b = nil
}

func (d *decoder) byte1() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// view returns the next length-prefixed field without copying it.
func (d *decoder) view() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) str() string { return string(d.view()) }

// list reads a count and that many strings with elem; nil when the count
// is 0. A count larger than the bytes left is corrupt (every string takes
// at least one byte), so a damaged count never allocates.
func (d *decoder) list(elem func() string) []string {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = elem()
	}
	return out
}

// bytes returns a copy of the next length-prefixed field; nil when empty.
func (d *decoder) bytes() []byte {
	p := d.view()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (d *decoder) f64() float64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) time() time.Time {
	switch d.byte1() {
	case 0:
		return time.Time{}
	case 1:
		sec := d.varint()
		nsec := d.uvarint()
		if nsec >= uint64(time.Second) {
			d.fail()
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec)).UTC()
	}
	d.fail()
	return time.Time{}
}

// version reads the leading version byte and returns it, failing unless
// it is between 1 and newest: decoders read every version up to the one
// they write.
func (d *decoder) version(newest byte) byte {
	v := d.byte1()
	if v == 0 || v > newest {
		d.fail()
		return 0
	}
	return v
}
