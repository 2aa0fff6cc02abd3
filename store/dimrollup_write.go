package store

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// dimRollAcc gathers what the decisions of a write transaction add to the
// dimension rollups: one record per minute and action, exact (never
// truncated) until it is added to the stored records.
type dimRollAcc map[dimRollPeriod]*dimRec

// dimRollPeriod names a record: the unix seconds of its period's start and
// an action's index.
type dimRollPeriod struct {
	sec    int64
	action uint8
}

func comparePeriods(x, y dimRollPeriod) int {
	if c := cmp.Compare(x.sec, y.sec); c != 0 {
		return c
	}
	return cmp.Compare(x.action, y.action)
}

// add counts one decision with event time ev (unix nanoseconds), action
// index action and values dv.
func (a *dimRollAcc) add(ev int64, action uint8, dv *dimVals) {
	if *a == nil {
		*a = make(dimRollAcc)
	}
	sec := ev / int64(time.Second)
	p := dimRollPeriod{sec - sec%minuteSecs, action}
	r := (*a)[p]
	if r == nil {
		r = new(dimRec)
		(*a)[p] = r
	}
	r.total++
	start := 0
	for dim, end := range dv.ends {
		for _, v := range dv.vals[start:end] {
			r.dims[dim].add(v, 1)
		}
		start = end
	}
}

// apply adds the gathered records to the stored minute and hour records,
// reading, changing and writing each once, in key order; put stores a
// record with the value enc appends.
func (a dimRollAcc) apply(minutesB, hoursB *bolt.Bucket, put func(b *bolt.Bucket, key []byte, enc func([]byte) []byte) error) error {
	if len(a) == 0 {
		return nil
	}
	var m dimMerger
	// Each hour's record gets the records of its minutes.
	hours := make(map[dimRollPeriod][]*dimRec)
	for p, r := range a {
		hp := dimRollPeriod{p.sec - p.sec%hourSecs, p.action}
		hours[hp] = append(hours[hp], r)
	}
	minutes := make(map[dimRollPeriod][]*dimRec, len(a))
	for p, r := range a {
		minutes[p] = []*dimRec{r}
	}
	for _, x := range []struct {
		b    *bolt.Bucket
		name []byte
		recs map[dimRollPeriod][]*dimRec
	}{{hoursB, bktDimHours, hours}, {minutesB, bktDimMinutes, minutes}} {
		for _, p := range slices.SortedFunc(maps.Keys(x.recs), comparePeriods) {
			key := dimRollKey(nil, p.sec, p.action)
			old := x.b.Get(key)
			var err error
			if err = put(x.b, key, func(b []byte) []byte {
				b, err = m.mergeEncode(b, x.recs[p], old)
				return b
			}); err != nil {
				return err
			}
			if err != nil {
				return fmt.Errorf("dimension rollup %s at %s: %w", x.name, time.Unix(p.sec, 0).UTC().Format(time.RFC3339), err)
			}
		}
	}
	return nil
}

// flushDimRollups writes the transaction's dimension rollups.
func (st *txState) flushDimRollups() error {
	return st.dimRoll.apply(st.tx.Bucket(bktDimMinutes), st.tx.Bucket(bktDimHours), st.putEnc)
}
