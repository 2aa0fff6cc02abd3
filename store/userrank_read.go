package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// topUsers answers UserPage for the best limit users of rank r: it walks
// the rank index from its end and merges in the users with pending
// decisions (pend, the fold of tx's; their stored entries it skips), each
// placed by the rank key of its stored summary merged with the pending
// ones. Every summary it reads is checked against the entry that led to
// it.
func topUsers(ctx context.Context, tx *bolt.Tx, pend *pendFold, r byte, limit int, p *UserPage) error {
	users := tx.Bucket(bktUsers)
	total := int(readU64(tx.Bucket(bktMeta).Get(metaUsers)))
	// The pending users' stored summaries, read in key order (a step
	// forward is cheaper than a search when they are close), and the
	// best limit of them merged with their pending decisions, largest key
	// first.
	var cands []rankCand
	var key []byte
	c := users.Cursor()
	k, v := c.First()
	for i, u := range pend.sorted {
		user := u.user
		if i%ctxCheckEvery == ctxCheckEvery-1 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		for step := 0; k != nil && string(k) < user; step++ {
			if step == 4 {
				k, v = c.Seek([]byte(user))
				break
			}
			k, v = c.Next()
		}
		var s summary
		if k != nil && string(k) == user {
			if err := decodeSummary(user, v, &s); err != nil {
				return err
			}
		} else {
			total++
		}
		s.merge(&u.add)
		key = appendRankKey(key[:0], r, user, &s)
		cands = keepBest(cands, limit, key, user, &s)
	}
	out := make([]decision.UserSummary, 0, min(limit, total))
	var user []byte
	c = tx.Bucket(bktUserRank).Cursor()
	n := 0
	for k := rankEnd(c, r); len(out) < limit; k, _ = c.Prev() {
		if k != nil && k[0] != r {
			k = nil
		}
		for len(cands) > 0 && len(out) < limit && (k == nil || bytes.Compare(cands[0].key, k) > 0) {
			out = append(out, cands[0].s.public(cands[0].user))
			cands = cands[1:]
		}
		if k == nil || len(out) == limit {
			break
		}
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var err error
		if user, err = rankUser(user[:0], k); err != nil {
			return err
		}
		if pend.users[string(user)] != nil {
			continue
		}
		v := users.Get(user)
		if v == nil {
			return fmt.Errorf("user rank entry %x names no summary: %w", k, errRecord)
		}
		var s summary
		if err := decodeSummary(string(user), v, &s); err != nil {
			return err
		}
		if key = appendRankKey(key[:0], r, string(user), &s); !bytes.Equal(key, k) {
			return fmt.Errorf("user rank entry %x does not match the summary of %q: %w", k, user, errRecord)
		}
		out = append(out, s.public(string(user)))
	}
	p.Users, p.Total = out, total
	return nil
}

// rankCand is a user with pending decisions, by the rank key of its
// summary merged with them.
type rankCand struct {
	key  []byte
	user string
	s    summary
}

// keepBest inserts the user with summary s and rank key key into cands,
// which holds at most limit users, largest key first, if it is among the
// largest limit keys. It copies key.
func keepBest(cands []rankCand, limit int, key []byte, user string, s *summary) []rankCand {
	if len(cands) == limit && bytes.Compare(key, cands[limit-1].key) <= 0 {
		return cands
	}
	i, _ := slices.BinarySearchFunc(cands, key, func(c rankCand, k []byte) int { return bytes.Compare(k, c.key) })
	c := rankCand{key: slices.Clone(key), user: user, s: *s}
	if len(cands) == limit {
		cands = cands[:limit-1]
	}
	return slices.Insert(cands, i, c)
}
