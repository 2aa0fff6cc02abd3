package store

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// User state (the by_user index and the users summaries) is written in
// batches. Writing it with every decision would touch one random page per
// user per transaction and cap throughput far below the decisions' own
// cost, so the writer keeps the user side of recent decisions in memory and
// folds it in, sorted by user, once mergeEvery decisions are pending, after
// mergeIdle without writes, before retention, and at Close. bktMeta's user
// mark records the newest decision key folded in, in the same transaction.
//
// Readers stay exact: the decisions after the mark are the newest ones and
// lie in the same snapshot, so a query reads the index up to the mark and
// the pending decisions themselves after it. After a crash, Open rebuilds
// the pending list from the decisions after the mark.
const (
	mergeEvery = 16384
	mergeIdle  = time.Second
)

// pendingUser is what a user's state needs of one decision: d holds only
// the fields addSummary reads.
type pendingUser struct {
	key decKey
	d   decision.Decision
}

func pendingOf(key decKey, d *decision.Decision) pendingUser {
	return pendingUser{key: key, d: decision.Decision{
		Time: key.time(), UserID: d.UserID, Email: d.Email, IP: d.IP,
		Country: d.Country, Action: d.Action, Risk: d.Risk,
	}}
}

// userMark returns the user mark of a snapshot (zero on a new store).
func userMark(tx *bolt.Tx) decKey {
	var k decKey
	if v := tx.Bucket(bktMeta).Get(metaUserMark); len(v) == len(k) {
		k = decKey(v)
	}
	return k
}

// loadPending returns the user-side records of the decisions after the
// user mark, oldest first.
func loadPending(tx *bolt.Tx) ([]pendingUser, error) {
	var out []pendingUser
	mark := userMark(tx)
	c := tx.Bucket(bktDecisions).Cursor()
	next := mark.after()
	var d decision.Decision
	for k, v := c.Seek(next[:]); k != nil; k, v = c.Next() {
		if err := decodeDecision(k, v, &d, false); err != nil {
			return nil, err
		}
		if d.UserID != "" {
			out = append(out, pendingOf(decKey(k), &d))
		}
	}
	return out, nil
}

