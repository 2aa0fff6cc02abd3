package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// Every window here is a window of event time. Window queries answered
// from rollups (Rates, Histogram, WhatIf, Totals without a filter) work in
// whole minutes: a window [from, to) covers every minute that starts at or
// after from rounded down to its minute and before to. Rollups are never
// removed by retention, so they count decisions that Retain has since
// deleted.

// maxRateMinutes bounds the length of a Rates answer (about 69 days).
const maxRateMinutes = 100_000

// Rates returns the per-minute counts by action from the minute of from to
// the minute of to, one entry per minute including empty ones, oldest
// first. A zero from starts at the first stored minute, a zero to ends at
// the current minute.
func (db *DB) Rates(ctx context.Context, from, to time.Time) ([]decision.MinuteCounts, error) {
	if to.IsZero() {
		to = db.now()
	}
	var out []decision.MinuteCounts
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktMinutes).Cursor()
		if from.IsZero() {
			k, _ := c.First()
			if k == nil {
				return nil
			}
			from = time.Unix(int64(readU64(k)), 0)
		}
		f, t := windowSecs(from, to)
		if f >= t {
			return nil
		}
		if (t-f)/minuteSecs > maxRateMinutes {
			return fmt.Errorf("%w: window %s to %s is longer than %d minutes: ask for a shorter one", ErrBadQuery,
				from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), maxRateMinutes)
		}
		out = make([]decision.MinuteCounts, (t-f)/minuteSecs)
		for i := range out {
			out[i].Minute = time.Unix(f+int64(i)*minuteSecs, 0).UTC()
		}
		end := uint64(t)
		for k, v := c.Seek(u64(uint64(f))); k != nil && readU64(k) < end; k, v = c.Next() {
			counts, err := rollupTotals(v)
			if err != nil {
				return fmt.Errorf("rollup minute %d: %w", readU64(k), err)
			}
			out[(int64(readU64(k))-f)/minuteSecs].ByAction = counts
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("rates: %w", err)
	}
	return out, nil
}

// Histogram returns the distribution of score s over the window [from, to)
// (whole minutes; zero values are unbounded), from the rollups. From and To
// of the result are the minute-aligned window actually read (zero when
// unbounded).
func (db *DB) Histogram(ctx context.Context, s decision.Score, from, to time.Time) (decision.Histogram, error) {
	if s < 0 || s >= decision.NumScores {
		return decision.Histogram{}, fmt.Errorf("histogram: %w: unknown score %d", ErrBadQuery, s)
	}
	f, t := windowSecs(from, to)
	h := decision.Histogram{Score: s, From: alignedTime(from, f), To: alignedTime(to, t)}
	var acc hist
	err := db.view(func(tx *bolt.Tx) error {
		return eachRollup(ctx, tx, f, t, func(_ int64, v []byte) error {
			return walkRollup(v, func(_ []byte, _ *[decision.NumActions]uint64, secs *[decision.NumScores][]byte) error {
				return addSection(secs[s], &acc)
			})
		})
	})
	if err != nil {
		return decision.Histogram{}, fmt.Errorf("histogram of %s: %w", s, err)
	}
	for a := range scoredActions {
		for b := range 101 {
			c := acc[a*101+b]
			h.Counts[b][a] = c
			h.Total += c
		}
	}
	return h, nil
}

// alignedTime returns the window bound sec as a time, or zero when the
// requested bound t was zero (unbounded).
func alignedTime(t time.Time, sec int64) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// WhatIf computes the actual × simulated matrix of th.Score under th over
// [from, to) (whole minutes; zero values are unbounded), overall and per
// event type, from the rollups.
func (db *DB) WhatIf(ctx context.Context, th decision.Thresholds, from, to time.Time) (decision.WhatIf, error) {
	s := th.Score
	if s < 0 || s >= decision.NumScores {
		return decision.WhatIf{}, fmt.Errorf("what-if: %w: unknown score %d", ErrBadQuery, s)
	}
	f, t := windowSecs(from, to)
	w := decision.WhatIf{Thresholds: th, From: alignedTime(from, f), To: alignedTime(to, t), ByType: map[string]*[decision.NumActions][3]uint64{}}
	types := map[string]*hist{}
	err := db.view(func(tx *bolt.Tx) error {
		return eachRollup(ctx, tx, f, t, func(_ int64, v []byte) error {
			return walkRollup(v, func(name []byte, counts *[decision.NumActions]uint64, secs *[decision.NumScores][]byte) error {
				w.Errors += counts[decision.ActionError.Index()]
				h := types[string(name)]
				if h == nil {
					h = new(hist)
					types[string(name)] = h
				}
				return addSection(secs[s], h)
			})
		})
	})
	if err != nil {
		return decision.WhatIf{}, fmt.Errorf("what-if on %s: %w", s, err)
	}
	var sim [101]int
	for b := range sim {
		sim[b] = th.SimulateBucket(b)
	}
	for name, h := range types {
		m := new([decision.NumActions][3]uint64)
		for a := range scoredActions {
			for b := range 101 {
				m[a][sim[b]] += h[a*101+b]
			}
		}
		w.ByType[name] = m
		for a := range m {
			for x := range m[a] {
				w.Matrix[a][x] += m[a][x]
			}
		}
	}
	return w, nil
}

