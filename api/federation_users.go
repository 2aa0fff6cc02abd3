package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/riskwatch/riskwatch/decision"
)

// A federation's users lists (Users, SearchUsers), exact for every sort.
//
// One user's decisions may lie on several collectors, so a collector's own
// top list says little of the federation's: its denies add up across
// collectors (a user second on each of two collectors may lead both), and
// a tie of max risk or the counts shown beside any sort depend on the
// user's decisions elsewhere. So the federation runs Fagin's threshold
// algorithm over the members' lists, each read page by page in the sort's
// order (UsersQuery.Offset), with lookups of named users on the members
// that did not list them (UsersQuery.Users):
//
//  1. Each member still listing gives its next page: n users (the page
//     asked, Offset+Limit) in the first round, twice the previous page in
//     each next one, and in the last round (maxUserRounds) as many as one
//     answer carries (maxList). A member that lists fewer than asked has
//     listed all its users. For max risk each member also gives a page of
//     its list by last seen, as deep, in the same round trip.
//  2. A listed user's summary on the other members is known (listed, or
//     absent from a member that listed all) or bounded: a member's users
//     not yet listed rank at most as its last listed one (its frontier).
//     Combining those gives each user a lower and an upper bound; the
//     users whose upper bound is below the n-th best lower bound cannot
//     make the page, and only the others are looked up, which makes their
//     summaries exact (CombineUser).
//  3. The answer is proven when n users are exact and the n-th of them
//     ranks above anything a user no member has listed yet could reach
//     (see proven). A member that has listed all its users has no
//     frontier.
//
// Round trips: at most maxUserRounds (6) rounds, each one page request per
// member still listing (two at once for max risk), then one lookup request per member per
// MaxUsersAsked (500) users it must be asked for, the members asked at
// once: at most 6 x (1 + lookups/500) requests one after the other, and a
// member lists at most 31n + maxList (10,000) users in all. If
// the last round does not prove the answer, the list is the best one found
// (every summary in it exact, none of its users ranked wrongly against one
// another) with UserList.Bounded set; Federation.Users, which has no such
// flag, answers an ErrUnavailable error instead.
//
// A search or IP filter matches per member (a member's decisions decide
// whether it lists a user), so no frontier bounds what another member adds
// to a user it did not list: such a query, and one with no limit, reads
// every member's whole list (one answer each, Bounded when a member has
// more) and looks up every listed user on every member that did not list
// it. The answer is what one collector holding every decision gives, but
// for a search matching a member's last IP that is no longer the user's
// last IP across collectors.
//
// Total is the members' totals less the users known to be counted on
// several: exact for a whole-list read, and otherwise an upper bound, as
// users listed by no one are not known to be shared.
//
// Pages of a list that changes while it is read may repeat a user (the
// first listing counts) or skip one whose rank moved up past the page
// read: the answer is exact for data that stand still during the query.
//
// A member that fails is left out of the whole answer (its parts of every
// user dropped); Members says which. Only when every member fails is the
// call an error.

// maxUserRounds bounds the rounds of a top-users query (see above).
const maxUserRounds = 6

// usersList is how a federation lists one member's users for q: SearchUsers,
// or Users for Users' own search.
type usersList func(ctx context.Context, r Reader, q UsersQuery) (UserList, error)

func listBySearch(ctx context.Context, r Reader, q UsersQuery) (UserList, error) {
	return r.SearchUsers(ctx, q)
}

func listByUsers(ctx context.Context, r Reader, q UsersQuery) (UserList, error) {
	us, err := r.Users(ctx, q)
	return UserList{Users: us, Total: len(us)}, err
}

// federateSearchUsers answers SearchUsers over f exactly (see above).
func federateSearchUsers(ctx context.Context, f *Federation, q UsersQuery) (UserList, error) {
	return topUsersOf(ctx, f, q, listBySearch)
}

