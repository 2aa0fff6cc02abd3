package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// Rollups are kept per minute and per hour of event time, keyed by the unix
// seconds of the period start (8 bytes, big-endian). A record holds, for
// every event type seen in the period, the count of decisions per action
// and, per score, a histogram of 101 buckets for each scored action (allow,
// challenge, deny; error decisions carry no scores). Totals over all types
// are sums over the types. A window query merges whole hours from the
// hourly bucket and the ragged ends from the minute bucket, so a 24h window
// reads at most 24 + 120 records. A write transaction reads, changes and
// writes each period its decisions fall in once (a backfill touches many).
//
// Record layout (version 1):
//
//	version byte
//	uvarint ×4      counts by action over all types (what Rates reads)
//	uvarint         number of types, then per type in name order:
//	  lp name
//	  uvarint ×4    counts by action
//	  per score:    lp section of histogram entries
//
// A section lists the non-zero slots (slot = action×101 + bucket) in
// increasing order as pairs (uvarint gap from the previous slot + 1,
// uvarint count); it is length-prefixed so that readers can skip the scores
// they do not need.
const rollupV = 1

// scoredActions is the number of actions that carry scores.
const scoredActions = 3

// histSlots is the length of one score's histogram: 101 buckets for each
// scored action.
const histSlots = scoredActions * 101

// hist is one score's histogram, indexed by action×101 + bucket.
type hist [histSlots]uint64

// typeRollup is the rollup of one event type.
type typeRollup struct {
	counts [decision.NumActions]uint64
	hists  [decision.NumScores]hist
}

// rollup is a decoded rollup record, by event type.
type rollup map[string]*typeRollup

func (r rollup) typ(name string) *typeRollup {
	t := r[name]
	if t == nil {
		t = new(typeRollup)
		r[name] = t
	}
	return t
}

// encode appends the record form of r to b.
func (r rollup) encode(b []byte) []byte {
	names := make([]string, 0, len(r))
	var totals [decision.NumActions]uint64
	for name, t := range r {
		names = append(names, name)
		for a, c := range t.counts {
			totals[a] += c
		}
	}
	slices.Sort(names)
	e := encoder{b}
	e.byte1(rollupV)
	for _, c := range totals {
		e.uvarint(c)
	}
	e.uvarint(uint64(len(names)))
	var sec encoder
	for _, name := range names {
		t := r[name]
		e.str(name)
		for _, c := range t.counts {
			e.uvarint(c)
		}
		for s := range t.hists {
			sec.b = sec.b[:0]
			next := 0
			for i, c := range t.hists[s] {
				if c == 0 {
					continue
				}
				sec.uvarint(uint64(i - next))
				sec.uvarint(c)
				next = i + 1
			}
			e.bytes(sec.b)
		}
	}
	return e.b
}

// decodeInto adds the record val to r.
func (r rollup) decodeInto(val []byte) error {
	return walkRollup(val, func(name []byte, counts *[decision.NumActions]uint64, secs *[decision.NumScores][]byte) error {
		t := r.typ(string(name))
		for a, c := range counts {
			t.counts[a] += c
		}
		for s, sec := range secs {
			if err := addSection(sec, &t.hists[s]); err != nil {
				return err
			}
		}
		return nil
	})
}

// rollupTotals reads only the counts by action of a record.
func rollupTotals(val []byte) ([decision.NumActions]uint64, error) {
	var totals [decision.NumActions]uint64
	r := decoder{b: val}
	r.version(rollupV)
	for a := range totals {
		totals[a] = r.uvarint()
	}
	return totals, r.err
}

