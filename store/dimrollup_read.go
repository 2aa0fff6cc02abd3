package store

import (
	"context"
	"fmt"
	"math/bits"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// ValueTally counts, for one dimension, the decisions that have each value.
// When the dimension rollups read kept only their top values, Rest counts
// the occurrences of the values not listed, and a value's true count lies
// in [Counts[v], Counts[v] + Bound()]; with Rest zero, Counts are exact.
// The listed counts and Rest add up to the exact number of occurrences.
type ValueTally struct {
	Counts map[string]uint64
	// Rest is the number of occurrences not in Counts (the "other" row).
	Rest uint64
	// RestMax bounds the occurrences of any one value within Rest; zero
	// when Rest is zero.
	RestMax uint64
}

// Bound returns how many occurrences any one value may have beyond its
// listed count: RestMax, or Rest when that is smaller.
func (t *ValueTally) Bound() uint64 { return min(t.Rest, t.RestMax) }

// ValueCounts are the counts of every dimension of SPEC section 11 over a
// set of decisions, as explain counts them (each distinct value of a
// decision once). Total, the number of decisions, is exact.
type ValueCounts struct {
	Total uint64
	Dims  [decision.NumDimensions]ValueTally
}

// actionMask is a set of action indexes; zero means every action.
type actionMask uint8

func maskOf(actions []decision.Action) (actionMask, error) {
	var m actionMask
	for _, a := range actions {
		i := a.Index()
		if i < 0 {
			return 0, fmt.Errorf("unknown action %q", a)
		}
		m |= 1 << i
	}
	return m, nil
}

func (m actionMask) has(i int) bool { return m == 0 || m&(1<<i) != 0 }

// ValueCounts returns the dimension counts of the decisions with an event
// time in [from, to) and one of actions (every action when none is
// given), from one snapshot. The whole minutes of the period come from
// the dimension rollups (whole hours from the hourly ones), so the cost
// depends on the period's width, not on how many decisions it holds; the
// ragged ends, less than a minute each, are counted from the decisions.
// Counts of values that fell into a rollup's rest are bounds (see
// ValueTally). Retention removes the records of the minutes and hours it
// empties and keeps those of a period it empties only in part, whose
// counts then still include the deleted decisions.
func (db *DB) ValueCounts(ctx context.Context, from, to time.Time, actions ...decision.Action) (ValueCounts, error) {
	mask, err := maskOf(actions)
	if err != nil {
		return ValueCounts{}, fmt.Errorf("dimension counts: %w", err)
	}
	var acc dimRec
	ua := uaFamilies{}
	err = db.view(func(tx *bolt.Tx) error {
		return walkDimPeriod(ctx, tx, from, to, mask,
			func(val []byte) error { return decodeDimRec(val, &acc) },
			func(d *decision.Decision) {
				dv := dimValsOf(d, ua)
				acc.total++
				dv.each(func(dim decision.Dimension, v string) { acc.dims[dim].add(v, 1) })
			})
	})
	if err != nil {
		return ValueCounts{}, fmt.Errorf("dimension counts: %w", err)
	}
	var out ValueCounts
	out.Total = acc.total
	for i := range acc.dims {
		t := &acc.dims[i]
		out.Dims[i] = ValueTally{Counts: t.counts, Rest: t.rest, RestMax: t.restMax}
	}
	return out, nil
}

// RollValue is one value of one dimension.
type RollValue struct {
	Dim   decision.Dimension
	Value string
}

// ValueSeries counts, for each of vals, the decisions with that value and
// one of actions (every action when none is given) in each of bins equal
// bins of [from, to) by event time, oldest first: a decision at offset off
// from from is in bin floor(off × bins / (to - from)). As ValueCounts, it
// reads the whole minutes of each bin from the rollups and the rest from
// the decisions, in one snapshot. bounded is set when a value fell into
// the rest of a rollup read: its counts are then lower bounds.
func (db *DB) ValueSeries(ctx context.Context, from, to time.Time, bins int, vals []RollValue, actions ...decision.Action) (series [][]uint64, bounded bool, err error) {
	mask, err := maskOf(actions)
	if err != nil {
		return nil, false, fmt.Errorf("dimension series: %w", err)
	}
	span := to.Sub(from)
	if bins <= 0 || span <= 0 {
		return nil, false, fmt.Errorf("dimension series: %d bins over [%v, %v): want bins and a period", bins, from, to)
	}
	series = make([][]uint64, len(vals))
	for i := range series {
		series[i] = make([]uint64, bins)
	}
	// start returns the first instant of bin i: the smallest offset whose
	// bin is i, ceil(i × span / bins).
	start := func(i int) time.Time {
		hi, lo := bits.Mul64(uint64(i), uint64(span))
		q, r := bits.Div64(hi, lo, uint64(bins))
		if r > 0 {
			q++
		}
		return from.Add(time.Duration(q))
	}
	var buf []string
	err = db.view(func(tx *bolt.Tx) error {
		for b := range bins {
			err := walkDimPeriod(ctx, tx, start(b), start(b+1), mask,
				func(val []byte) error {
					for i, v := range vals {
						sec, _, err := dimSection(val, v.Dim)
						if err != nil {
							return err
						}
						n, bound, err := lookupDimSection(sec, v.Value)
						if err != nil {
							return err
						}
						series[i][b] += n
						bounded = bounded || bound > 0
					}
					return nil
				},
				func(d *decision.Decision) {
					for i, v := range vals {
						buf = v.Dim.Values(d, buf[:0])
						for _, x := range buf {
							if x == v.Value {
								series[i][b]++
								break
							}
						}
					}
				})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("dimension series: %w", err)
	}
	return series, bounded, nil
}

// walkDimPeriod calls record with each dimension rollup record of an
// action in mask that covers a whole minute of [from, to) (hourly records
// for whole hours), and decision with each decision of an action in mask
// in the rest of [from, to), at most a minute at either end.
func walkDimPeriod(ctx context.Context, tx *bolt.Tx, from, to time.Time, mask actionMask, record func(val []byte) error, dec func(d *decision.Decision)) error {
	if !from.Before(to) {
		return nil
	}
	// The whole minutes inside [from, to).
	f := from.Truncate(time.Minute)
	if f.Before(from) {
		f = f.Add(time.Minute)
	}
	t := to.Truncate(time.Minute)
	if epoch := time.Unix(0, 0); f.Before(epoch) {
		// Rollups start at 1970: what lies before is scanned.
		f = epoch
	}
	scan := func(a, b time.Time) error {
		if !a.Before(b) {
			return nil
		}
		decisions := tx.Bucket(bktDecisions)
		var d decision.Decision
		codec := txCodec(tx)
		return walkTime(ctx, tx, evRangeOf(a, b), func(e evKey) (bool, error) {
			k := e.dec()
			v := decisions.Get(k[:])
			if v == nil {
				return false, fmt.Errorf("time index names missing decision %s", k.id())
			}
			if err := decodeDecision(k[:], v, &d, codec); err != nil {
				return false, err
			}
			if mask.has(d.Action.Index()) {
				dec(&d)
			}
			return true, nil
		})
	}
	if !f.Before(t) {
		return scan(from, to)
	}
	if err := scan(from, f); err != nil {
		return err
	}
	for _, sp := range rollupSpans(f.Unix(), t.Unix()) {
		bucket := bktDimMinutes
		if string(sp.bucket) == string(bktHours) {
			bucket = bktDimHours
		}
		c := tx.Bucket(bucket).Cursor()
		n := 0
		for k, v := c.Seek(u64(uint64(sp.from))); k != nil; k, v = c.Next() {
			if len(k) != 9 {
				return fmt.Errorf("dimension rollup key %x: %w", k, errRecord)
			}
			sec := int64(readU64(k[:8]))
			if sec >= sp.to {
				break
			}
			if n++; n%256 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if !mask.has(int(k[8])) {
				continue
			}
			if err := record(v); err != nil {
				return fmt.Errorf("dimension rollup %s at %s: %w", bucket, time.Unix(sec, 0).UTC().Format(time.RFC3339), err)
			}
		}
	}
	return scan(t, to)
}
