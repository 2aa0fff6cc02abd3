package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
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
// again, which makes the bound grow (see dimMerger.truncate).
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

// dimRec is a decoded record: the decisions of one action in one period.
type dimRec struct {
	total uint64
	dims  [decision.NumDimensions]dimTally
}

// encode appends the record form of r, truncated, to b.
func (r *dimRec) encode(b []byte) []byte {
	var m dimMerger
	b, _ = m.mergeEncode(b, []*dimRec{r}, nil)
	return b
}

// decodeDimRec adds the record val to r. It fails on a record that no
// encoder writes: a bad version, a short or long section, values out of
// order or empty, a count of zero or above the record's decisions, or a
// rest max above the rest; r is then left part way.
func decodeDimRec(val []byte, r *dimRec) error {
	return walkDimRec(val, func(total uint64) { r.total += total }, func(dim decision.Dimension, sec []byte, total uint64) error {
		t := &r.dims[dim]
		bound := t.bound()
		rest, restMax, err := walkDimSection(sec, total, func(v []byte, n uint64) { t.add(string(v), n) })
		if err != nil {
			return err
		}
		// As dimTally.merge: the bounds add up.
		t.rest += rest
		t.restMax = min(bound+min(rest, restMax), t.rest)
		return nil
	})
}

// walkDimRec reads a record: it calls head with the record's decisions,
// then section with each dimension's section.
func walkDimRec(val []byte, head func(total uint64), section func(dim decision.Dimension, sec []byte, total uint64) error) error {
	d := decoder{b: val}
	d.version(dimRollV)
	total := d.uvarint()
	if d.err != nil {
		return d.err
	}
	head(total)
	for dim := range decision.NumDimensions {
		sec := d.view()
		if d.err != nil {
			return d.err
		}
		if err := section(dim, sec, total); err != nil {
			return err
		}
	}
	if len(d.b) != 0 {
		return errRecord
	}
	return nil
}

// walkDimSection reads one dimension's section, calling fn with each
// value (valid only during the call) and its count, in value order, and
// returns the rest and its bound. No count may exceed total, the decisions
// of the record (a decision counts a value once).
func walkDimSection(sec []byte, total uint64, fn func(v []byte, n uint64)) (rest, restMax uint64, err error) {
	d := decoder{b: sec}
	rest = d.uvarint()
	restMax = d.uvarint()
	n := d.uvarint()
	if d.err != nil || restMax > rest || (rest > 0) != (restMax > 0) || n > uint64(len(d.b)) {
		return 0, 0, errRecord
	}
	var prev []byte
	for i := uint64(0); i < n; i++ {
		v := d.view()
		c := d.uvarint()
		if d.err != nil || c == 0 || c > total || len(v) == 0 || (i > 0 && string(v) <= string(prev)) {
			return 0, 0, errRecord
		}
		fn(v, c)
		prev = v
	}
	if len(d.b) != 0 {
		return 0, 0, errRecord
	}
	return rest, restMax, nil
}

// dimEntry is a value and its count. The value is val, or raw when that
// is set: a stored record's bytes, valid until its transaction ends,
// which merging reads without copying.
type dimEntry struct {
	val string
	raw []byte
	n   uint64
}

// compare orders entries by value.
func (x *dimEntry) compare(y *dimEntry) int {
	switch {
	case x.raw != nil && y.raw != nil:
		return bytes.Compare(x.raw, y.raw)
	case x.raw != nil:
		return cmp.Compare(string(x.raw), y.val)
	case y.raw != nil:
		return cmp.Compare(x.val, string(y.raw))
	}
	return cmp.Compare(x.val, y.val)
}

// dimMerger adds gathered counts to stored records; it keeps its scratch
// space from one record to the next.
type dimMerger struct {
	add, stored, merged []dimEntry
	counts              []uint64
	sec                 encoder
}