// Flips returns up to limit (default 100) scored decisions with an event
// time in [from, to) whose simulated action under th differs from the
// actual one, newest event time first, by walking the event-time index.
func (db *DB) Flips(ctx context.Context, th decision.Thresholds, from, to time.Time, limit int) ([]decision.Decision, error) {
	return db.FlipsOf(ctx, th, from, to, limit, Full)
}

// FlipsOf is Flips reading the decisions as brief says.
func (db *DB) FlipsOf(ctx context.Context, th decision.Thresholds, from, to time.Time, limit int, brief Brief) ([]decision.Decision, error) {
	s := th.Score
	if s < 0 || s >= decision.NumScores {
		return nil, fmt.Errorf("flips: %w: unknown score %d", ErrBadQuery, s)
	}
	if limit <= 0 {
		limit = 100
	}
	r := evRangeOf(from, to)
	r.reverse = true
	var out []decision.Decision
	var d decision.Decision
	err := db.view(func(tx *bolt.Tx) error {
		return walkDecisions(ctx, tx, "", r, func(e evKey, v []byte) (bool, error) {
			k := e.dec()
			if err := decodeDecision(k[:], v, &d, db.brief()); err != nil {
				return false, err
			}
			if d.Action == decision.ActionError || th.Of(&d) == d.Action {
				return true, nil
			}
			var full decision.Decision
			if brief {
				full = d
			} else if err := decodeDecision(k[:], v, &full, db.whole()); err != nil {
				return false, err
			}
			out = append(out, full)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("flips on %s: %w", s, err)
	}
	return out, nil
}

// Totals counts the decisions with an event time in [since, until) (zero
// values are unbounded) that match f. Without a filter the counts come from
// the rollups (whole minutes, including decisions retention has removed);
// with one they come from a walk of the event-time index (of the user
// index when f names a user) between the window and f's since: and until:
// bounds. First and Last are the oldest and newest event times of the
// stored decisions counted (of those in the exact window, without a
// filter). Rejected counts rejected records received in the window (all
// ever stored when the window is unbounded), Inbox is the current inbox
// depth.
func (db *DB) Totals(ctx context.Context, since, until time.Time, f *decision.Filter) (decision.Totals, error) {
	tot := decision.Totals{ByAction: map[decision.Action]uint64{}, ByType: map[string]uint64{}}
	for _, a := range decision.Actions {
		tot.ByAction[a] = 0
	}
	err := db.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		tot.Inbox = readU64(meta.Get(metaInbox))
		if since.IsZero() && until.IsZero() {
			tot.Rejected = readU64(meta.Get(metaRejected))
		} else if err := countRejected(ctx, tx, since, until, &tot.Rejected); err != nil {
			return err
		}
		if f.Empty() {
			return rollupTotalsIn(ctx, tx, since, until, &tot)
		}
		return scanTotals(ctx, tx, since, until, f, &tot)
	})
	if err != nil {
		return decision.Totals{}, fmt.Errorf("totals: %w", err)
	}
	return tot, nil
}

func rollupTotalsIn(ctx context.Context, tx *bolt.Tx, since, until time.Time, tot *decision.Totals) error {
	f, t := windowSecs(since, until)
	err := eachRollup(ctx, tx, f, t, func(_ int64, v []byte) error {
		return walkRollup(v, func(name []byte, counts *[decision.NumActions]uint64, _ *[decision.NumScores][]byte) error {
			var sum uint64
			for a, c := range counts {
				tot.ByAction[decision.Actions[a]] += c
				sum += c
			}
			if sum > 0 {
				tot.ByType[string(name)] += sum
				tot.Decisions += sum
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	r := evRangeOf(since, until)
	for _, reverse := range []bool{false, true} {
		r.reverse = reverse
		err := walkTime(ctx, tx, r, func(e evKey) (bool, error) {
			if reverse {
				tot.Last = e.time()
			} else {
				tot.First = e.time()
			}
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func scanTotals(ctx context.Context, tx *bolt.Tx, since, until time.Time, f *decision.Filter, tot *decision.Totals) error {
	if s := f.Since(); s.After(since) {
		since = s
	}
	if u := f.Until(); !u.IsZero() && (until.IsZero() || u.Before(until)) {
		until = u
	}
	user := f.UserID()
	var d decision.Decision
	codec := txCodec(tx)
	return walkDecisions(ctx, tx, user, evRangeOf(since, until), func(e evKey, v []byte) (bool, error) {
		k := e.dec()
		if err := decodeDecision(k[:], v, &d, codec); err != nil {
			return false, err
		}
		if (user != "" && d.UserID != user) || !f.Match(&d) {
			return true, nil
		}
		if tot.Decisions == 0 {
			tot.First = d.EventTime
		}
		tot.Last = d.EventTime
		tot.Decisions++
		tot.ByAction[d.Action]++
		tot.ByType[d.Type]++
		return true, nil
	})
}

// countRejected counts rejected records whose Time is in [since, until).
func countRejected(ctx context.Context, tx *bolt.Tx, since, until time.Time, n *uint64) error {
	c := tx.Bucket(bktRejected).Cursor()
	i := 0
	var rj Rejected
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if i++; i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := decodeRejected(v, &rj); err != nil {
			return fmt.Errorf("rejected record %x: %w", k, err)
		}
		if !rj.Time.Before(since) && (until.IsZero() || rj.Time.Before(until)) {
			*n++
		}
	}
	return nil
}
