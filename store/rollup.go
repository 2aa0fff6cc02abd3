package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// Rollups are kept per minute and per hour, keyed by the unix seconds of the
// period start (8 bytes, big-endian). A record holds, for every event type
// seen in the period, the count of decisions per action and, per score, a
// histogram of 101 buckets for each scored action (allow, challenge, deny;
// error decisions carry no scores). Totals over all types are sums over the
// types. A window query merges whole hours from the hourly bucket and the
// ragged ends from the minute bucket, so a 24h window reads at most
// 24 + 120 records.
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

// add counts one decision.
func (r rollup) add(d *decision.Decision) {
	t := r.typ(d.Type)
	a := d.Action.Index()
	t.counts[a]++
	if a >= scoredActions {
		return
	}
	for s := range decision.NumScores {
		t.hists[s][a*101+decision.Bucket(d.ScoreValue(s))]++
	}
}

// merge adds o into r.
func (r rollup) merge(o rollup) {
	for name, ot := range o {
		t := r.typ(name)
		for a := range t.counts {
			t.counts[a] += ot.counts[a]
		}
		for s := range t.hists {
			for i, c := range ot.hists[s] {
				t.hists[s][i] += c
			}
		}
	}
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

// Rollup periods, in seconds.
const (
	minuteSecs = 60
	hourSecs   = 3600
	// maxRollupSec stands for "no upper bound" (far beyond any stored time).
	maxRollupSec = int64(1) << 40
)

// periodKey is the rollup key of the period of length size containing the
// unix time sec.
func periodKey(sec, size int64) []byte {
	return u64(uint64(sec - sec%size))
}

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
