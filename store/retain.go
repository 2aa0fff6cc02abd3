package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// retainChunk is how many records one retention transaction deletes, so
// that retention interleaves with other writes instead of holding the
// writer.
const retainChunk = 1000

// Retain deletes the decisions with an event time before the given time
// with every index entry they have (event ID, event time, user; their
// dimension entries are hidden at once and dropped when their runs are
// next merged), the IP index pairs whose newest decision has an event time on a
// day before that time's day, and the rejected records received before it.
// Rollups are kept, except the dimension rollups of the minutes and hours
// that end before it. User summaries are corrected: counts drop, FirstSeen and
// LastSeen move to the oldest and newest remaining decisions, MaxRisk and
// the latest email, IP and country are recomputed when the deleted
// decisions may have held them, and a user with no decision left loses the
// summary. The work runs in transactions of at most 1000 decisions through
// the writer; if ctx ends, Retain stops between them and returns how many
// decisions it deleted with ctx.Err(). Concurrent calls run one at a time.
func (db *DB) Retain(ctx context.Context, before time.Time) (deleted int, err error) {
	db.retainMu.Lock()
	defer db.retainMu.Unlock()
	end := evBound(before)
	recheck := map[string]bool{}
	for {
		var n int
		var stale []string
		err := db.submit(ctx, retainChunk, func(st *txState) error {
			// The indexes and summaries must hold every decision that
			// may be deleted.
			if err := st.mergeIndexes(); err != nil {
				return err
			}
			var err error
			n, stale, err = st.retainDecisions(end, retainChunk)
			return err
		})
		if err != nil {
			return deleted, fmt.Errorf("retain: %w", err)
		}
		deleted += n
		for _, u := range stale {
			recheck[u] = true
		}
		if n < retainChunk {
			break
		}
	}
	if err := db.retainDimRollups(ctx, before); err != nil {
		return deleted, err
	}
	var from []byte
	for {
		var next []byte
		err := db.submit(ctx, retainChunk, func(st *txState) error {
			var err error
			next, err = st.retainIPs(dayOf(end.ev()), from, retainChunk)
			return err
		})
		if err != nil {
			return deleted, fmt.Errorf("retain ip index: %w", err)
		}
		if next == nil {
			break
		}
		from = next
	}
	for {
		var n int
		err := db.submit(ctx, retainChunk, func(st *txState) error {
			var err error
			n, err = st.retainRejected(before, retainChunk)
			return err
		})
		if err != nil {
			return deleted, fmt.Errorf("retain rejected: %w", err)
		}
		if n < retainChunk {
			break
		}
	}
	for user := range recheck {
		if err := db.recomputeSummary(ctx, user); err != nil {
			return deleted, fmt.Errorf("retain: %w", err)
		}
	}
	return deleted, nil
}

// retainDecisions deletes up to limit decisions with event keys before end,
// oldest event time first, and their index entries, and corrects the
// summaries of their users. It returns how many it deleted and the users
// whose MaxRisk or latest values may have been among them.
func (st *txState) retainDecisions(end evKey, limit int) (int, []string, error) {
	var victims []evKey
	c := st.byTime.Cursor()
	for k, _ := c.First(); k != nil && len(victims) < limit && bytes.Compare(k, end[:]) < 0; k, _ = c.Next() {
		if len(k) != len(evKey{}) {
			return 0, nil, fmt.Errorf("time index entry %x: %w", k, errRecord)
		}
		victims = append(victims, evKey(k))
	}
	// gone summarises, per user, the deleted decisions.
	gone := map[string]*summary{}
	var d decision.Decision
	for _, e := range victims {
		k := e.dec()
		v := st.decisions.Get(k[:])
		if v == nil {
			return 0, nil, fmt.Errorf("time index names missing decision %s", k.id())
		}
		if err := decodeDecision(k[:], v, &d, st.w.db.brief()); err != nil {
			return 0, nil, err
		}
		if err := st.decisions.Delete(k[:]); err != nil {
			return 0, nil, err
		}
		ek := eventKey(d.EventID)
		if bytes.Equal(st.events.Get(ek), k[:]) {
			if err := st.events.Delete(ek); err != nil {
				return 0, nil, err
			}
		}
		if err := st.byTime.Delete(e[:]); err != nil {
			return 0, nil, err
		}
		st.dDecisions--
		if d.UserID == "" {
			continue
		}
		user := indexPart(d.UserID)
		g := gone[user]
		if g == nil {
			g = new(summary)
			gone[user] = g
		}
		f := fieldsOf(&d)
		g.add(e.ev(), &f)
	}
	// The dimension and user indexes' runs are not rewritten: a tombstone
	// hides the entries of every decision deleted so far (all before the
	// last victim in event-time order that were stored by now).
	ds, err := readDimState(st.tx)
	if err != nil {
		return 0, nil, err
	}
	if len(victims) > 0 {
		ds.addTomb(dimTomb{bound: victims[len(victims)-1], dec: st.last})
		if err := st.putDimState(&ds); err != nil {
			return 0, nil, err
		}
	}
	var stale []string
	for user, g := range gone {
		v := st.users.Get([]byte(user))
		if v == nil {
			continue
		}
		var s summary
		if err := decodeSummary(user, v, &s); err != nil {
			return 0, nil, err
		}
		s.count -= min(s.count, g.count)
		s.denies -= min(s.denies, g.denies)
		s.challenges -= min(s.challenges, g.challenges)
		first, last, ok, err := userSpan(st.tx, &ds, user)
		if err != nil {
			return 0, nil, err
		}
		if s.count == 0 || !ok {
			if err := st.users.Delete([]byte(user)); err != nil {
				return 0, nil, err
			}
			continue
		}
		s.first, s.last = first, last
		if g.maxRisk >= s.maxRisk || heldBy(g.email, g.emailAt, s.emailAt) || heldBy(g.ip, g.ipAt, s.ipAt) || heldBy(g.country, g.countryAt, s.countryAt) {
			stale = append(stale, user)
		}
		if err := st.putEnc(st.users, []byte(user), func(b []byte) []byte { return encodeSummary(b, &s) }); err != nil {
			return 0, nil, err
		}
	}
	return len(victims), stale, nil
}

