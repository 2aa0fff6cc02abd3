package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// The batched indexes (the user index, by_ip, by_dim) and the users
// summaries are written in batches (the user and dimension entries as a
// run of by_dim: see dimruns.go and userindex.go). Their keys are spread
// over the whole key space (by user, by IP, by value), so writing them
// with every decision would touch one random page per entry per
// transaction and cap throughput far below the decisions' own cost. The writer keeps what they need of recent
// decisions in memory and folds it in, sorted by the keys bbolt sorts by,
// once mergeEvery decisions are pending, after mergeIdle without writes,
// before retention, and at Close. bktMeta's index mark records the newest
// decision key folded in, in the same transaction.
//
// Readers stay exact: the decisions after the mark are the newest ones and
// lie in the same snapshot, so a query reads the indexes (which hold the
// decisions up to the mark) and the pending decisions themselves. After a
// crash, Open rebuilds the pending list from the decisions after the mark.
const (
	mergeEvery = 16384
	mergeIdle  = time.Second
)

// userFields are the fields of a decision that its user's summary reads.
type userFields struct {
	email, ip, country string
	action             decision.Action
	risk               float64
}

func fieldsOf(d *decision.Decision) userFields {
	return userFields{email: d.Email, ip: d.IP, country: d.Country, action: d.Action, risk: d.Risk}
}

// pendingDec is what the batched indexes need of one decision after the
// index mark.
type pendingDec struct {
	key  decKey
	ev   int64
	user string // cut to maxIndexPart
	f    userFields
	dims [numKinds]string
}

// indexed reports whether the decision has anything for the batched
// indexes (a user or a dimension value).
func (p *pendingDec) indexed() bool {
	if p.user != "" {
		return true
	}
	for _, v := range p.dims {
		if v != "" {
			return true
		}
	}
	return false
}

// indexMark returns the index mark of a snapshot (zero on a new store).
func indexMark(tx *bolt.Tx) decKey {
	var k decKey
	if v := tx.Bucket(bktMeta).Get(metaIndexMark); len(v) == len(k) {
		k = decKey(v)
	}
	return k
}

// scanPending calls fn with the key and value of every decision after the
// index mark of tx, oldest first.
func scanPending(ctx context.Context, tx *bolt.Tx, fn func(k, v []byte) (bool, error)) error {
	lo := indexMark(tx).after()
	return walk(ctx, tx.Bucket(bktDecisions).Cursor(), lo[:], maxKey[:], false, fn)
}

// loadPending returns the pending records of the decisions after the index
// mark, oldest first.
func loadPending(tx *bolt.Tx) ([]pendingDec, error) {
	var out []pendingDec
	var d decision.Decision
	codec := txCodec(tx)
	err := scanPending(context.Background(), tx, func(k, v []byte) (bool, error) {
		if err := decodeDecision(k, v, &d, codec); err != nil {
			return false, err
		}
		p := pendingDec{key: decKey(k), ev: clampNanos(d.EventTime), user: indexPart(d.UserID), f: fieldsOf(&d)}
		dimValues(&d, &p.dims)
		if p.indexed() {
			out = append(out, p)
		}
		return true, nil
	})
	return out, err
}

// mergeIndexes folds in all pending index state and moves the index mark
// to the newest key assigned so far: the merge prepared in the
// background, if one is under way (waiting for it), then the decisions
// pending after it.
func (st *txState) mergeIndexes() error {
	if err := st.applyPrepared(true); err != nil {
		return err
	}
	if pend := st.w.pend[st.mergedTo:]; len(pend) > 0 {
		m := &mergePrep{pend: pend}
		m.prepare()
		if err := st.applyMerge(m); err != nil {
			return err
		}
		st.mergedTo = len(st.w.pend)
	}
	if err := st.meta.Put(metaIndexMark, st.keep(st.last[:])); err != nil {
		return err
	}
	st.mark, st.merged = st.last, true
	return nil
}

// applyPrepared applies the merge prepared in the background, if it is
// ready (or, with wait, under way), and moves the index mark to the newest
// decision it covers; once per transaction.
func (st *txState) applyPrepared(wait bool) error {
	if st.prepApplied {
		return nil
	}
	m := st.w.takePrep(wait)
	if m == nil {
		return nil
	}
	if err := st.applyMerge(m); err != nil {
		return err
	}
	if err := st.meta.Put(metaIndexMark, st.keep(m.upTo[:])); err != nil {
		return err
	}
	st.mark, st.prepApplied = m.upTo, true
	return nil
}

// applyMerge writes a prepared merge: the users' summaries, by_ip and a
// by_dim run.
func (st *txState) applyMerge(m *mergePrep) error {
	for _, apply := range []func(*mergePrep) error{st.mergeSummaries, st.mergeByIP, st.mergeByDim} {
		if err := apply(m); err != nil {
			return fmt.Errorf("merge index state: %w", err)
		}
	}
	return nil
}

// appendEv appends the event key of event time ev and decision key k to b.
func appendEv(b []byte, ev int64, k decKey) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(ev))
	return append(b, k[:]...)
}

// mergeByDim appends the user and dimension index entries of the merge as
// one run.
func (st *txState) mergeByDim(m *mergePrep) error {
	if err := st.appendRun(len(m.dims.ents), func(add func(k, v []byte) error) error { return m.dims.each(m.pend, add) }); err != nil {
		return fmt.Errorf("dimension index: %w", err)
	}
	return nil
}

// mergeByIP adds the merge's (IP, user) pairs, each with the event-time day
// of its newest decision; a pair already stored with that day or a later
// one is only read.
func (st *txState) mergeByIP(m *mergePrep) error {
	for _, p := range m.ips {
		k := m.ipKey(p)
		if v := get(&st.byIPC, st.byIP, k); len(v) == 4 && binary.BigEndian.Uint32(v) >= p.day {
			continue
		}
		v := st.encode(func(b []byte) []byte { return binary.BigEndian.AppendUint32(b, p.day) })
		if err := st.byIP.Put(st.keep(k), v); err != nil {
			return fmt.Errorf("ip index: %w", err)
		}
	}
	return nil
}

// mergeSummaries folds the merge into its users' summaries, one read and
// write per user, in key order. This is the one place where a user's
// summary before the merge (old) and after it (s) are both known.
func (st *txState) mergeSummaries(m *mergePrep) error {
	rank := st.rankBatch()
	for i := range m.users {
		u := &m.users[i]
		var old summary
		if v := get(&st.usersC, st.users, []byte(u.user)); v != nil {
			if err := decodeSummary(u.user, v, &old); err != nil {
				return err
			}
		}
		s := old
		s.merge(&u.add)
		if err := st.putEnc(st.users, []byte(u.user), func(b []byte) []byte { return encodeSummary(b, &s) }); err != nil {
			return fmt.Errorf("summary of user %q: %w", u.user, err)
		}
		rank.move(u.user, &old, &s)
	}
	return rank.write()
}

// sortSummaries orders summaries for Users.
func sortSummaries(out []decision.UserSummary, by decision.UserSort) {
	slices.SortFunc(out, func(a, b decision.UserSummary) int { return by.Compare(&a, &b) })
}
