package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// LinksQuery asks who shares something with a user (SPEC section 14).
type LinksQuery struct {
	User string
	// From and To bound the decisions looked at by event time, [From, To);
	// zero times are unbounded.
	From, To time.Time
	// Cap is the most users a shared value lists (<= 0: the default).
	Cap int
	// Depth is 1 or 2 (0: 1).
	Depth int
	// Extra are values of User's held elsewhere (decision.LinkOptions).
	Extra []decision.LinkValue
}

// linkDims maps each kind of link to the by_dim kind that indexes it.
var linkDims = [decision.NumLinkKinds]DimKind{
	decision.LinkIP: KindIP, decision.LinkIP24: KindIP24,
	decision.LinkEmailDomain: KindEmailDomain, decision.LinkUA: KindDevice,
}

// Links returns the users that share an IP, a network, an email domain or
// a device with q.User among the decisions of the window, grouped by what
// they share (decision.ExpandLinks), exact as of one snapshot. It reads the
// by_dim index for who has a value (and the decisions of the values with
// few enough users), and the user index for the values of the user and of
// the linked users at depth 2, so its cost follows those decisions, not the
// store. A user with no decisions has no links.
func (db *DB) Links(ctx context.Context, q LinksQuery) (decision.Links, error) {
	var out decision.Links
	err := db.view(func(tx *bolt.Tx) error {
		src, err := newLinkSource(ctx, tx, evRangeOf(q.From, q.To))
		if err != nil {
			return err
		}
		out, err = decision.ExpandLinks(src, q.User, decision.LinkOptions{Cap: q.Cap, Depth: q.Depth, Extra: q.Extra})
		return err
	})
	if err != nil {
		return decision.Links{}, fmt.Errorf("links of user %q: %w", q.User, err)
	}
	return out, nil
}

// pendLink is what links need of one decision after the index mark.
type pendLink struct {
	e    evKey
	user string // cut to maxIndexPart
	vals [decision.NumLinkKinds]string
	risk float64
	deny bool
}

// userLinks is one user's values of each kind in the window, read once.
type userLinks struct {
	vals [decision.NumLinkKinds][]string
}

// linkSource is a decision.LinkSource over one read transaction and window.
// The decisions after the index mark are read once, up front.
type linkSource struct {
	ctx   context.Context
	tx    *bolt.Tx
	codec recCodec // reads the string table from tx
	r     evRange
	dims  dimState
	pend  []pendLink
	users map[string]*userLinks
	d     decision.Decision
	// scanBudget is linkScanBudget; budget is what is left of
	// linkQueryBudget.
	scanBudget, budget int
	// scores are the risk and action of the decisions read so far: a
	// decision is often under several values (its IP and its /24).
	scores map[decKey]score
}

// score is what a linked user's numbers read of one decision.
type score struct {
	risk float64
	deny bool
}

// scoreOf returns the risk and action of the stored decision k.
func (s *linkSource) scoreOf(k decKey) (score, error) {
	if sc, ok := s.scores[k]; ok {
		return sc, nil
	}
	v := s.tx.Bucket(bktDecisions).Get(k[:])
	if v == nil {
		return score{}, fmt.Errorf("an index names missing decision %s", k.id())
	}
	if err := decodeDecision(k[:], v, &s.d, s.codec); err != nil {
		return score{}, err
	}
	sc := score{risk: s.d.Risk, deny: s.d.Action == decision.ActionDeny}
	s.scores[k] = sc
	return sc, nil
}