// heldBy reports whether a summary's latest value, from event time at,
// may have come from deleted decisions whose latest value v came from
// event time gat.
func heldBy(v string, gat, at int64) bool { return v != "" && gat >= at }

// retainIPs examines up to limit IP index entries from key from on and
// deletes the pairs last seen before day. It returns the key to continue
// from, nil at the end.
func (st *txState) retainIPs(day uint32, from []byte, limit int) ([]byte, error) {
	var old [][]byte
	var next []byte
	c := st.byIP.Cursor()
	n := 0
	for k, v := c.Seek(from); k != nil; k, v = c.Next() {
		if n == limit {
			next = append([]byte(nil), k...)
			break
		}
		n++
		if len(v) != 4 || binary.BigEndian.Uint32(v) < day {
			old = append(old, append([]byte(nil), k...))
		}
	}
	for _, k := range old {
		if err := st.byIP.Delete(k); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// retainRejected deletes up to limit of the oldest rejected records whose
// Time is before t, stopping at the first that is not.
func (st *txState) retainRejected(t time.Time, limit int) (int, error) {
	var keys [][]byte
	var rj Rejected
	c := st.rejected.Cursor()
	for k, v := c.First(); k != nil && len(keys) < limit; k, v = c.Next() {
		if err := decodeRejected(v, &rj); err != nil {
			return 0, fmt.Errorf("rejected record %x: %w", k, err)
		}
		if !rj.Time.Before(t) {
			break
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := st.rejected.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// recomputeSummary rebuilds a user's summary from the decisions still
// stored: it reads the user's index entries outside the writer, then has
// the writer fold in the decisions indexed since and write the result.
func (db *DB) recomputeSummary(ctx context.Context, user string) error {
	var s summary
	var mark decKey
	err := db.view(func(tx *bolt.Tx) error {
		mark = indexMark(tx)
		ds, err := readDimState(tx)
		if err != nil {
			return err
		}
		decisions := tx.Bucket(bktDecisions)
		var d decision.Decision
		return walkUserRuns(ctx, tx, &ds, user, evRange{hi: maxEvKey}, func(e evKey) (bool, error) {
			dk := e.dec()
			v := decisions.Get(dk[:])
			if v == nil {
				return false, fmt.Errorf("user index names missing decision %s", dk.id())
			}
			if err := decodeDecision(dk[:], v, &d, db.brief()); err != nil {
				return false, err
			}
			f := fieldsOf(&d)
			s.add(e.ev(), &f)
			return true, nil
		})
	})
	if err != nil {
		return fmt.Errorf("summary of user %q: %w", user, err)
	}
	return db.submit(ctx, 1, func(st *txState) error {
		s := s // apply may run again
		if cur := indexMark(st.tx); cur != mark {
			// Decisions indexed since the read: arrival order, after
			// every decision read, so they win ties as they should.
			lo, hi := mark.after(), cur.after()
			want := []byte(user)
			var d decision.Decision
			err := walk(context.Background(), st.decisions.Cursor(), lo[:], hi[:], false, func(k, v []byte) (bool, error) {
				u := peekUser(v)
				if len(u) > maxIndexPart {
					u = u[:maxIndexPart]
				}
				if !bytes.Equal(u, want) {
					return true, nil
				}
				if err := decodeDecision(k, v, &d, db.brief()); err != nil {
					return false, err
				}
				f := fieldsOf(&d)
				s.add(clampNanos(d.EventTime), &f)
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		if s.count == 0 {
			return st.users.Delete([]byte(user))
		}
		return st.putEnc(st.users, []byte(user), func(b []byte) []byte { return encodeSummary(b, &s) })
	})
}