// federateUsers answers Users over f exactly, or fails with ErrUnavailable
// when the answer is not proven within the bound on round trips.
func federateUsers(ctx context.Context, f *Federation, q UsersQuery) ([]decision.UserSummary, error) {
	list := listBySearch
	if q.Search != "" {
		list = listByUsers
	}
	l, err := topUsersOf(ctx, f, q, list)
	if err == nil && l.Bounded {
		err = Unavailable(fmt.Errorf("top %d users: not proven exact across %d collectors within %d rounds", q.Offset+q.Limit, len(f.members), maxUserRounds))
	}
	return l.Users, err
}

// rankKey is where a user stands in a sort, or a bound on it: the sort's
// value (0 for last seen), the last seen time, then the user ID; higher
// values and times rank first, then smaller IDs.
type rankKey struct {
	v  float64
	t  int64
	id string
}

// below reports whether a ranks strictly below b.
func (a rankKey) below(b rankKey) bool {
	if a.v != b.v {
		return a.v < b.v
	}
	if a.t != b.t {
		return a.t < b.t
	}
	return a.id > b.id
}

func keyOf(u *decision.UserSummary, s decision.UserSort) rankKey {
	k := rankKey{t: u.LastSeen.UnixNano(), id: u.UserID}
	switch s {
	case decision.SortMaxRisk:
		k.v = u.MaxRisk
	case decision.SortDenies:
		k.v = float64(u.Denies)
	}
	return k
}

// userSource is one member's list as read so far.
type userSource struct {
	offset int
	total  int
	// done: it is not asked for more.
	done bool
	// complete: it listed all its users (one it did not list it does not
	// hold, unless the query is filtered).
	complete bool
	// out: it failed and is left out of the answer.
	out bool
	// last is the last user it listed: its frontier.
	last decision.UserSummary
	// recent, for a max-risk query, is its list by last seen read as far
	// (to the same depth): recent.last bounds the last seen of the users
	// it has not listed there, which breaks their ties of risk.
	recent struct {
		offset int
		last   decision.UserSummary
	}
}

func (s *userSource) listing() bool { return !s.done && !s.out }

// userCand is one listed user and what each member holds of it.
type userCand struct {
	id    string
	parts []*decision.UserSummary // by member; nil when none or not known
	// known: the member's part is known (parts, or nil for none).
	known []bool
	// listed: the member listed the user (its total counts it).
	listed []bool
}

// topUsers is one federated users query under way.
type topUsers struct {
	f    *Federation
	q    UsersQuery
	list usersList
	// n is how many users from the start of the order the page needs.
	n int
	// filtered: a member's list says nothing of another's parts.
	filtered bool
	srcs     []userSource
	cands    map[string]*userCand
	bounded  bool
}

func topUsersOf(ctx context.Context, f *Federation, q UsersQuery, list usersList) (UserList, error) {
	n, err := q.Window()
	if err != nil {
		return UserList{}, err
	}
	t := &topUsers{f: f, q: q, list: list, n: n, filtered: q.Search != "" || q.IP != "",
		srcs: make([]userSource, len(f.members)), cands: map[string]*userCand{}}
	if len(q.Users) > 0 {
		return t.named(ctx)
	}
	if t.filtered || n <= 0 {
		return t.wholeLists(ctx)
	}
	size := n
	for round := 1; ; round++ {
		if round == maxUserRounds {
			size = maxList
		}
		if err := t.page(ctx, size, round == 1); err != nil {
			return UserList{}, err
		}
		if err := t.lookUp(ctx, t.needed()); err != nil {
			return UserList{}, err
		}
		if t.proven() {
			break
		}
		if round == maxUserRounds {
			t.bounded = true
			break
		}
		size = min(2*size, maxList)
	}
	return t.answer(), nil
}