func newLinkSource(ctx context.Context, tx *bolt.Tx, r evRange) (*linkSource, error) {
	s := &linkSource{ctx: ctx, tx: tx, codec: txCodec(tx), r: r, users: map[string]*userLinks{},
		scanBudget: linkScanBudget, budget: linkQueryBudget, scores: map[decKey]score{}}
	var err error
	if s.dims, err = readDimState(tx); err != nil {
		return nil, err
	}
	err = scanPending(ctx, tx, func(k, v []byte) (bool, error) {
		if err := decodeDecision(k, v, &s.d, s.codec); err != nil {
			return false, err
		}
		e := makeEvKey(clampNanos(s.d.EventTime), decKey(k))
		if !r.contains(e) || s.d.UserID == "" {
			return true, nil
		}
		p := pendLink{e: e, user: indexPart(s.d.UserID), risk: s.d.Risk, deny: s.d.Action == decision.ActionDeny}
		for _, kind := range decision.LinkKinds {
			p.vals[kind] = indexPart(kind.Value(&s.d))
		}
		s.pend = append(s.pend, p)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// user reads (once) the decisions of user in the window.
func (s *linkSource) user(user string) (*userLinks, error) {
	if u, ok := s.users[user]; ok {
		return u, nil
	}
	u := &userLinks{}
	want := indexPart(user)
	var hits []evKey
	for i := range s.pend {
		if s.pend[i].user == want {
			hits = append(hits, s.pend[i].e)
		}
	}
	var seen [decision.NumLinkKinds]map[string]bool
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	decisions := s.tx.Bucket(bktDecisions)
	d := &s.d
	idx := func(fn func(evKey) (bool, error)) error { return walkUserRuns(s.ctx, s.tx, &s.dims, user, s.r, fn) }
	err := mergeIndex(s.r, hits, idx, func(e evKey) (bool, error) {
		k := e.dec()
		v := decisions.Get(k[:])
		if v == nil {
			return false, fmt.Errorf("user index names missing decision %s", k.id())
		}
		if err := decodeDecision(k[:], v, d, s.codec); err != nil {
			return false, err
		}
		s.scores[k] = score{risk: d.Risk, deny: d.Action == decision.ActionDeny}
		if indexPart(d.UserID) != want {
			return true, nil
		}
		for _, kind := range decision.LinkKinds {
			if x := indexPart(kind.Value(d)); x != "" && !seen[kind][x] {
				seen[kind][x] = true
				u.vals[kind] = append(u.vals[kind], x)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	for i := range u.vals {
		slices.Sort(u.vals[i])
	}
	s.users[user] = u
	return u, nil
}

// Values returns the distinct values of kind among user's decisions.
func (s *linkSource) Values(user string, kind decision.LinkKind) ([]string, error) {
	u, err := s.user(user)
	if err != nil {
		return nil, err
	}
	return u.vals[kind], nil
}

// A value with more holders than a query lists is a supernode, counted
// instead of listed. A free-mail domain or a popular user agent may have
// hundreds of thousands of decisions, and an exact count is not worth the
// wait: past the point where a value is known to be a supernode, Holders
// reads at most linkScanBudget more index entries of it, and all the
// supernodes of one query at most linkQueryBudget (those of depth 1 come
// first); a count cut short is a lower bound.
const (
	linkScanBudget  = 10_000
	linkQueryBudget = 25_000
)

// Holders returns the distinct users with a decision whose value of kind
// is value, from the pending decisions and the index's runs, each with the
// events, max risk and denies of those decisions; with more than max of
// them only their count, a lower bound when a budget ran out.
func (s *linkSource) Holders(kind decision.LinkKind, value string, max int) ([]decision.LinkedUser, int, bool, error) {
	acts := map[string]*decision.LinkedUser{}
	// The stored decisions of each user, read once the list is known to
	// be short enough.
	keys := map[string][]decKey{}
	for i := range s.pend {
		if p := &s.pend[i]; p.vals[kind] == value {
			a := acts[p.user]
			if a == nil {
				a = &decision.LinkedUser{UserID: p.user}
				acts[p.user] = a
			}
			a.Events++
			a.MaxRisk = math.Max(a.MaxRisk, p.risk)
			if p.deny {
				a.Denies++
			}
		}
	}
	n, atLeast := 0, false
	err := s.scanRuns(linkDims[kind], value, func(e evKey, user []byte) bool {
		if len(user) > 0 {
			if _, ok := acts[string(user)]; !ok {
				acts[string(user)] = &decision.LinkedUser{UserID: string(user)}
			}
			if len(acts) <= max {
				keys[string(user)] = append(keys[string(user)], e.dec())
			}
		}
		if len(acts) > max {
			// A supernode: counting on costs the budgets.
			n++
			s.budget--
			if n > s.scanBudget || s.budget < 0 {
				atLeast = true
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, 0, false, err
	}
	if len(acts) > max {
		return nil, len(acts), atLeast, nil
	}
	out := make([]decision.LinkedUser, 0, len(acts))
	for user, a := range acts {
		for _, k := range keys[user] {
			sc, err := s.scoreOf(k)
			if err != nil {
				return nil, 0, false, err
			}
			a.Events++
			a.MaxRisk = math.Max(a.MaxRisk, sc.risk)
			if sc.deny {
				a.Denies++
			}
		}
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b decision.LinkedUser) int { return strings.Compare(a.UserID, b.UserID) })
	return out, len(out), false, nil
}

// scanRuns calls fn with the user of every by_dim entry of kind and value
// in the window, run after run (in no particular order: no merge of the
// runs), until fn returns false.
func (s *linkSource) scanRuns(kind DimKind, value string, fn func(e evKey, user []byte) bool) error {
	prefix := dimPrefix(nil, kind, indexPart(value))
	lo := append(slices.Clip(prefix), s.r.lo[:]...)
	hi := append(slices.Clip(prefix), s.r.hi[:]...)
	b := s.tx.Bucket(bktByDim)
	n := 0
	for _, id := range s.dims.runIDs() {
		it := newRunIter(b, id)
		for it.seek(lo); it.k != nil && bytes.Compare(it.k, hi) < 0; it.next() {
			if n++; n%ctxCheckEvery == 0 {
				if err := s.ctx.Err(); err != nil {
					return err
				}
			}
			u, w := binary.Uvarint(it.v)
			if len(it.k) != len(prefix)+len(evKey{}) || w <= 0 || uint64(len(it.v)-w) < u {
				return fmt.Errorf("dimension index entry %x: %w", it.k, errRecord)
			}
			if s.dims.deadEntry(it.k[len(prefix):]) {
				continue
			}
			if !fn(evKey(it.k[len(prefix):]), it.v[w:w+int(u)]) {
				return nil
			}
		}
		if it.err != nil {
			return it.err
		}
	}
	return nil
}
