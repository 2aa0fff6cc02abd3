package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// UsersQuery selects user summaries.
type UsersQuery struct {
	Sort decision.UserSort
	// Search keeps users whose ID, email or last IP contains it, without
	// regard to case; "" keeps all.
	Search string
	// IP keeps users with a stored decision from exactly this IP (at the
	// resolution of a day of event time at the retention edge: see
	// Retain); "" keeps all.
	IP string
	// Limit caps the result; <= 0 means no cap.
	Limit int
	// Users, when not empty, selects only these users (each once; a name
	// the store does not hold selects nothing), each read by its key
	// instead of a scan. It takes no IP.
	Users []string
}

// UserPage is what Users selects, with how many users that is.
type UserPage struct {
	Users []decision.UserSummary
	// Total counts every user the query selects, before Limit.
	Total int
}

// Users returns user summaries selected and ordered by q, exact as of one
// snapshot (see UserPage).
func (db *DB) Users(ctx context.Context, q UsersQuery) ([]decision.UserSummary, error) {
	p, err := db.UserPage(ctx, q)
	return p.Users, err
}

// UserPage returns the user summaries selected and ordered by q, and how
// many users q selects, exact as of one snapshot. With no Search, no IP and
// a Limit it reads the rank index from its best end and stops after Limit
// users: the cost grows with Limit and the users with decisions not yet
// folded into the summaries, not with the store. With q.IP it reads the IP
// index; otherwise it reads every summary, keeping only the best q.Limit
// in memory. The decisions not yet folded in are decoded once, not per
// query: the store keeps their fold per user and extends it with the
// decisions written since (pendcache.go).
func (db *DB) UserPage(ctx context.Context, q UsersQuery) (UserPage, error) {
	var p UserPage
	err := db.view(func(tx *bolt.Tx) error { return db.userPage(ctx, tx, q, &p) })
	if err != nil {
		return UserPage{}, fmt.Errorf("users: %w", err)
	}
	return p, nil
}

// userPage answers UserPage in tx.
func (db *DB) userPage(ctx context.Context, tx *bolt.Tx, q UsersQuery, p *UserPage) error {
	if len(q.Users) > 0 && q.IP != "" {
		return errors.New("a query naming users takes no IP")
	}
	pend, err := db.pend.fold(ctx, tx)
	if err != nil {
		return err
	}
	if r, ok := rankOf(q.Sort); ok && q.Search == "" && q.IP == "" && len(q.Users) == 0 && q.Limit > 0 {
		return topUsers(ctx, tx, pend, r, q.Limit, p)
	}
	return scanUsers(ctx, tx, pend, q, p)
}

// scanUsers answers UserPage from every summary (on q.IP if set) and the
// fold of tx's pending decisions.
func scanUsers(ctx context.Context, tx *bolt.Tx, pend *pendFold, q UsersQuery, p *UserPage) error {
	search := strings.ToLower(q.Search)
	var out []decision.UserSummary
	keep := func(s *decision.UserSummary) {
		if search == "" || strings.Contains(strings.ToLower(s.UserID), search) ||
			strings.Contains(strings.ToLower(s.Email), search) || strings.Contains(strings.ToLower(s.LastIP), search) {
			out = append(out, *s)
			p.Total++
		}
		// Keep memory at O(limit) on large stores: cut to the best
		// q.Limit whenever twice that many are held.
		if q.Limit > 0 && len(out) >= 2*q.Limit+1024 {
			sortSummaries(out, q.Sort)
			clear(out[q.Limit:])
			out = out[:q.Limit]
		}
	}
	// visit combines the stored summary v (nil if none) with the user's
	// pending decisions.
	visit := func(user string, v []byte) error {
		var s summary
		if v != nil {
			if err := decodeSummary(user, v, &s); err != nil {
				return err
			}
		}
		if u := pend.users[user]; u != nil {
			s.merge(&u.add)
		}
		if s.count > 0 {
			pub := s.public(user)
			keep(&pub)
		}
		return nil
	}
	users := tx.Bucket(bktUsers)
	switch {
	case len(q.Users) > 0:
		named := slices.Clone(q.Users)
		slices.Sort(named)
		for _, user := range slices.Compact(named) {
			if err := visit(user, users.Get([]byte(user))); err != nil {
				return err
			}
		}
	case q.IP != "":
		// The users with a pending decision from q.IP, less those the IP
		// index lists.
		onIP := map[string]bool{}
		for _, u := range pend.sorted {
			if u.onIP(q.IP) {
				onIP[u.user] = true
			}
		}
		err := usersOnIP(ctx, tx, q.IP, func(user []byte) error {
			delete(onIP, string(user))
			return visit(string(user), users.Get(user))
		})
		if err != nil {
			return err
		}
		for user := range onIP {
			if err := visit(user, users.Get([]byte(user))); err != nil {
				return err
			}
		}
	default:
		// Every stored summary, and in key order between them the
		// pending users without one.
		rest := pend.sorted
		c := users.Cursor()
		n := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			for ; len(rest) > 0 && rest[0].user <= string(k); rest = rest[1:] {
				if rest[0].user < string(k) {
					if err := visit(rest[0].user, nil); err != nil {
						return err
					}
				}
			}
			if err := visit(string(k), v); err != nil {
				return err
			}
		}
		for _, u := range rest {
			if err := visit(u.user, nil); err != nil {
				return err
			}
		}
	}
	sortSummaries(out, q.Sort)
	if q.Limit > 0 && len(out) > q.Limit {
		clear(out[q.Limit:])
		out = out[:q.Limit]
	}
	p.Users = out
	return nil
}

// usersOnIP calls fn once for each user (as stored in index keys) with a
// decision from ip.
func usersOnIP(ctx context.Context, tx *bolt.Tx, ip string, fn func(user []byte) error) error {
	prefix := ipPrefix(ip)
	c := tx.Bucket(bktByIP).Cursor()
	n := 0
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rest := k[len(prefix):]
		l, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) != l {
			return fmt.Errorf("ip index entry %x: %w", k, errRecord)
		}
		if l > 0 {
			if err := fn(rest[w:]); err != nil {
				return err
			}
		}
	}
	return nil
}