// mergeEncode appends to b the record of the sum of rs and the stored
// record old (nil for none), each dimension truncated to its top
// dimRollTop values. It works on value-sorted lists, so its cost is linear
// in the records' sizes but for sorting the values gathered and, when it
// truncates, the counts.
func (m *dimMerger) mergeEncode(b []byte, rs []*dimRec, old []byte) ([]byte, error) {
	var olds [decision.NumDimensions][]byte
	var total uint64
	if old != nil {
		err := walkDimRec(old, func(t uint64) { total = t }, func(dim decision.Dimension, sec []byte, _ uint64) error {
			olds[dim] = sec
			return nil
		})
		if err != nil {
			return b, err
		}
	}
	oldTotal := total
	for _, r := range rs {
		total += r.total
	}
	e := encoder{b}
	e.byte1(dimRollV)
	e.uvarint(total)
	for dim := range decision.NumDimensions {
		var addRest, addBound uint64
		m.add = m.add[:0]
		for _, r := range rs {
			t := &r.dims[dim]
			for v, n := range t.counts {
				m.add = append(m.add, dimEntry{val: v, n: n})
			}
			addRest += t.rest
			addBound += t.bound()
		}
		slices.SortFunc(m.add, func(x, y dimEntry) int { return cmp.Compare(x.val, y.val) })
		sum := m.add[:0] // the values of several records, each once
		for _, x := range m.add {
			if k := len(sum) - 1; k >= 0 && sum[k].val == x.val {
				sum[k].n += x.n
			} else {
				sum = append(sum, x)
			}
		}
		m.add = sum
		m.stored = m.stored[:0]
		var rest, restMax uint64
		if olds[dim] != nil {
			var err error
			rest, restMax, err = walkDimSection(olds[dim], oldTotal, func(v []byte, n uint64) {
				m.stored = append(m.stored, dimEntry{raw: v, n: n})
			})
			if err != nil {
				return b, err
			}
		}
		bound := min(rest, restMax) + addBound
		rest += addRest
		m.merge()
		dropped, largest := m.truncate(dimRollTop)
		rest += dropped
		if rest == 0 {
			restMax = 0
		} else {
			restMax = min(max(bound+largest, 1), rest)
		}
		m.sec.b = m.sec.b[:0]
		m.sec.uvarint(rest)
		m.sec.uvarint(restMax)
		m.sec.uvarint(uint64(len(m.merged)))
		for _, x := range m.merged {
			if x.raw != nil {
				m.sec.bytes(x.raw)
			} else {
				m.sec.str(x.val)
			}
			m.sec.uvarint(x.n)
		}
		e.bytes(m.sec.b)
	}
	return e.b, nil
}

// merge sets m.merged to the sum of the sorted lists m.add and m.stored.
func (m *dimMerger) merge() {
	m.merged = m.merged[:0]
	a, s := m.add, m.stored
	for len(a) > 0 && len(s) > 0 {
		switch c := a[0].compare(&s[0]); {
		case c < 0:
			m.merged = append(m.merged, a[0])
			a = a[1:]
		case c > 0:
			m.merged = append(m.merged, s[0])
			s = s[1:]
		default:
			m.merged = append(m.merged, dimEntry{val: a[0].val, n: a[0].n + s[0].n})
			a, s = a[1:], s[1:]
		}
	}
	m.merged = append(append(m.merged, a...), s...)
}

// truncate keeps the k entries of m.merged with the largest counts (ties
// broken by value: the list is in value order, and the first tied ones
// are kept), in value order, and returns the sum and the largest of the
// counts dropped. A dropped value may have had up to the old bound hidden
// already, so the new bound is the old one plus the largest count dropped.
func (m *dimMerger) truncate(k int) (dropped, largest uint64) {
	if len(m.merged) <= k {
		return 0, 0
	}
	m.counts = m.counts[:0]
	for _, x := range m.merged {
		m.counts = append(m.counts, x.n)
	}
	slices.Sort(m.counts)
	th := m.counts[len(m.counts)-k] // the k-th largest count
	above := len(m.counts) - k
	for above < len(m.counts) && m.counts[above] == th {
		above++
	}
	ties := k - (len(m.counts) - above) // tied entries kept
	kept := m.merged[:0]
	for _, x := range m.merged {
		if x.n > th || x.n == th && ties > 0 {
			if x.n == th {
				ties--
			}
			kept = append(kept, x)
			continue
		}
		dropped += x.n
		largest = max(largest, x.n)
	}
	m.merged = kept
	return dropped, largest
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

// uaFamilies remembers the family of each user agent seen (a batch of
// decisions has few): classifying one costs more than the rest of a
// decision's values. nil remembers nothing.
type uaFamilies map[string]string

func (m uaFamilies) of(ua string) string {
	if f, ok := m[ua]; ok {
		return f
	}
	f := decision.ClassifyUA(ua).Family
	if m != nil && len(m) < 256 {
		m[ua] = f
	}
	return f
}

// dimValsOf returns d's distinct values of every dimension, as explain
// counts them (decision.Dimension.Values, each value once).
func dimValsOf(d *decision.Decision, ua uaFamilies) dimVals {
	var dv dimVals
	dv.vals = make([]string, 0, int(decision.NumDimensions)+len(d.Signals))
	for dim := range decision.NumDimensions {
		start := len(dv.vals)
		if dim == decision.DimUAFamily {
			if f := ua.of(d.UserAgent); f != "" {
				dv.vals = append(dv.vals, f)
			}
		} else {
			dv.vals = dim.Values(d, dv.vals)
		}
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