// named answers a query of named users: every member asked for them all.
func (t *topUsers) named(ctx context.Context) (UserList, error) {
	ask := make([][]string, len(t.srcs))
	for i := range ask {
		ask[i] = t.q.Users
	}
	for _, id := range t.q.Users {
		t.cand(id)
	}
	if err := t.lookUp(ctx, ask); err != nil {
		return UserList{}, err
	}
	l := t.answer()
	l.Total = len(l.Users)
	return l, nil
}

// wholeLists reads every member's whole list, then looks up every listed
// user where it is not known.
func (t *topUsers) wholeLists(ctx context.Context) (UserList, error) {
	if err := t.page(ctx, 0, true); err != nil {
		return UserList{}, err
	}
	if err := t.lookUp(ctx, t.needed()); err != nil {
		return UserList{}, err
	}
	return t.answer(), nil
}

func (t *topUsers) cand(id string) *userCand {
	c := t.cands[id]
	if c == nil {
		k := len(t.srcs)
		c = &userCand{id: id, parts: make([]*decision.UserSummary, k), known: make([]bool, k), listed: make([]bool, k)}
		t.cands[id] = c
	}
	return c
}

// page asks every member still listing for its next size users (all when
// size is 0). Failures follow settleUsers.
func (t *topUsers) page(ctx context.Context, size int, first bool) error {
	asked := make([]bool, len(t.srcs))
	for i := range t.srcs {
		asked[i] = t.srcs[i].listing()
	}
	// byRecent: a max-risk page comes with a page by last seen.
	byRecent := t.q.Sort == decision.SortMaxRisk && size > 0
	parts := each(ctx, t.f, func(ctx context.Context, i int, r Reader) ([2]UserList, error) {
		var out [2]UserList
		if !asked[i] {
			return out, nil
		}
		q := t.q
		q.Offset, q.Limit = t.srcs[i].offset, size
		if !byRecent {
			l, err := t.list(ctx, r, q)
			out[0] = l
			return out, err
		}
		rq := q
		rq.Sort, rq.Offset = decision.SortLastSeen, t.srcs[i].recent.offset
		var errs [2]error
		var wg sync.WaitGroup
		wg.Go(func() { out[1], errs[1] = t.list(ctx, r, rq) })
		out[0], errs[0] = t.list(ctx, r, q)
		wg.Wait()
		return out, errors.Join(errs[0], errs[1])
	})
	if err := settleUsers(ctx, t, parts, asked, first); err != nil {
		return err
	}
	for i, p := range parts {
		s := &t.srcs[i]
		if !asked[i] || s.out {
			continue
		}
		us := p.v[0].Users
		s.total = p.v[0].Total
		s.offset += len(us)
		s.complete = len(us) < size || s.offset >= s.total
		if len(us) > 0 {
			s.last = us[len(us)-1]
		}
		t.listed(i, us)
		if byRecent {
			rs := p.v[1].Users
			s.recent.offset += len(rs)
			s.complete = s.complete || len(rs) < size || s.recent.offset >= p.v[1].Total
			if len(rs) > 0 {
				s.recent.last = rs[len(rs)-1]
			}
			t.listed(i, rs)
		}
		s.done = s.complete || size == 0
		t.bounded = t.bounded || (size == 0 && !s.complete)
	}
	return nil
}

// listed notes the users member i listed.
func (t *topUsers) listed(i int, us []decision.UserSummary) {
	for j := range us {
		c := t.cand(us[j].UserID)
		if c.listed[i] {
			continue // a user listed twice (its rank moved between pages)
		}
		c.parts[i], c.known[i], c.listed[i] = &us[j], true, true
	}
}

// isKnown reports whether member i's part of c is known.
func (t *topUsers) isKnown(c *userCand, i int) bool {
	s := &t.srcs[i]
	return c.known[i] || s.out || (s.complete && !t.filtered)
}

// exact reports whether every member's part of c is known.
func (t *topUsers) exact(c *userCand) bool {
	for i := range t.srcs {
		if !t.isKnown(c, i) {
			return false
		}
	}
	return true
}

