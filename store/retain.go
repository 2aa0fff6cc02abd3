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

// Retain deletes the decisions stored before the given time with their
// event ID and user index entries, the IP index pairs whose newest
// decision is from a day before that time's day, and the rejected records
// older than it. Rollups are kept. User summaries are corrected: counts drop, FirstSeen
// moves to the oldest remaining decision, MaxRisk is recomputed when the
// deleted decisions held it, and a user with no decision left loses the
// summary. The work runs in transactions of at most 1000 records through
// the writer; if ctx ends, Retain stops between them and returns how many
// decisions it deleted with ctx.Err(). Concurrent calls run one at a time.
func (db *DB) Retain(ctx context.Context, before time.Time) (deleted int, err error) {
	db.retainMu.Lock()
	defer db.retainMu.Unlock()
	end := timeKey(before)
	recheck := map[string]bool{}
	for {
		var n int
		var risky []string
		err := db.submit(ctx, retainChunk, func(st *txState) error {
			// Summaries and the user index must hold every decision
			// that may be deleted.
			if err := st.mergeUsers(); err != nil {
				return err
			}
			var err error
			n, risky, err = st.retainDecisions(end, retainChunk)
			return err
		})
		if err != nil {
			return deleted, fmt.Errorf("retain: %w", err)
		}
		deleted += n
		for _, u := range risky {
			recheck[u] = true
		}
		if n < retainChunk {
			break
		}
	}
	var from []byte
	for {
		var next []byte
		err := db.submit(ctx, retainChunk, func(st *txState) error {
			var err error
			next, err = st.retainIPs(dayOf(end.nanos()), from, retainChunk)
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
		if err := db.recomputeMaxRisk(ctx, user); err != nil {
			return deleted, fmt.Errorf("retain: %w", err)
		}
	}
	return deleted, nil
}

// retainDecisions deletes up to limit decisions with keys before end and
// their index entries, and corrects the summaries of their users. It
// returns how many it deleted and the users whose MaxRisk may have been
// among them.
func (st *txState) retainDecisions(end decKey, limit int) (int, []string, error) {
	type victim struct {
		pendingUser
		eventID string
	}
	var victims []victim
	var d decision.Decision
	c := st.decisions.Cursor()
	for k, v := c.First(); k != nil && len(victims) < limit && bytes.Compare(k, end[:]) < 0; k, v = c.Next() {
		if err := decodeDecision(k, v, &d, false); err != nil {
			return 0, nil, err
		}
		victims = append(victims, victim{pendingOf(decKey(k), &d), d.EventID})
	}
	// gone summarises, per user, the deleted decisions.
	gone := map[string]*decision.UserSummary{}
	for _, x := range victims {
		if err := st.decisions.Delete(x.key[:]); err != nil {
			return 0, nil, err
		}
		ek := eventKey(x.eventID)
		if bytes.Equal(st.events.Get(ek), x.key[:]) {
			if err := st.events.Delete(ek); err != nil {
				return 0, nil, err
			}
		}
		st.dDecisions--
		if x.d.UserID == "" {
			continue
		}
		if err := st.byUser.Delete(append(userPrefix(x.d.UserID), x.key[:]...)); err != nil {
			return 0, nil, err
		}
		addSummary(gone, &x.d)
	}
	var risky []string
	for user, g := range gone {
		v := st.users.Get([]byte(user))
		if v == nil {
			continue
		}
		var s decision.UserSummary
		if err := decodeSummary(user, v, &s); err != nil {
			return 0, nil, err
		}
		s.Count -= min(s.Count, g.Count)
		s.Denies -= min(s.Denies, g.Denies)
		s.Challenges -= min(s.Challenges, g.Challenges)
		prefix := userPrefix(user)
		k, _ := st.byUser.Cursor().Seek(prefix)
		if s.Count == 0 || k == nil || !bytes.HasPrefix(k, prefix) {
			if err := st.users.Delete([]byte(user)); err != nil {
				return 0, nil, err
			}
			continue
		}
		s.FirstSeen = decKey(k[len(prefix):]).time()
		if g.MaxRisk >= s.MaxRisk {
			risky = append(risky, user)
		}
		if err := st.putEnc(st.users, []byte(user), func(b []byte) []byte { return encodeSummary(b, &s) }); err != nil {
			return 0, nil, err
		}
	}
	return len(victims), risky, nil
}

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

// recomputeMaxRisk sets a user's MaxRisk from the decisions still stored:
// it reads them outside the writer, then has the writer fold in any
// decisions stored since and write the result.
func (db *DB) recomputeMaxRisk(ctx context.Context, user string) error {
	var maxRisk float64
	var last decKey
	r := windowRange(time.Time{}, time.Time{})
	r.user = user
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		last, err = scanMaxRisk(ctx, tx, r, &maxRisk)
		return err
	})
	if err != nil {
		return fmt.Errorf("max risk of user %q: %w", user, err)
	}
	return db.submit(ctx, 1, func(st *txState) error {
		v := st.users.Get([]byte(user))
		if v == nil {
			return nil
		}
		var s decision.UserSummary
		if err := decodeSummary(user, v, &s); err != nil {
			return err
		}
		s.MaxRisk = maxRisk
		tail := keyRange{lo: last.after(), hi: maxKey, user: user}
		if _, err := scanMaxRisk(context.Background(), st.tx, tail, &s.MaxRisk); err != nil {
			return err
		}
		return st.putEnc(st.users, []byte(user), func(b []byte) []byte { return encodeSummary(b, &s) })
	})
}

// scanMaxRisk raises *m to the highest risk among the scored decisions of r
// and returns the key of the last decision it read (zero when none).
func scanMaxRisk(ctx context.Context, tx *bolt.Tx, r keyRange, m *float64) (last decKey, err error) {
	var d decision.Decision
	err = r.scan(ctx, tx, func(k, v []byte) (bool, error) {
		if err := decodeDecision(k, v, &d, false); err != nil {
			return false, err
		}
		if d.Action != decision.ActionError {
			*m = max(*m, d.Risk)
		}
		last = decKey(k)
		return true, nil
	})
	return last, err
}
