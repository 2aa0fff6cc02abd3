package store

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// User queries overlay the decisions after the index mark (up to maxLag
// merges' worth) on the stored summaries. Decoding them all for every
// query costs tens of milliseconds, so a store keeps folds of them per
// user (pendCache) and extends the newest one with only the decisions
// written since.
//
// A fold is exact for a snapshot because of how the writer assigns keys
// and moves the mark: decision keys strictly increase from one commit to
// the next (a failed commit's keys were never visible and are assigned
// again), a decision is never rewritten, and only decisions up to a
// snapshot's own mark are ever deleted. So two snapshots with the same
// mark hold the same decisions after it up to the smaller of their last
// keys, and a fold of mark m up to key k serves every snapshot with mark m
// whose last decision key is k or later, once extended by that snapshot's
// decisions after k. A snapshot with an older last key (a reader that
// began before the fold's writer committed) takes an older fold, or
// builds its own; it never sees a decision its snapshot lacks.

// pendFolds is how many folds a cache keeps, all of one index mark: the
// newest, and a few older ones for readers whose snapshots are older.
const pendFolds = 4

// pendCache holds the latest folds of pending decisions. Folds are never
// changed once built: readers use them without the lock.
type pendCache struct {
	mu    sync.Mutex
	folds []*pendFold // of one mark, oldest (smallest upTo) first
}

// pendFold is the per-user fold of the decisions after index mark mark up
// to and including key upTo (mark when it holds none). It is never changed
// once built; an extension is a new fold sharing what did not change.
type pendFold struct {
	mark, upTo decKey
	// users holds every user (as stored in index keys) with a decision
	// in the fold; sorted lists them by user.
	users  map[string]*pendUser
	sorted []*pendUser
	// gen counts the extensions from an empty fold: an extension changes
	// only the records it made (of its gen), copying the others.
	gen uint64
}

// pendUser is what a fold holds of one user's decisions: their summary
// and the IPs they came from.
type pendUser struct {
	user string
	gen  uint64
	add  summary
	// ips holds every IP of the user's decisions (repeats are rare: an IP
	// seen among the last few is not added again).
	ips []string
}

// onIP reports whether one of the user's decisions came from ip.
func (u *pendUser) onIP(ip string) bool { return slices.Contains(u.ips, ip) }

// ipRepeatWindow is how many of a user's latest IPs an extension checks
// before it adds another.
const ipRepeatWindow = 8

// fold returns a fold of the pending decisions of tx's snapshot: all of
// them, and nothing else.
func (c *pendCache) fold(ctx context.Context, tx *bolt.Tx) (*pendFold, error) {
	mark := indexMark(tx)
	last, _ := tx.Bucket(bktDecisions).Cursor().Last()
	base := c.base(mark, last)
	if last == nil || bytes.Compare(last, base.upTo[:]) <= 0 {
		return base, nil
	}
	f, err := base.extend(ctx, tx)
	if err != nil {
		return nil, err
	}
	c.put(f)
	return f, nil
}

// base returns the newest fold of mark that a snapshot whose last
// decision key is last may use, or an empty one.
func (c *pendCache) base(mark decKey, last []byte) *pendFold {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.folds) - 1; i >= 0; i-- {
		if f := c.folds[i]; f.mark == mark && bytes.Compare(f.upTo[:], last) <= 0 {
			return f
		}
	}
	return &pendFold{mark: mark, upTo: mark}
}

// put keeps f unless the cache knows a later mark: folds of older marks
// go, and the oldest of f's mark beyond pendFolds.
func (c *pendCache) put(f *pendFold) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.folds) > 0 {
		switch cmp := bytes.Compare(c.folds[0].mark[:], f.mark[:]); {
		case cmp > 0:
			return
		case cmp < 0:
			clear(c.folds)
			c.folds = c.folds[:0]
		}
	}
	i, found := slices.BinarySearchFunc(c.folds, f.upTo, func(g *pendFold, k decKey) int { return bytes.Compare(g.upTo[:], k[:]) })
	if found {
		return // another reader built the same fold
	}
	c.folds = slices.Insert(c.folds, i, f)
	if n := len(c.folds) - pendFolds; n > 0 {
		clear(c.folds[:n])
		c.folds = slices.Delete(c.folds, 0, n)
	}
}

// dropBefore forgets the folds of index marks before mark: the writer
// calls it after a commit, so that a merge frees them at once.
func (c *pendCache) dropBefore(mark decKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.folds) > 0 && bytes.Compare(c.folds[0].mark[:], mark[:]) < 0 {
		clear(c.folds)
		c.folds = c.folds[:0]
	}
}

// extend returns f extended by the decisions of tx after f.upTo (tx's
// snapshot must hold f's decisions: see fold).
func (f *pendFold) extend(ctx context.Context, tx *bolt.Tx) (*pendFold, error) {
	g := &pendFold{mark: f.mark, upTo: f.upTo, gen: f.gen + 1, users: maps.Clone(f.users)}
	if g.users == nil {
		g.users = map[string]*pendUser{}
	}
	// added are the users new in g, copied those of f that g changes.
	var added, copied []*pendUser
	var d decision.Decision
	codec := txCodec(tx)
	lo := f.upTo.after()
	err := walk(ctx, tx.Bucket(bktDecisions).Cursor(), lo[:], maxKey[:], false, func(k, v []byte) (bool, error) {
		g.upTo = decKey(k)
		if u := peekUser(v); len(u) == 0 {
			return true, nil
		}
		if err := decodeDecision(k, v, &d, codec); err != nil {
			return false, err
		}
		user := indexPart(d.UserID)
		u := g.users[user]
		switch {
		case u == nil:
			u = &pendUser{user: user, gen: g.gen}
			g.users[user] = u
			added = append(added, u)
		case u.gen != g.gen:
			nu := *u
			nu.gen = g.gen
			nu.ips = slices.Clip(nu.ips) // appends copy: f shares the array
			u = &nu
			g.users[user] = u
			copied = append(copied, u)
		}
		fl := fieldsOf(&d)
		u.add.add(clampNanos(d.EventTime), &fl)
		if d.IP != "" && !slices.Contains(u.ips[max(0, len(u.ips)-ipRepeatWindow):], d.IP) {
			u.ips = append(u.ips, d.IP)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	byUser := func(a, b *pendUser) int { return strings.Compare(a.user, b.user) }
	slices.SortFunc(added, byUser)
	g.sorted = mergeSorted(f.sorted, added, byUser)
	for _, u := range copied {
		i, _ := slices.BinarySearchFunc(g.sorted, u, byUser)
		g.sorted[i] = u
	}
	return g, nil
}

// mergeSorted returns the sorted union of the disjoint lists a and b,
// sorted by cmp, in a new slice.
func mergeSorted[T any](a, b []T, cmp func(T, T) int) []T {
	out := make([]T, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if cmp(a[0], b[0]) < 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}