// combined is c's summary over the parts known.
func (t *topUsers) combined(c *userCand) (decision.UserSummary, bool) {
	var parts []decision.UserSummary
	for i, p := range c.parts {
		if p != nil && !t.srcs[i].out {
			parts = append(parts, *p)
		}
	}
	if len(parts) == 0 {
		return decision.UserSummary{}, false
	}
	return CombineUser(parts), true
}

// upper is the best rank c may reach: its known parts, plus each unknown
// part at most its member's frontier.
func (t *topUsers) upper(c *userCand, lower rankKey) rankKey {
	k := lower
	for i := range t.srcs {
		if t.isKnown(c, i) {
			continue
		}
		f := keyOf(&t.srcs[i].last, t.q.Sort)
		switch t.q.Sort {
		case decision.SortDenies:
			k.v, k.t = k.v+f.v, math.MaxInt64
		case decision.SortMaxRisk:
			k.v, k.t = max(k.v, f.v), max(k.t, t.srcs[i].recent.last.LastSeen.UnixNano())
		default:
			k.t = max(k.t, f.t) // c's ID is its own: the bound keeps it
		}
	}
	return k
}

// needed lists, per member, the users to look up there: those not known
// that may still make the page. A filtered or whole read prunes nothing.
func (t *topUsers) needed() [][]string {
	type bounds struct {
		c            *userCand
		lower, upper rankKey
	}
	var bs []bounds
	var lowers []rankKey
	for _, c := range t.cands {
		s, ok := t.combined(c)
		if !ok {
			continue
		}
		lo := keyOf(&s, t.q.Sort)
		bs = append(bs, bounds{c, lo, t.upper(c, lo)})
		lowers = append(lowers, lo)
	}
	prune := !t.filtered && t.n > 0 && len(lowers) >= t.n
	var tau rankKey
	if prune {
		slices.SortFunc(lowers, func(a, b rankKey) int {
			if b.below(a) {
				return -1
			}
			if a.below(b) {
				return 1
			}
			return 0
		})
		tau = lowers[t.n-1]
	}
	ask := make([][]string, len(t.srcs))
	for _, b := range bs {
		if prune && b.upper.below(tau) {
			continue
		}
		for i := range t.srcs {
			if !t.isKnown(b.c, i) {
				ask[i] = append(ask[i], b.c.id)
			}
		}
	}
	for i := range ask {
		slices.Sort(ask[i]) // requests that do not depend on map order
	}
	return ask
}

// lookUp asks each member for the users ask names there, MaxUsersAsked a
// request, the members at once.
func (t *topUsers) lookUp(ctx context.Context, ask [][]string) error {
	asked := make([]bool, len(t.srcs))
	for i := range ask {
		asked[i] = len(ask[i]) > 0 && !t.srcs[i].out
	}
	if !slices.Contains(asked, true) {
		return nil
	}
	parts := each(ctx, t.f, func(ctx context.Context, i int, r Reader) ([]decision.UserSummary, error) {
		var out []decision.UserSummary
		if !asked[i] {
			return out, nil
		}
		for chunk := range slices.Chunk(ask[i], MaxUsersAsked) {
			l, err := r.SearchUsers(ctx, UsersQuery{Sort: t.q.Sort, Users: chunk})
			if err != nil {
				return nil, err
			}
			out = append(out, l.Users...)
		}
		return out, nil
	})
	if err := settleUsers(ctx, t, parts, asked, false); err != nil {
		return err
	}
	for i, p := range parts {
		if !asked[i] || t.srcs[i].out {
			continue
		}
		mine := make(map[string]bool, len(ask[i]))
		for _, id := range ask[i] {
			c := t.cands[id]
			c.known[i], c.parts[i] = true, nil
			mine[id] = true
		}
		for j := range p.v {
			if id := p.v[j].UserID; mine[id] {
				t.cands[id].parts[i] = &p.v[j]
			}
		}
	}
	return nil
}

