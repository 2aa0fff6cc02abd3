package store

import (
	"cmp"
	"encoding/binary"
	"maps"
	"slices"

	"github.com/riskwatch/riskwatch/decision"
)

// Dimension rollups count, per minute and per hour of event time and per
// action, how many decisions have each value of each dimension of SPEC
// section 11 (decision.Dimension): what explain reads for a long baseline
// instead of the decisions. A record keeps the top dimRollTop values of a
// dimension (the largest counts, ties broken by value) and moves the
// others into an "other" remainder, so that the values listed plus the
// remainder always add up to the exact number of occurrences.
//
// Key: 8-byte big-endian unix seconds of the period start, then the
// action's index (decision.Action.Index), one byte.
//
// Record layout (version 1):
//
//	version byte
//	uvarint         decisions of the action in the period
//	per dimension, in decision.Dimension order, an lp section:
//	  uvarint       rest: occurrences of values not listed
//	  uvarint       rest max: at most this many of them are of any one
//	                value (0 when rest is 0)
//	  uvarint       number of values, then per value in byte order:
//	    lp value
//	    uvarint     count (a lower bound of the value's occurrences)
//
// A value's true count lies in [count, count + rest max]; an unlisted
// value's in [0, rest max]. A record written in one go lists exact counts
// and its rest max is the largest count it dropped; the writer adds each
// transaction's decisions to the records they fall in and truncates
// again, which makes the bound grow (see dimTally.truncate).
const dimRollV = 1

// dimRollTop is how many values of a dimension a record lists.
const dimRollTop = 512

// dimTally is one dimension of a record or of a sum of records: values
// with their counts, the rest and its bound per value.
type dimTally struct {
	counts        map[string]uint64
	rest, restMax uint64
}

// bound returns how many occurrences any one value may have beyond its
// listed count.
func (t *dimTally) bound() uint64 {
	if t.restMax > 0 && t.restMax < t.rest {
		return t.restMax
	}
	return t.rest
}

func (t *dimTally) add(v string, n uint64) {
	if t.counts == nil {
		t.counts = make(map[string]uint64)
	}
	t.counts[v] += n
}

// merge adds o, the tally of a disjoint set of decisions.
func (t *dimTally) merge(o *dimTally) {
	for v, n := range o.counts {
		t.add(v, n)
	}
	b := t.bound() + o.bound()
	t.rest += o.rest
	t.restMax = min(b, t.rest)
}

