package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// ctxCheckEvery is how many entries a scan reads between checks of its
// context.
const ctxCheckEvery = 1024

// maxKey is above every decision key.
var maxKey = decKey{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// after returns the smallest key greater than k.
func (k decKey) after() decKey {
	for i := len(k) - 1; i >= 0; i-- {
		k[i]++
		if k[i] != 0 {
			break
		}
	}
	return k
}

// keyRange is a set of decision keys [lo, hi), walked in key order or in
// reverse, optionally through one user's index entries only.
type keyRange struct {
	lo, hi  decKey
	reverse bool
	user    string // "" = every decision
}

// windowRange returns the keys of decisions stored in [from, to); zero
// times are unbounded.
func windowRange(from, to time.Time) keyRange {
	r := keyRange{lo: timeKey(from), hi: maxKey}
	if !to.IsZero() {
		r.hi = timeKey(to)
	}
	return r
}

// scan calls fn with the key and stored value of each decision in r until fn
// returns false or an error. It checks ctx every ctxCheckEvery entries.
func (r keyRange) scan(ctx context.Context, tx *bolt.Tx, fn func(k, v []byte) (bool, error)) error {
	if r.user != "" {
		return r.scanUser(ctx, tx, fn)
	}
	return r.scanPlain(ctx, tx, fn)
}

// scanPlain walks the decisions bucket.
func (r keyRange) scanPlain(ctx context.Context, tx *bolt.Tx, fn func(k, v []byte) (bool, error)) error {
	return walk(ctx, tx.Bucket(bktDecisions).Cursor(), r.lo[:], r.hi[:], r.reverse, fn)
}

// scanIndex walks the user index entries of r.user (only those up to the
// user mark exist).
func (r keyRange) scanIndex(ctx context.Context, tx *bolt.Tx, fn func(k, v []byte) (bool, error)) error {
	decisions := tx.Bucket(bktDecisions)
	prefix := userPrefix(r.user)
	lo := append(append([]byte(nil), prefix...), r.lo[:]...)
	hi := append(append([]byte(nil), prefix...), r.hi[:]...)
	return walk(ctx, tx.Bucket(bktByUser).Cursor(), lo, hi, r.reverse, func(k, _ []byte) (bool, error) {
		dk := k[len(prefix):]
		if len(dk) != len(decKey{}) {
			return false, fmt.Errorf("user index entry %x: %w", k, errRecord)
		}
		v := decisions.Get(dk)
		if v == nil {
			return false, fmt.Errorf("user index names missing decision %x", dk)
		}
		return fn(dk, v)
	})
}

// walk moves c over the keys in [lo, hi), ascending or descending, calling
// fn until it returns false or an error, and checks ctx every
// ctxCheckEvery keys.
func walk(ctx context.Context, c *bolt.Cursor, lo, hi []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	if bytes.Compare(lo, hi) >= 0 {
		return nil
	}
	var k, v []byte
	if reverse {
		if k, _ = c.Seek(hi); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	} else {
		k, v = c.Seek(lo)
	}
	for n := 1; k != nil; n++ {
		if bytes.Compare(k, lo) < 0 || bytes.Compare(k, hi) >= 0 {
			return nil
		}
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if more, err := fn(k, v); err != nil || !more {
			return err
		}
		if reverse {
			k, v = c.Prev()
		} else {
			k, v = c.Next()
		}
	}
	return nil
}

// matcher decodes only what a filter needs before deciding, and the raw
// request and response only for decisions that match.
type matcher struct {
	f    *decision.Filter
	user string // when set, the exact user (index keys may be cut)
	d    decision.Decision
}

// match reports whether the stored decision matches and, if so, returns it
// fully decoded.
func (m *matcher) match(k, v []byte) (decision.Decision, bool, error) {
	if m.f.Empty() && len(m.user) <= maxIndexPart {
		var d decision.Decision
		err := decodeDecision(k, v, &d, true)
		return d, err == nil, err
	}
	if err := decodeDecision(k, v, &m.d, false); err != nil {
		return decision.Decision{}, false, err
	}
	if (m.user != "" && m.d.UserID != m.user) || !m.f.Match(&m.d) {
		return decision.Decision{}, false, nil
	}
	var d decision.Decision
	err := decodeDecision(k, v, &d, true)
	return d, err == nil, err
}

// Get returns the decision with the given ID, or an error wrapping
// ErrNotFound.
func (db *DB) Get(ctx context.Context, id string) (decision.Decision, error) {
	k, err := parseID(id)
	if err != nil {
		return decision.Decision{}, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	if err := ctx.Err(); err != nil {
		return decision.Decision{}, err
	}
	var d decision.Decision
	err = db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktDecisions).Get(k[:])
		if v == nil {
			return fmt.Errorf("decision %s: %w", id, ErrNotFound)
		}
		return decodeDecision(k[:], v, &d, true)
	})
	if err != nil {
		return decision.Decision{}, err
	}
	return d, nil
}