// mergeUsers writes the index entries and summaries of the decisions this
// transaction has pending and moves the user mark to the newest key
// assigned so far.
func (st *txState) mergeUsers() error {
	pend := st.w.pend[st.mergedTo:]
	if len(pend) > 0 {
		// Sort positions, not the records, by user then key.
		order := make([]int32, len(pend))
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortFunc(order, func(a, b int32) int {
			if c := strings.Compare(indexPart(pend[a].d.UserID), indexPart(pend[b].d.UserID)); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		for len(order) > 0 {
			user := indexPart(pend[order[0]].d.UserID)
			n := 1
			for n < len(order) && indexPart(pend[order[n]].d.UserID) == user {
				n++
			}
			if err := st.mergeUser(user, pend, order[:n]); err != nil {
				return fmt.Errorf("user %q: %w", user, err)
			}
			order = order[n:]
		}
		st.mergedTo = len(st.w.pend)
	}
	if err := st.meta.Put(metaUserMark, st.keep(st.last[:])); err != nil {
		return err
	}
	st.merged = true
	return nil
}

// mergeUser writes one user's pending index entries, pend[i] for i in
// order (ascending keys), and folds them into the summary.
func (st *txState) mergeUser(user string, pend []pendingUser, order []int32) error {
	key := append(userPrefix(user), make([]byte, len(decKey{}))...)
	dk := key[len(key)-len(decKey{}):]
	var add decision.UserSummary
	for _, i := range order {
		copy(dk, pend[i].key[:])
		if err := st.byUser.Put(st.keep(key), nil); err != nil {
			return err
		}
		addDecision(&add, &pend[i].d)
	}
	var s decision.UserSummary
	if v := st.users.Get([]byte(user)); v != nil {
		if err := decodeSummary(user, v, &s); err != nil {
			return err
		}
	}
	mergeSummary(&s, &add)
	return st.putEnc(st.users, []byte(user), func(b []byte) []byte { return encodeSummary(b, &s) })
}

// addSummary folds a decision (newer than those already in m) into the
// summaries in m.
func addSummary(m map[string]*decision.UserSummary, d *decision.Decision) {
	user := indexPart(d.UserID)
	s := m[user]
	if s == nil {
		s = &decision.UserSummary{UserID: user}
		m[user] = s
	}
	addDecision(s, d)
}

// addDecision folds a decision newer than those in s into s.
func addDecision(s *decision.UserSummary, d *decision.Decision) {
	if s.Count == 0 {
		s.FirstSeen = d.Time
	}
	s.LastSeen = d.Time
	s.Count++
	switch d.Action {
	case decision.ActionDeny:
		s.Denies++
	case decision.ActionChallenge:
		s.Challenges++
	}
	if d.Action != decision.ActionError {
		s.MaxRisk = max(s.MaxRisk, d.Risk)
	}
	if d.Email != "" {
		s.Email = d.Email
	}
	if d.IP != "" {
		s.LastIP = d.IP
	}
	if d.Country != "" {
		s.LastCountry = d.Country
	}
}

// mergeSummary adds the newer decisions summarised in add to s.
func mergeSummary(s, add *decision.UserSummary) {
	if s.Count == 0 {
		s.FirstSeen = add.FirstSeen
		s.MaxRisk = add.MaxRisk
	}
	s.LastSeen = add.LastSeen
	s.Count += add.Count
	s.Denies += add.Denies
	s.Challenges += add.Challenges
	s.MaxRisk = max(s.MaxRisk, add.MaxRisk)
	if add.Email != "" {
		s.Email = add.Email
	}
	if add.LastIP != "" {
		s.LastIP = add.LastIP
	}
	if add.LastCountry != "" {
		s.LastCountry = add.LastCountry
	}
}

// pendingSummaries summarises, per user, the decisions of a snapshot that
// are newer than its user mark.
func pendingSummaries(ctx context.Context, tx *bolt.Tx) (map[string]*decision.UserSummary, error) {
	out := map[string]*decision.UserSummary{}
	r := keyRange{lo: userMark(tx).after(), hi: maxKey}
	var d decision.Decision
	err := r.scan(ctx, tx, func(k, v []byte) (bool, error) {
		if u := peekUser(v); len(u) == 0 {
			return true, nil
		}
		if err := decodeDecision(k, v, &d, false); err != nil {
			return false, err
		}
		addSummary(out, &d)
		return true, nil
	})
	return out, err
}

// peekUser returns the user ID field of a stored decision without copying
// or decoding the rest; nil when it does not decode.
func peekUser(val []byte) []byte {
	r := decoder{b: val}
	r.version(decisionV)
	u := r.view()
	if r.err != nil {
		return nil
	}
	return u
}

// scanUser is keyRange.scan for one user: index entries up to the user
// mark, then the pending decisions after it (the other way round in
// reverse).
func (r keyRange) scanUser(ctx context.Context, tx *bolt.Tx, fn func(k, v []byte) (bool, error)) error {
	split := userMark(tx).after()
	indexed, pending := r, r
	if bytes.Compare(split[:], indexed.hi[:]) < 0 {
		indexed.hi = split
	}
	if bytes.Compare(split[:], pending.lo[:]) > 0 {
		pending.lo = split
	}
	want := []byte(indexPart(r.user))
	stopped := false
	visit := func(filter bool) func(k, v []byte) (bool, error) {
		return func(k, v []byte) (bool, error) {
			if filter {
				u := peekUser(v)
				if len(u) > maxIndexPart {
					u = u[:maxIndexPart]
				}
				if !bytes.Equal(u, want) {
					return true, nil
				}
			}
			more, err := fn(k, v)
			stopped = !more
			return more, err
		}
	}
	steps := []func() error{
		func() error { return indexed.scanIndex(ctx, tx, visit(false)) },
		func() error { return pending.scanPlain(ctx, tx, visit(true)) },
	}
	if r.reverse {
		steps[0], steps[1] = steps[1], steps[0]
	}
	for _, step := range steps {
		if err := step(); err != nil || stopped {
			return err
		}
	}
	return nil
}

// sortSummaries orders summaries for Users.
func sortSummaries(out []decision.UserSummary, by decision.UserSort) {
	slices.SortFunc(out, func(a, b decision.UserSummary) int {
		var c int
		switch by {
		case decision.SortMaxRisk:
			c = cmp.Compare(b.MaxRisk, a.MaxRisk)
		case decision.SortDenies:
			c = cmp.Compare(b.Denies, a.Denies)
		}
		if c == 0 {
			c = b.LastSeen.Compare(a.LastSeen)
		}
		if c == 0 {
			c = strings.Compare(a.UserID, b.UserID)
		}
		return c
	})
}