// truncate keeps the k values with the largest counts (ties broken by
// value) and moves the others into the rest. A dropped value may have had
// up to the old bound hidden already, so the new bound is the old one plus
// the largest count dropped.
func (t *dimTally) truncate(k int) {
	if len(t.counts) <= k {
		return
	}
	vals := slices.Collect(maps.Keys(t.counts))
	slices.SortFunc(vals, func(x, y string) int {
		if c := cmp.Compare(t.counts[y], t.counts[x]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	b := t.bound()
	var largest uint64
	for _, v := range vals[k:] {
		n := t.counts[v]
		t.rest += n
		largest = max(largest, n)
		delete(t.counts, v)
	}
	t.restMax = min(b+largest, t.rest)
}

// dimRec is a decoded record: the decisions of one action in one period.
type dimRec struct {
	total uint64
	dims  [decision.NumDimensions]dimTally
}

// merge adds o, the record of a disjoint set of decisions.
func (r *dimRec) merge(o *dimRec) {
	r.total += o.total
	for i := range r.dims {
		r.dims[i].merge(&o.dims[i])
	}
}

// encode truncates every dimension to dimRollTop values and appends the
// record form of r to b.
func (r *dimRec) encode(b []byte) []byte {
	e := encoder{b}
	e.byte1(dimRollV)
	e.uvarint(r.total)
	var sec encoder
	var vals []string
	for i := range r.dims {
		t := &r.dims[i]
		t.truncate(dimRollTop)
		sec.b = sec.b[:0]
		sec.uvarint(t.rest)
		sec.uvarint(t.restMax)
		sec.uvarint(uint64(len(t.counts)))
		vals = vals[:0]
		for v := range t.counts {
			vals = append(vals, v)
		}
		slices.Sort(vals)
		for _, v := range vals {
			sec.str(v)
			sec.uvarint(t.counts[v])
		}
		e.bytes(sec.b)
	}
	return e.b
}

// decodeDimRec adds the record val to r. It fails on a record that no
// encoder writes: a bad version, a short or long section, values out of
// order, a count of zero, a rest max above the rest, or counts that
// overflow.
func decodeDimRec(val []byte, r *dimRec) error {
	d := decoder{b: val}
	d.version(dimRollV)
	var o dimRec
	o.total = d.uvarint()
	for i := range o.dims {
		sec := d.view()
		if d.err != nil {
			return d.err
		}
		if err := decodeDimSection(sec, o.total, &o.dims[i]); err != nil {
			return err
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return d.err
	}
	r.merge(&o)
	return nil
}

// decodeDimSection reads one dimension's section into t. No count may
// exceed total, the decisions of the record (a decision counts a value
// once).
func decodeDimSection(sec []byte, total uint64, t *dimTally) error {
	d := decoder{b: sec}
	t.rest = d.uvarint()
	t.restMax = d.uvarint()
	n := d.uvarint()
	if d.err != nil || t.restMax > t.rest || (t.rest > 0) != (t.restMax > 0) || n > uint64(len(d.b)) {
		return errRecord
	}
	if n > 0 {
		t.counts = make(map[string]uint64, n)
	}
	var prev []byte
	for i := uint64(0); i < n; i++ {
		v := d.view()
		c := d.uvarint()
		if d.err != nil || c == 0 || c > total || len(v) == 0 || (i > 0 && string(v) <= string(prev)) {
			return errRecord
		}
		t.counts[string(v)] = c
		prev = v
	}
	if len(d.b) != 0 {
		return errRecord
	}
	return nil
}

// lookupDimSection returns the count listed for value in a dimension's
// section, without decoding the others, and the section's bound.
func lookupDimSection(sec []byte, value string) (n, bound uint64, err error) {
	d := decoder{b: sec}
	t := dimTally{rest: d.uvarint(), restMax: d.uvarint()}
	cnt := d.uvarint()
	for i := uint64(0); i < cnt && d.err == nil; i++ {
		v := d.view()
		c := d.uvarint()
		if string(v) == value {
			n = c
		}
	}
	if d.err != nil {
		return 0, 0, d.err
	}
	return n, t.bound(), nil
}

// dimSection returns the section of dimension dim of a record, and the
// record's total.
func dimSection(val []byte, dim decision.Dimension) (sec []byte, total uint64, err error) {
	d := decoder{b: val}
	d.version(dimRollV)
	total = d.uvarint()
	for i := range decision.NumDimensions {
		s := d.view()
		if i == dim {
			sec = s
		}
	}
	if d.err != nil {
		return nil, 0, d.err
	}
	return sec, total, nil
}

// dimRollKey is the key of the record of period sec and action a (its
// index).
func dimRollKey(b []byte, sec int64, a uint8) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(sec))
	return append(b, a)
}

// dimVals are the values a decision counts under in the dimension
// rollups: vals[ends[i-1]:ends[i]] are its distinct values of dimension
// i.
type dimVals struct {
	vals []string
	ends [decision.NumDimensions]int
}

// dimValsOf returns d's distinct values of every dimension, as explain
// counts them (decision.Dimension.Values, each value once).
func dimValsOf(d *decision.Decision) dimVals {
	var dv dimVals
	dv.vals = make([]string, 0, int(decision.NumDimensions)+len(d.Signals))
	for dim := range decision.NumDimensions {
		start := len(dv.vals)
		dv.vals = dim.Values(d, dv.vals)
		// Distinct: only signals can repeat.
		for i := start + 1; i < len(dv.vals); i++ {
			if slices.Contains(dv.vals[start:i], dv.vals[i]) {
				dv.vals = slices.Delete(dv.vals, i, i+1)
				i--
			}
		}
		dv.ends[dim] = len(dv.vals)
	}
	return dv
}

// each calls fn with each dimension and value.
func (dv *dimVals) each(fn func(dim decision.Dimension, v string)) {
	start := 0
	for dim, end := range dv.ends {
		for _, v := range dv.vals[start:end] {
			fn(decision.Dimension(dim), v)
		}
		start = end
	}
}