// Latest returns up to n of the newest decisions that match f (nil matches
// all), newest first. It walks back from the newest decision, through the
// user index when f names a user, and stops at f's since: bound.
func (db *DB) Latest(ctx context.Context, f *decision.Filter, n int) ([]decision.Decision, error) {
	if n <= 0 {
		return nil, nil
	}
	r := windowRange(f.Since(), time.Time{})
	r.reverse = true
	r.user = f.UserID()
	out, _, err := db.collect(ctx, r, f, n)
	if err != nil {
		return nil, fmt.Errorf("latest: %w", err)
	}
	return out, nil
}

// collect returns up to n decisions of r matching f, and the key after
// which a further call would continue when n were found and more exist.
func (db *DB) collect(ctx context.Context, r keyRange, f *decision.Filter, n int) (out []decision.Decision, more bool, err error) {
	m := matcher{f: f, user: r.user}
	err = db.view(func(tx *bolt.Tx) error {
		return r.scan(ctx, tx, func(k, v []byte) (bool, error) {
			d, ok, err := m.match(k, v)
			if err != nil || !ok {
				return err == nil, err
			}
			if len(out) == n {
				more = true
				return false, nil
			}
			out = append(out, d)
			return true, nil
		})
	})
	return out, more, err
}

// RangeQuery selects decisions stored in [From, To) (zero values are
// unbounded) matching Filter, oldest first or newest first (Reverse), one
// page of at most Limit (default 1000) at a time. Cursor is the Next of the
// previous page.
type RangeQuery struct {
	From, To time.Time
	Reverse  bool
	Limit    int
	Cursor   string
	Filter   *decision.Filter
}

// Page is one page of a Range query. Next is the cursor of the following
// page, "" when this page is the last one.
type Page struct {
	Decisions []decision.Decision
	Next      string
}

// Range returns one page of the decisions q selects. Pages are stable under
// concurrent writes: new decisions only appear after the newest key, and
// the cursor is a decision key.
func (db *DB) Range(ctx context.Context, q RangeQuery) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	from := q.From
	if s := q.Filter.Since(); s.After(from) {
		from = s
	}
	r := windowRange(from, q.To)
	r.reverse = q.Reverse
	r.user = q.Filter.UserID()
	if q.Cursor != "" {
		k, err := parseID(q.Cursor)
		if err != nil {
			return Page{}, fmt.Errorf("range: bad cursor: %w", err)
		}
		if q.Reverse {
			if bytes.Compare(k[:], r.hi[:]) < 0 {
				r.hi = k
			}
		} else if next := k.after(); bytes.Compare(next[:], r.lo[:]) > 0 {
			r.lo = next
		}
	}
	out, more, err := db.collect(ctx, r, q.Filter, limit)
	if err != nil {
		return Page{}, fmt.Errorf("range: %w", err)
	}
	p := Page{Decisions: out}
	if more {
		p.Next = out[len(out)-1].ID
	}
	return p, nil
}

// UserDecisions returns up to limit of a user's decisions (all when limit
// <= 0), newest first, read through the user index.
func (db *DB) UserDecisions(ctx context.Context, userID string, limit int) ([]decision.Decision, error) {
	if userID == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = int(^uint(0) >> 1)
	}
	r := windowRange(time.Time{}, time.Time{})
	r.reverse = true
	r.user = userID
	out, _, err := db.collect(ctx, r, nil, limit)
	if err != nil {
		return nil, fmt.Errorf("decisions of user %q: %w", userID, err)
	}
	return out, nil
}
