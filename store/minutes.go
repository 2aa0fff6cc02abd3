package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// Per-minute answers for alert rules (SPEC section 13), which are
// evaluated on a grid of whole minutes of event time and cache what they
// read minute by minute. A filter of action: and type: terms only (or
// none) is answered from the rollups, which keep counting decisions that
// retention has removed; any other walks the event-time index (the user
// index when the filter names a user) and decodes each decision without
// its raw request and response.

// rollupTerm is a filter term the rollups can answer.
type rollupTerm struct {
	neg bool
	// action is the term's action ("" for a type term), typ its type
	// without the "$".
	action, typ string
}

// rollupFilter returns the terms of f when all are action: or type: terms
// (none for an empty f), and false otherwise.
func rollupFilter(f *decision.Filter) ([]rollupTerm, bool) {
	if f.Empty() {
		return nil, true
	}
	var terms []rollupTerm
	for t := range strings.SplitSeq(f.String(), " ") {
		neg := strings.HasPrefix(t, "-")
		name, value, ok := strings.Cut(strings.TrimPrefix(t, "-"), ":")
		if !ok || value == "" || strings.ContainsAny(value, `"\`) {
			return nil, false
		}
		switch name {
		case "action":
			terms = append(terms, rollupTerm{neg: neg, action: value})
		case "type":
			terms = append(terms, rollupTerm{neg: neg, typ: strings.TrimPrefix(value, "$")})
		default:
			return nil, false
		}
	}
	return terms, true
}

// rollupMatch reports whether decisions of type typ and action index a
// match every term, as decision.Filter.Match compares them.
func rollupMatch(terms []rollupTerm, typ []byte, a int) bool {
	for _, t := range terms {
		var hit bool
		if t.action != "" {
			hit = strings.EqualFold(string(decision.Actions[a]), t.action)
		} else {
			hit = strings.EqualFold(strings.TrimPrefix(string(typ), "$"), t.typ)
		}
		if hit == t.neg {
			return false
		}
	}
	return true
}

// minuteSpan checks that [from, to) is whole minutes, not empty and not
// longer than maxRateMinutes, and returns its bounds in unix seconds.
func minuteSpan(from, to time.Time) (int64, int64, error) {
	if !from.Equal(from.Truncate(time.Minute)) || !to.Equal(to.Truncate(time.Minute)) || !from.Before(to) {
		return 0, 0, fmt.Errorf("window %s to %s: want whole minutes, from before to", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	}
	f, t := from.Unix(), to.Unix()
	if (t-f)/minuteSecs > maxRateMinutes {
		return 0, 0, fmt.Errorf("window %s to %s is longer than %d minutes", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), maxRateMinutes)
	}
	return f, t, nil
}

// CountMinutes returns, for each minute of event time in [from, to) (whole
// minutes), oldest first, how many stored decisions match f (nil or empty:
// all of them).
func (db *DB) CountMinutes(ctx context.Context, f *decision.Filter, from, to time.Time) ([]uint64, error) {
	lo, hi, err := minuteSpan(from, to)
	if err != nil {
		return nil, fmt.Errorf("count minutes: %w", err)
	}
	out := make([]uint64, (hi-lo)/minuteSecs)
	terms, byRollup := rollupFilter(f)
	err = db.view(func(tx *bolt.Tx) error {
		if byRollup {
			return eachMinuteRecord(ctx, tx, lo, hi, func(i int64, v []byte) error {
				return walkRollup(v, func(name []byte, counts *[decision.NumActions]uint64, _ *[decision.NumScores][]byte) error {
					for a, c := range counts {
						if rollupMatch(terms, name, a) {
							out[i] += c
						}
					}
					return nil
				})
			})
		}
		return eachMatch(ctx, tx, f, from, to, func(i int64, _ *decision.Decision) {
			out[i]++
		})
	})
	if err != nil {
		return nil, fmt.Errorf("count minutes of %q: %w", f.String(), err)
	}
	return out, nil
}

// HistogramMinutes returns, for each minute of event time in [from, to)
// (whole minutes), oldest first, the distribution of score s over the
// stored decisions that match f (nil or empty: all of them), split by
// action; error decisions carry no scores and are not counted.
func (db *DB) HistogramMinutes(ctx context.Context, f *decision.Filter, s decision.Score, from, to time.Time) ([]decision.Histogram, error) {
	if s < 0 || s >= decision.NumScores {
		return nil, fmt.Errorf("histogram minutes: unknown score %d", s)
	}
	lo, hi, err := minuteSpan(from, to)
	if err != nil {
		return nil, fmt.Errorf("histogram minutes: %w", err)
	}
	out := make([]decision.Histogram, (hi-lo)/minuteSecs)
	for i := range out {
		m := time.Unix(lo+int64(i)*minuteSecs, 0).UTC()
		out[i] = decision.Histogram{Score: s, From: m, To: m.Add(time.Minute)}
	}
	terms, byRollup := rollupFilter(f)
	err = db.view(func(tx *bolt.Tx) error {
		if byRollup {
			var acc hist
			return eachMinuteRecord(ctx, tx, lo, hi, func(i int64, v []byte) error {
				h := &out[i]
				return walkRollup(v, func(name []byte, _ *[decision.NumActions]uint64, secs *[decision.NumScores][]byte) error {
					clear(acc[:])
					if err := addSection(secs[s], &acc); err != nil {
						return err
					}
					for a := range scoredActions {
						if !rollupMatch(terms, name, a) {
							continue
						}
						for b := range 101 {
							h.Counts[b][a] += acc[a*101+b]
							h.Total += acc[a*101+b]
						}
					}
					return nil
				})
			})
		}
		return eachMatch(ctx, tx, f, from, to, func(i int64, d *decision.Decision) {
			a := d.Action.Index()
			if a >= scoredActions {
				return
			}
			h := &out[i]
			h.Counts[decision.Bucket(d.ScoreValue(s))][a]++
			h.Total++
		})
	})
	if err != nil {
		return nil, fmt.Errorf("histogram minutes of %s for %q: %w", s, f.String(), err)
	}
	return out, nil
}

// eachMinuteRecord calls fn with the index (from lo) and value of every
// minute rollup record in [lo, hi) (unix seconds, whole minutes).
func eachMinuteRecord(ctx context.Context, tx *bolt.Tx, lo, hi int64, fn func(i int64, v []byte) error) error {
	c := tx.Bucket(bktMinutes).Cursor()
	n := 0
	for k, v := c.Seek(u64(uint64(lo))); k != nil && int64(readU64(k)) < hi; k, v = c.Next() {
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn((int64(readU64(k))-lo)/minuteSecs, v); err != nil {
			return fmt.Errorf("rollup minute %s: %w", time.Unix(int64(readU64(k)), 0).UTC().Format(time.RFC3339), err)
		}
	}
	return nil
}

// eachMatch calls fn with the minute index (from the minute of from) and
// the decoded fields of every stored decision matching f with an event
// time in [from, to). d is valid only during the call.
func eachMatch(ctx context.Context, tx *bolt.Tx, f *decision.Filter, from, to time.Time, fn func(i int64, d *decision.Decision)) error {
	user := f.UserID()
	lo := from.UnixNano()
	var d decision.Decision
	codec := txCodec(tx)
	return walkDecisions(ctx, tx, user, evRangeOf(from, to), func(e evKey, v []byte) (bool, error) {
		k := e.dec()
		if err := decodeDecision(k[:], v, &d, codec); err != nil {
			return false, err
		}
		if (user != "" && d.UserID != user) || !f.Match(&d) {
			return true, nil
		}
		fn((e.ev()-lo)/int64(time.Minute), &d)
		return true, nil
	})
}

// MatchMinutes walks the stored decisions with an event time in [from, to)
// (whole minutes) once, in event-time order, and calls fn with each one's
// minute index (from the minute of from), its fields (without the raw
// request and response) and which of fs it matches (match[i] for fs[i]),
// for every decision that matches at least one. d and match are valid only
// during the call. It is how several filters share one walk.
func (db *DB) MatchMinutes(ctx context.Context, fs []*decision.Filter, from, to time.Time, fn func(i int64, d *decision.Decision, match []bool)) error {
	if _, _, err := minuteSpan(from, to); err != nil {
		return fmt.Errorf("match minutes: %w", err)
	}
	lo := from.UnixNano()
	match := make([]bool, len(fs))
	var d decision.Decision
	err := db.view(func(tx *bolt.Tx) error {
		return walkDecisions(ctx, tx, "", evRangeOf(from, to), func(e evKey, v []byte) (bool, error) {
			k := e.dec()
			if err := decodeDecision(k[:], v, &d, db.brief()); err != nil {
				return false, err
			}
			any := false
			for i, f := range fs {
				match[i] = f.Match(&d)
				any = any || match[i]
			}
			if any {
				fn((e.ev()-lo)/int64(time.Minute), &d, match)
			}
			return true, nil
		})
	})
	if err != nil {
		return fmt.Errorf("match minutes: %w", err)
	}
	return nil
}

// ByRollups reports whether CountMinutes and HistogramMinutes answer f
// from the rollups (without walking decisions).
func ByRollups(f *decision.Filter) bool {
	_, ok := rollupFilter(f)
	return ok
}
