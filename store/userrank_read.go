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
// decisions (whose stored entries it skips), each placed by the rank key
// of its stored summary merged with the pending ones. Every summary it
// reads is checked against the entry that led to it.
func topUsers(ctx context.Context, tx *bolt.Tx, r byte, limit int, p *UserPage) error {
	pend, _, err := pendingSummaries(ctx, tx, "")
	if err != nil {
		return err
	}
	users := tx.Bucket(bktUsers)
	total := int(readU64(tx.Bucket(bktMeta).Get(metaUsers)))
	type cand struct {
		key  []byte
		user string
		s    summary
	}
	cands := make([]cand, 0, len(pend))
	for user, add := range pend {
		c := cand{user: user}
		if v := users.Get([]byte(user)); v != nil {
			if err := decodeSummary(user, v, &c.s); err != nil {
				return err
			}
		} else {
			total++
		}
		c.s.merge(add)
		c.key = appendRankKey(nil, r, user, &c.s)
		cands = append(cands, c)
	}
	slices.SortFunc(cands, func(a, b cand) int { return bytes.Compare(b.key, a.key) })
	out := make([]decision.UserSummary, 0, min(limit, total))
	var user, key []byte
	c := tx.Bucket(bktUserRank).Cursor()
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
		if user, err = rankUser(user[:0], k); err != nil {
			return err
		}
		if pend[string(user)] != nil {
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
