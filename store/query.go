package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
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

// evRange is a set of event keys [lo, hi), walked in order or in reverse.
type evRange struct {
	lo, hi  evKey
	reverse bool
}

// evRangeOf returns the event keys of decisions with an event time in
// [from, to); zero times are unbounded.
func evRangeOf(from, to time.Time) evRange {
	r := evRange{lo: evBound(from), hi: maxEvKey}
	if !to.IsZero() {
		r.hi = evBound(to)
	}
	return r
}

func (r evRange) contains(e evKey) bool {
	return bytes.Compare(e[:], r.lo[:]) >= 0 && bytes.Compare(e[:], r.hi[:]) < 0
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

// pendHit is a pending decision that a walk over an index must include.
type pendHit[P any] struct {
	e evKey
	p P
}

// mergeIndex calls fn with the event keys idx walks (those of an index,
// inside r, in r's direction) merged in order with pend (decisions not in
// the index yet, inside r, in any order), until fn returns false.
func mergeIndex(r evRange, pend []evKey, idx func(fn func(evKey) (bool, error)) error, fn func(evKey) (bool, error)) error {
	slices.SortFunc(pend, func(a, b evKey) int { return bytes.Compare(a[:], b[:]) })
	if r.reverse {
		slices.Reverse(pend)
	}
	ahead := func(a, b *evKey) bool {
		c := bytes.Compare(a[:], b[:])
		return c < 0 && !r.reverse || c > 0 && r.reverse
	}
	i, more := 0, true
	// flush hands fn the pending entries that come before e (all of them
	// when e is nil).
	flush := func(e *evKey) error {
		for more && i < len(pend) && (e == nil || ahead(&pend[i], e)) {
			var err error
			if more, err = fn(pend[i]); err != nil {
				return err
			}
			i++
		}
		return nil
	}
	err := idx(func(e evKey) (bool, error) {
		if err := flush(&e); err != nil || !more {
			return false, err
		}
		var err error
		more, err = fn(e)
		return more, err
	})
	if err != nil {
		return err
	}
	return flush(nil)
}

// walkTime calls fn with the event key of every decision in r, in r's
// direction, from by_time.
func walkTime(ctx context.Context, tx *bolt.Tx, r evRange, fn func(e evKey) (bool, error)) error {
	return walk(ctx, tx.Bucket(bktByTime).Cursor(), r.lo[:], r.hi[:], r.reverse, func(k, _ []byte) (bool, error) {
		if len(k) != len(evKey{}) {
			return false, fmt.Errorf("time index entry %x: %w", k, errRecord)
		}
		return fn(evKey(k))
	})
}

// walkUser is walkTime for one user's decisions: the user index's entries
// (the decisions up to the index mark) merged with the user's pending
// decisions. Users are compared by their first maxIndexPart bytes; callers
// check the full ID on the decision.
func walkUser(ctx context.Context, tx *bolt.Tx, user string, r evRange, fn func(e evKey) (bool, error)) error {
	want := []byte(indexPart(user))
	var pend []evKey
	err := scanPending(ctx, tx, func(k, v []byte) (bool, error) {
		u := peekUser(v)
		if len(u) > maxIndexPart {
			u = u[:maxIndexPart]
		}
		if !bytes.Equal(u, want) {
			return true, nil
		}
		_, ev, err := peekEvent(decKey(k), v)
		if err != nil {
			return false, err
		}
		if e := makeEvKey(ev, decKey(k)); r.contains(e) {
			pend = append(pend, e)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	s, err := readDimState(tx)
	if err != nil {
		return err
	}
	return mergeIndex(r, pend, func(fn func(evKey) (bool, error)) error {
		return walkUserRuns(ctx, tx, &s, user, r, fn)
	}, fn)
}

// walkDecisions calls fn with the event key and stored value of every
// decision in r (of user only, when user is not ""), in event-time order
// or its reverse.
func walkDecisions(ctx context.Context, tx *bolt.Tx, user string, r evRange, fn func(e evKey, v []byte) (bool, error)) error {
	decisions := tx.Bucket(bktDecisions)
	get := func(e evKey) (bool, error) {
		k := e.dec()
		v := decisions.Get(k[:])
		if v == nil {
			return false, fmt.Errorf("index names missing decision %s", k.id())
		}
		return fn(e, v)
	}
	if user != "" {
		return walkUser(ctx, tx, user, r, get)
	}
	return walkTime(ctx, tx, r, get)
}

// matcher decodes only what a filter needs before deciding, and the raw
// request and response only for decisions that match, and only when the
// list carries them (brief false).
type matcher struct {
	f     *decision.Filter
	user  string // when set, the exact user (index keys may be cut)
	brief bool
	codec recCodec // the store's, with the raw bodies
	d     decision.Decision
}

// bodies is what match decodes with: without raw bodies when brief.
func (m *matcher) bodies() recCodec {
	if m.brief {
		return m.codec.brief()
	}
	return m.codec
}

// match reports whether the stored decision matches and, if so, returns it
// decoded.
func (m *matcher) match(k decKey, v []byte) (decision.Decision, bool, error) {
	if m.f.Empty() && len(m.user) <= maxIndexPart {
		var d decision.Decision
		err := decodeDecision(k[:], v, &d, m.bodies())
		return d, err == nil, err
	}
	if err := decodeDecision(k[:], v, &m.d, m.codec.brief()); err != nil {
		return decision.Decision{}, false, err
	}
	if (m.user != "" && m.d.UserID != m.user) || !m.f.Match(&m.d) {
		return decision.Decision{}, false, nil
	}
	var d decision.Decision
	if m.brief {
		return m.d, true, nil
	}
	err := decodeDecision(k[:], v, &d, m.codec)
	return d, err == nil, err
}

// Brief is how a list of decisions reads them: Full with each decision's
// raw request and response, Brief without them (nil), for lists on a
// screen, which show neither and fetch one decision whole with Get.
// Decoding (and, stored compressed, inflating) the raw bodies is most of a
// list's cost.
type Brief bool

// The two ways to read a list.
const (
	Full  Brief = false
	Short Brief = true
)

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
		return decodeDecision(k[:], v, &d, db.whole())
	})
	if err != nil {
		return decision.Decision{}, err
	}
	return d, nil
}

// Latest returns up to n of the newest decisions in arrival order (the
// order of IDs) that match f (nil matches all), newest first. before, when
// not "", is a decision ID: only decisions stored before it are returned,
// so passing the last ID of one answer as before pages to older ones.
//
// It walks back from the newest decision, or through the user index when f
// names a user. f's since: bound, an event-time bound, ends the walk at the
// decisions stored decision.MaxClockSkew before it (Complete keeps event
// times no further ahead of the store's clock than that); f's until: bound
// is only a filter term here.
func (db *DB) Latest(ctx context.Context, f *decision.Filter, n int, before string) ([]decision.Decision, error) {
	return db.LatestOf(ctx, f, n, before, Full)
}

// LatestOf is Latest reading the decisions as brief says.
func (db *DB) LatestOf(ctx context.Context, f *decision.Filter, n int, before string, brief Brief) ([]decision.Decision, error) {
	if n <= 0 {
		return nil, nil
	}
	hi := maxKey
	if before != "" {
		k, err := parseID(before)
		if err != nil {
			return nil, fmt.Errorf("latest: %w: %v", ErrBadCursor, err)
		}
		hi = k
	}
	var lo decKey
	if s := f.Since(); !s.IsZero() {
		lo = timeKey(s.Add(-decision.MaxClockSkew))
	}
	user := f.UserID()
	m := matcher{f: f, user: user, brief: bool(brief), codec: db.whole()}
	var out []decision.Decision
	add := func(k decKey, v []byte) (bool, error) {
		d, ok, err := m.match(k, v)
		if err != nil || !ok {
			return err == nil, err
		}
		out = append(out, d)
		return len(out) < n, nil
	}
	err := db.view(func(tx *bolt.Tx) error {
		decisions := tx.Bucket(bktDecisions)
		if user == "" {
			return walk(ctx, decisions.Cursor(), lo[:], hi[:], true, func(k, v []byte) (bool, error) {
				return add(decKey(k), v)
			})
		}
		// The user's decisions in the filter's event-time window, newest
		// stored first.
		var keys []decKey
		err := walkUser(ctx, tx, user, evRangeOf(f.Since(), f.Until()), func(e evKey) (bool, error) {
			if k := e.dec(); bytes.Compare(k[:], hi[:]) < 0 && bytes.Compare(k[:], lo[:]) >= 0 {
				keys = append(keys, k)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		slices.SortFunc(keys, func(a, b decKey) int { return bytes.Compare(b[:], a[:]) })
		for i, k := range keys {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			v := decisions.Get(k[:])
			if v == nil {
				return fmt.Errorf("user index names missing decision %s", k.id())
			}
			if more, err := add(k, v); err != nil || !more {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("latest: %w", err)
	}
	return out, nil
}

// After returns up to n decisions stored after the decision with ID after
// ("" or the all-zero ID: from the first), oldest first, in arrival order:
// what a tail of new decisions reads, whatever their event times. The ID
// need not be stored any more.
func (db *DB) After(ctx context.Context, after string, n int) ([]decision.Decision, error) {
	var lo decKey
	if after != "" {
		k, err := parseID(after)
		if err != nil {
			return nil, fmt.Errorf("decisions after: %w: %v", ErrBadCursor, err)
		}
		if k == maxKey {
			return nil, nil
		}
		lo = k.after()
	}
	if n <= 0 {
		return nil, nil
	}
	var out []decision.Decision
	err := db.view(func(tx *bolt.Tx) error {
		return walk(ctx, tx.Bucket(bktDecisions).Cursor(), lo[:], maxKey[:], false, func(k, v []byte) (bool, error) {
			var d decision.Decision
			if err := decodeDecision(k, v, &d, db.whole()); err != nil {
				return false, err
			}
			out = append(out, d)
			return len(out) < n, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("decisions after %s: %w", after, err)
	}
	return out, nil
}

// RangeQuery selects decisions with an event time in [From, To) (zero
// values are unbounded; the filter's since: and until: narrow it) matching
// Filter, oldest event time first or newest first (Reverse), one page of at
// most Limit (default 1000) at a time. Cursor is the Next of the previous
// page.
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

// Range returns one page of the decisions q selects, in event-time order
// (decisions with equal event times in arrival order). The cursor is opaque:
// it holds the event time and key of the last decision of the page, so
// pages are stable under concurrent writes and retention (a decision
// stored meanwhile shows on a later page only if its event time puts it
// after the cursor). A decision ID is accepted as a cursor too: the page
// starts after that decision (after its stored time if it is gone).
func (db *DB) Range(ctx context.Context, q RangeQuery) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	from, to := q.From, q.To
	if s := q.Filter.Since(); s.After(from) {
		from = s
	}
	if u := q.Filter.Until(); !u.IsZero() && (to.IsZero() || u.Before(to)) {
		to = u
	}
	r := evRangeOf(from, to)
	r.reverse = q.Reverse
	user := q.Filter.UserID()
	var p Page
	err := db.view(func(tx *bolt.Tx) error {
		if q.Cursor != "" {
			c, err := parseCursor(tx, q.Cursor)
			if err != nil {
				return err
			}
			if q.Reverse {
				if bytes.Compare(c[:], r.hi[:]) < 0 {
					r.hi = c
				}
			} else if next := c.after(); bytes.Compare(next[:], r.lo[:]) > 0 {
				r.lo = next
			}
		}
		m := matcher{f: q.Filter, user: user, codec: db.whole()}
		var last evKey
		return walkDecisions(ctx, tx, user, r, func(e evKey, v []byte) (bool, error) {
			d, ok, err := m.match(e.dec(), v)
			if err != nil || !ok {
				return err == nil, err
			}
			if len(p.Decisions) == limit {
				p.Next = hex.EncodeToString(last[:])
				return false, nil
			}
			p.Decisions = append(p.Decisions, d)
			last = e
			return true, nil
		})
	})
	if err != nil {
		return Page{}, fmt.Errorf("range: %w", err)
	}
	return p, nil
}

// parseCursor reads a Range cursor: 48 hex digits of an event key, or a
// decision ID.
func parseCursor(tx *bolt.Tx, s string) (evKey, error) {
	var e evKey
	switch len(s) {
	case 2 * len(e):
		if _, err := hex.Decode(e[:], []byte(s)); err != nil {
			return e, fmt.Errorf("%w %q: %v", ErrBadCursor, s, err)
		}
		return e, nil
	case 2 * len(decKey{}):
		k, err := parseID(s)
		if err != nil {
			return e, fmt.Errorf("%w: %v", ErrBadCursor, err)
		}
		if v := tx.Bucket(bktDecisions).Get(k[:]); v != nil {
			_, ev, err := peekEvent(k, v)
			return makeEvKey(ev, k), err
		}
		return makeEvKey(max(k.nanos(), 0), k), nil
	}
	return e, fmt.Errorf("%w %q: want the Next of a page or a decision ID", ErrBadCursor, s)
}

// UserDecisions returns up to limit of a user's decisions (all when limit
// <= 0), newest event time first, read through the user index.
func (db *DB) UserDecisions(ctx context.Context, userID string, limit int) ([]decision.Decision, error) {
	return db.UserDecisionsOf(ctx, userID, limit, Full)
}

// UserDecisionsOf is UserDecisions reading the decisions as brief says.
func (db *DB) UserDecisionsOf(ctx context.Context, userID string, limit int, brief Brief) ([]decision.Decision, error) {
	if userID == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = int(^uint(0) >> 1)
	}
	r := evRangeOf(time.Time{}, time.Time{})
	r.reverse = true
	m := matcher{user: userID, brief: bool(brief), codec: db.whole()}
	var out []decision.Decision
	err := db.view(func(tx *bolt.Tx) error {
		return walkDecisions(ctx, tx, userID, r, func(e evKey, v []byte) (bool, error) {
			d, ok, err := m.match(e.dec(), v)
			if err != nil || !ok {
				return err == nil, err
			}
			out = append(out, d)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("decisions of user %q: %w", userID, err)
	}
	return out, nil
}