// settleUsers records how the asked members answered; a member that
// failed is left out from now on. It returns ctx's error, a member's
// ErrInvalid, or the members' errors when none is left or, on the first
// exchange, when every member asked failed.
func settleUsers[R any](ctx context.Context, t *topUsers, parts []part[R], asked []bool, first bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	for i, p := range parts {
		if !asked[i] {
			continue
		}
		if errors.Is(p.err, ErrInvalid) {
			return p.err
		}
		t.f.members[i].record(p.err)
		if p.err != nil {
			t.srcs[i].out = true
			errs = append(errs, memberError(p.member, p.err))
		}
	}
	left := slices.ContainsFunc(t.srcs, func(s userSource) bool { return !s.out })
	if !left || (first && len(errs) > 0 && !slices.ContainsFunc(parts, func(p part[R]) bool { return p.err == nil })) {
		return errors.Join(errs...)
	}
	return nil
}

// proven reports whether the n best exact users are the federation's: no
// user no member listed can rank above the n-th. Such a user ranks below
// each member's frontier in that member's order, so across members
// strictly below: the sum of the frontiers' denies, then the latest of
// their last seen with the least ID among the frontiers seen then (its
// denies on each member equal to the frontier's, so its last seen on
// each at most the frontier's, and its ID past the frontier's where
// equal); the latest frontier last seen and ID likewise; for max risk the
// highest frontier risk, then the latest last seen and ID of the frontiers
// of the members' lists by last seen, read beside (the last seen that
// breaks a tie of risk may come from a member where the risk is lower).
func (t *topUsers) proven() bool {
	var bound rankKey
	listing := false
	for i := range t.srcs {
		s := &t.srcs[i]
		if !s.listing() {
			continue
		}
		f := keyOf(&s.last, t.q.Sort)
		if t.q.Sort == decision.SortMaxRisk {
			// The risk of the risk list's frontier, the last seen and ID
			// of the last-seen list's.
			f.t, f.id = s.recent.last.LastSeen.UnixNano(), s.recent.last.UserID
		}
		switch {
		case !listing:
			bound = f
		case t.q.Sort == decision.SortMaxRisk:
			bound.v = max(bound.v, f.v)
			fallthrough
		default:
			if t.q.Sort == decision.SortDenies {
				bound.v += f.v
			}
			if f.t > bound.t || (f.t == bound.t && f.id < bound.id) {
				bound.t, bound.id = f.t, f.id
			}
		}
		listing = true
	}
	if !listing {
		return true
	}
	best := t.exactUsers()
	return len(best) >= t.n && !keyOf(&best[t.n-1], t.q.Sort).below(bound)
}

// exactUsers are the summaries of the users whose parts are all known, in
// the order of the sort.
func (t *topUsers) exactUsers() []decision.UserSummary {
	var out []decision.UserSummary
	for _, c := range t.cands {
		if !t.exact(c) {
			continue
		}
		if s, ok := t.combined(c); ok {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b decision.UserSummary) int { return t.q.Sort.Compare(&a, &b) })
	return out
}

// answer is the page of the exact users, and the total.
func (t *topUsers) answer() UserList {
	users := t.exactUsers()
	if t.n > 0 && len(users) > t.n {
		users = users[:t.n]
	}
	total := 0
	for i := range t.srcs {
		if !t.srcs[i].out {
			total += t.srcs[i].total
		}
	}
	for _, c := range t.cands {
		shared := 0
		for i := range t.srcs {
			if !t.srcs[i].out && (c.listed[i] || (!t.filtered && c.parts[i] != nil)) {
				shared++
			}
		}
		total -= max(shared-1, 0)
	}
	return UserList{Users: slices.Clone(t.q.Page(users)), Total: max(total, 0), Bounded: t.bounded}
}