// walkRollup calls fn for each type of a record with the type's name and
// counts and the still-encoded histogram sections. name, counts and secs
// are valid only during the call.
func walkRollup(val []byte, fn func(name []byte, counts *[decision.NumActions]uint64, secs *[decision.NumScores][]byte) error) error {
	r := decoder{b: val}
	r.version(rollupV)
	for range decision.NumActions {
		r.uvarint()
	}
	n := r.uvarint()
	var counts [decision.NumActions]uint64
	var secs [decision.NumScores][]byte
	for i := uint64(0); i < n && r.err == nil; i++ {
		name := r.view()
		for a := range counts {
			counts[a] = r.uvarint()
		}
		for s := range secs {
			secs[s] = r.view()
		}
		if r.err != nil {
			break
		}
		if err := fn(name, &counts, &secs); err != nil {
			return err
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return r.err
}

// addSection adds an encoded histogram section into h.
func addSection(sec []byte, h *hist) error {
	r := decoder{b: sec}
	next := uint64(0)
	for len(r.b) > 0 {
		slot := next + r.uvarint()
		c := r.uvarint()
		if r.err != nil || slot >= histSlots {
			return errRecord
		}
		h[slot] += c
		next = slot + 1
	}
	return nil
}

// rollContrib is one decision's share of the rollups: the minute of its
// event time and what it counts. neg takes it out instead (a migration
// moves decisions from one period to another).
type rollContrib struct {
	minute  int64 // unix seconds of the minute start
	typ     string
	action  uint8
	neg     bool
	buckets [decision.NumScores]uint8
}

// contribOf returns what decision d with event time ev (unix nanoseconds)
// adds to the rollups.
func contribOf(ev int64, d *decision.Decision) rollContrib {
	sec := ev / int64(time.Second)
	c := rollContrib{minute: sec - sec%minuteSecs, typ: d.Type, action: uint8(d.Action.Index())}
	for s := range decision.NumScores {
		c.buckets[s] = uint8(decision.Bucket(d.ScoreValue(s)))
	}
	return c
}

// apply adds (or takes out) one contribution.
func (r rollup) apply(c *rollContrib) {
	t := r.typ(c.typ)
	a := int(c.action)
	delta := uint64(1)
	if c.neg {
		delta = ^uint64(0) // adding it subtracts one
	}
	t.counts[a] += delta
	if a >= scoredActions {
		return
	}
	for s := range decision.NumScores {
		t.hists[s][a*101+int(c.buckets[s])] += delta
	}
}

// clean repairs r after contributions were taken out: a count that went
// below zero (a record that did not hold what was taken out, so a damaged
// one) becomes zero, and types left without decisions are dropped.
func (r rollup) clean() {
	const negative = 1 << 63
	for name, t := range r {
		var n uint64
		for a, c := range t.counts {
			if c >= negative {
				t.counts[a] = 0
			}
			n += t.counts[a]
		}
		for s := range t.hists {
			for i, c := range t.hists[s] {
				if c >= negative {
					t.hists[s][i] = 0
				}
			}
		}
		if n == 0 {
			delete(r, name)
		}
	}
}

// applyRollups adds contribs (sorted here by minute) to the minute and hour
// records, reading, changing and writing each record once; a record left
// empty is deleted. put stores a changed record.
func applyRollups(contribs []rollContrib, minutes, hours *bolt.Bucket, put func(b *bolt.Bucket, key []byte, r rollup) error) error {
	slices.SortFunc(contribs, func(a, b rollContrib) int { return cmp.Compare(a.minute, b.minute) })
	hourOf := func(c *rollContrib) int64 { return c.minute - c.minute%hourSecs }
	for lo := 0; lo < len(contribs); {
		hour := hourOf(&contribs[lo])
		hi := lo + 1
		for hi < len(contribs) && hourOf(&contribs[hi]) == hour {
			hi++
		}
		if err := applyPeriod(hours, hour, contribs[lo:hi], put); err != nil {
			return err
		}
		for m := lo; m < hi; {
			e := m + 1
			for e < hi && contribs[e].minute == contribs[m].minute {
				e++
			}
			if err := applyPeriod(minutes, contribs[m].minute, contribs[m:e], put); err != nil {
				return err
			}
			m = e
		}
		lo = hi
	}
	return nil
}

// applyPeriod applies cs to the record of the period starting at sec.
func applyPeriod(b *bolt.Bucket, sec int64, cs []rollContrib, put func(b *bolt.Bucket, key []byte, r rollup) error) error {
	key := u64(uint64(sec))
	r := rollup{}
	if v := b.Get(key); v != nil {
		if err := r.decodeInto(v); err != nil {
			return fmt.Errorf("rollup record at %s: %w", time.Unix(sec, 0).UTC().Format(time.RFC3339), err)
		}
	}
	neg := false
	for i := range cs {
		r.apply(&cs[i])
		neg = neg || cs[i].neg
	}
	if neg {
		r.clean()
	}
	if len(r) == 0 {
		return b.Delete(key)
	}
	return put(b, key, r)
}

// Rollup periods, in seconds.
const (
	minuteSecs = 60
	hourSecs   = 3600
	// maxRollupSec stands for "no upper bound": the last minute of year
	// 9999, far beyond any stored time and still a time JSON can carry (a
	// window's bounds are part of some answers).
	maxRollupSec = int64(253402300740) // 9999-12-31T23:59:00Z
)

// rollupSpan is a run of rollup records to read: keys in [from, to) of one
// bucket.
type rollupSpan struct {
	bucket   []byte
	from, to int64
}

// windowSecs turns a time window into whole minutes [from, to) in unix
// seconds: from rounds down to its minute, to rounds up, zero values mean
// unbounded.
func windowSecs(from, to time.Time) (int64, int64) {
	f := int64(0)
	if !from.IsZero() && from.Unix() > 0 {
		f = min(from.Unix(), maxRollupSec)
		f -= f % minuteSecs
	}
	t := maxRollupSec
	if !to.IsZero() {
		t = to.Unix()
		if to.Nanosecond() > 0 {
			t++
		}
		t = max(0, min(t, maxRollupSec))
		t += (minuteSecs - t%minuteSecs) % minuteSecs
	}
	return f, t
}

// rollupSpans plans the records covering the window [from, to) (unix
// seconds, whole minutes): hourly records for the whole hours inside it,
// minute records for the rest.
func rollupSpans(from, to int64) []rollupSpan {
	if from >= to {
		return nil
	}
	hs := from + (hourSecs-from%hourSecs)%hourSecs
	he := to - to%hourSecs
	if hs >= he {
		return []rollupSpan{{bktMinutes, from, to}}
	}
	return []rollupSpan{{bktMinutes, from, hs}, {bktHours, hs, he}, {bktMinutes, he, to}}
}

// eachRollup calls fn with every record (key in unix seconds) in the
// window [from, to), checking ctx every few records.
func eachRollup(ctx context.Context, tx *bolt.Tx, from, to int64, fn func(sec int64, val []byte) error) error {
	for _, sp := range rollupSpans(from, to) {
		if sp.from >= sp.to {
			continue
		}
		c := tx.Bucket(sp.bucket).Cursor()
		end := uint64(sp.to)
		n := 0
		for k, v := c.Seek(u64(uint64(sp.from))); k != nil; k, v = c.Next() {
			sec := readU64(k)
			if sec >= end {
				break
			}
			if n++; n%256 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := fn(int64(sec), v); err != nil {
				return fmt.Errorf("rollup %s at %s: %w", sp.bucket, time.Unix(int64(sec), 0).UTC().Format(time.RFC3339), err)
			}
		}
	}
	return nil
}
