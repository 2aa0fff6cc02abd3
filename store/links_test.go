package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// The planted rings of linkStore.
const (
	ringIP     = "198.51.100.7"
	ringNet    = "203.0.113.0/24"
	ringDomain = "mailinator-x.test"
	ringUA     = "RingBot/1.0 (shared device)"
	natIP      = "100.64.0.1"
	natUsers   = 1200
)

// linkGen writes a store of background users with planted rings: users
// sharing one IP, users on one /24 (different addresses), users with one
// disposable email domain, users on one device, and a carrier NAT address
// shared by natUsers users, some ring members among them. Event times
// spread over 40 days before now, so a 30-day window leaves some out.
type linkGen struct {
	rng *rand.Rand
	now time.Time
	n   int
}

func (g *linkGen) dec(user, ip, email, ua string) decision.Decision {
	g.n++
	d := decision.Decision{
		EventID: fmt.Sprintf("ev-%d", g.n), UserID: user, IP: ip, Email: email, UserAgent: ua,
		Type: "$login", Status: "$succeeded", ReceivedAt: g.now,
		EventTime: g.now.Add(-time.Duration(g.rng.Int64N(int64(40 * 24 * time.Hour)))),
		Risk:      float64(g.rng.IntN(10001)) / 100,
	}
	switch {
	case d.Risk >= 90:
		d.Action = decision.ActionDeny
	case d.Risk >= 60:
		d.Action = decision.ActionChallenge
	default:
		d.Action = decision.ActionAllow
	}
	return d
}

func linkStore(t *testing.T, opts Options) (*DB, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	opts.Now, opts.NoSync, opts.MaxDelay = clock.Now, true, time.Microsecond
	db := openTest(t, opts)
	g := &linkGen{rng: rand.New(rand.NewPCG(16, 16)), now: clock.Now()}
	agents := []string{"Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0", "Mozilla/5.0 (iPhone) Mobile Safari", ""}
	var ds []decision.Decision
	for u := range 300 {
		user := fmt.Sprintf("user-%d", u)
		for range 1 + g.rng.IntN(6) {
			ip := fmt.Sprintf("10.%d.%d.%d", u%7, u%5, g.rng.IntN(3))
			ds = append(ds, g.dec(user, ip, user+"@"+[]string{"example.com", "Corp.example.org"}[u%2], agents[g.rng.IntN(len(agents))]))
		}
	}
	for i := range 6 {
		user := fmt.Sprintf("ring-ip-%d", i)
		ds = append(ds, g.dec(user, ringIP, user+"@example.com", agents[0]), g.dec(user, fmt.Sprintf("10.9.%d.1", i), "", ""))
	}
	for i := range 5 {
		user := fmt.Sprintf("ring-net-%d", i)
		ds = append(ds, g.dec(user, fmt.Sprintf("203.0.113.%d", 10+i), "", agents[1]))
	}
	for i := range 8 {
		user := fmt.Sprintf("ring-mail-%d", i)
		ds = append(ds, g.dec(user, fmt.Sprintf("10.8.%d.%d", i, i), user+"@"+strings.ToUpper(ringDomain), ""))
	}
	for i := range 4 {
		user := fmt.Sprintf("ring-dev-%d", i)
		ds = append(ds, g.dec(user, fmt.Sprintf("10.7.%d.%d", i, i), "", ringUA))
	}
	for i := range natUsers {
		ds = append(ds, g.dec(fmt.Sprintf("nat-%d", i), natIP, "", ""))
	}
	// Ring members that also go through the NAT, and one user in every
	// ring (whose links at depth 2 reach across rings).
	ds = append(ds, g.dec("ring-ip-0", natIP, "", ""), g.dec("ring-dev-1", natIP, "", ""),
		g.dec("hub", ringIP, "hub@"+ringDomain, ringUA), g.dec("hub", "203.0.113.200", "", ""))
	for i := range ds {
		// Recent enough for a 30-day window: the planted links exist.
		if d := &ds[i]; strings.HasPrefix(d.UserID, "ring-") || d.UserID == "hub" {
			d.EventTime = g.now.Add(-time.Duration(g.rng.Int64N(int64(20 * 24 * time.Hour))))
		}
	}
	// A pair linked only by decisions 28 days old, which retention at 25
	// days deletes.
	for _, u := range []string{"old-a", "old-b"} {
		d := g.dec(u, "192.0.2.99", "", "")
		d.EventTime = g.now.Add(-28 * 24 * time.Hour)
		ds = append(ds, d)
	}
	g.rng.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	ctx := context.Background()
	for len(ds) > 0 {
		k := min(len(ds), 1+g.rng.IntN(200))
		rs := make([]Result, k)
		for i := range rs {
			rs[i].Decision = ds[i]
		}
		if _, err := db.Complete(ctx, rs); err != nil {
			t.Fatal(err)
		}
		ds = ds[k:]
	}
	return db, clock
}

// recountLinks answers a links query from every decision, without the
// indexes or decision.ExpandLinks: the reference.
func recountLinks(all []decision.Decision, vals [][decision.NumLinkKinds]string, root string, from time.Time, capN, depth int) decision.Links {
	holders := map[[2]string]map[string]*decision.LinkedUser{}
	values := map[string]map[[2]string]bool{}
	for i, d := range all {
		if d.UserID == "" || !inExactWindow(&d, from, time.Time{}) {
			continue
		}
		for _, k := range decision.LinkKinds {
			v := vals[i][k]
			if v == "" {
				continue
			}
			key := [2]string{k.String(), v}
			if holders[key] == nil {
				holders[key] = map[string]*decision.LinkedUser{}
			}
			a := holders[key][d.UserID]
			if a == nil {
				a = &decision.LinkedUser{UserID: d.UserID}
				holders[key][d.UserID] = a
			}
			a.Events++
			a.MaxRisk = max(a.MaxRisk, d.Risk)
			if d.Action == decision.ActionDeny {
				a.Denies++
			}
			if values[d.UserID] == nil {
				values[d.UserID] = map[[2]string]bool{}
			}
			values[d.UserID][key] = true
		}
	}
	out := decision.Links{User: root, Links: []decision.Link{}}
	seen := map[[2]string]bool{}
	link := func(key [2]string, center, via string) (decision.Link, bool) {
		kind, _ := decision.ParseLinkKind(key[0])
		l := decision.Link{Kind: kind, Value: key[1], Via: via, Users: []decision.LinkedUser{}}
		for u, a := range holders[key] {
			if u != center && u != root {
				l.Users = append(l.Users, *a)
			}
		}
		l.Count = len(l.Users)
		if l.Count > capN {
			l.Supernode, l.Users = true, []decision.LinkedUser{}
		}
		return l, l.Count > 0
	}
	for key := range values[root] {
		seen[key] = true
		if l, ok := link(key, root, ""); ok {
			out.Links = append(out.Links, l)
		}
	}
	if depth == 2 {
		first := map[string]bool{}
		for _, l := range out.Links {
			for _, u := range l.Users {
				first[u.UserID] = true
			}
		}
		firsts := slices.Sorted(func(yield func(string) bool) {
			for u := range first {
				if !yield(u) {
					return
				}
			}
		})
		for _, u := range firsts {
			for key := range values[u] {
				if seen[key] {
					continue
				}
				seen[key] = true
				if l, ok := link(key, u, u); ok {
					out.Links = append(out.Links, l)
				}
			}
		}
	}
	return out
}

// canonLinks writes an answer in an order-free form: links by kind and
// value, users by ID.
func canonLinks(t *testing.T, ls decision.Links) string {
	t.Helper()
	ls.Links = slices.Clone(ls.Links)
	for i := range ls.Links {
		us := slices.Clone(ls.Links[i].Users)
		slices.SortFunc(us, func(a, b decision.LinkedUser) int { return strings.Compare(a.UserID, b.UserID) })
		ls.Links[i].Users = us
	}
	slices.SortFunc(ls.Links, func(a, b decision.Link) int {
		return strings.Compare(a.Kind.String()+"\x00"+a.Value, b.Kind.String()+"\x00"+b.Value)
	})
	b, err := json.MarshalIndent(ls, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkLinks(t *testing.T, db *DB, all []decision.Decision, now time.Time, users ...string) {
	t.Helper()
	ctx := context.Background()
	vals := make([][decision.NumLinkKinds]string, len(all))
	for i := range all {
		for _, k := range decision.LinkKinds {
			vals[i][k] = k.Value(&all[i])
		}
	}
	for _, user := range users {
		for _, c := range []struct {
			window      time.Duration
			capN, depth int
		}{{30 * 24 * time.Hour, 50, 1}, {30 * 24 * time.Hour, 50, 2}, {10 * 24 * time.Hour, 3, 2}, {60 * 24 * time.Hour, 5000, 1}} {
			from := now.Add(-c.window)
			got, err := db.Links(ctx, LinksQuery{User: user, From: from, Cap: c.capN, Depth: c.depth})
			if err != nil {
				t.Fatal(err)
			}
			want := recountLinks(all, vals, user, from, c.capN, c.depth)
			if g, w := canonLinks(t, got), canonLinks(t, want); g != w {
				t.Fatalf("Links(%s, %v, cap %d, depth %d):\n%s\nrecount:\n%s", user, c.window, c.capN, c.depth, g, w)
			}
		}
	}
}

func TestLinksMatchRecount(t *testing.T) {
	// A small merge interval: some decisions are pending (not in the
	// indexes yet) when the queries run, most are in runs of several
	// levels.
	db, clock := linkStore(t, Options{mergeEvery: 211, dims: smallRuns})
	all := allDecisions(t, db)
	checkLinks(t, db, all, clock.Now(), "ring-ip-0", "ring-ip-3", "ring-net-2", "ring-mail-5", "ring-dev-1", "hub", "nat-7", "user-3", "user-200", "nobody")

	// The planted rings, as the analyst sees them.
	ctx := context.Background()
	got, err := db.Links(ctx, LinksQuery{User: "ring-ip-0", From: clock.Now().Add(-30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var ring, nat *decision.Link
	for i := range got.Links {
		switch l := &got.Links[i]; {
		case l.Kind == decision.LinkIP && l.Value == ringIP:
			ring = l
		case l.Kind == decision.LinkIP && l.Value == natIP:
			nat = l
		}
	}
	if ring == nil || ring.Supernode || ring.Count != 6 || len(ring.Users) != 6 {
		t.Errorf("the ring IP: %+v, want 6 users (5 ring members and hub)", ring)
	}
	if nat == nil || !nat.Supernode || len(nat.Users) != 0 || nat.Count < natUsers/2 {
		t.Errorf("the NAT IP: %+v, want a supernode with its count and no list", nat)
	}

	// Retention removes the links of the decisions it deletes.
	month := LinksQuery{User: "old-a", From: clock.Now().Add(-30 * 24 * time.Hour)}
	if got, err := db.Links(ctx, month); err != nil || len(got.Links) != 2 || got.Links[0].Users[0].UserID != "old-b" {
		t.Fatalf("old-a before retention: %+v, %v; want linked to old-b", got, err)
	}
	cut := clock.Now().Add(-25 * 24 * time.Hour)
	if _, err := db.Retain(ctx, cut); err != nil {
		t.Fatal(err)
	}
	var keep []decision.Decision
	for _, d := range all {
		if !d.EventTime.Before(cut) {
			keep = append(keep, d)
		}
	}
	if len(keep) == len(all) {
		t.Fatal("retention deleted nothing")
	}
	if got, err := db.Links(ctx, month); err != nil || len(got.Links) != 0 {
		t.Errorf("old-a after retention: %+v, %v; want no links", got, err)
	}
	checkLinks(t, db, keep, clock.Now(), "ring-ip-0", "ring-mail-5", "hub", "user-3")
	waitDimsMerged(t, db)
	checkLinks(t, db, keep, clock.Now(), "ring-dev-1", "hub", "nat-7")
}

func TestLinksOptions(t *testing.T) {
	db, clock := linkStore(t, Options{})
	ctx := context.Background()
	if _, err := db.Links(ctx, LinksQuery{User: "hub", Depth: 3}); err == nil {
		t.Error("depth 3 accepted")
	}
	got, err := db.Links(ctx, LinksQuery{User: "", From: clock.Now().Add(-time.Hour)})
	if err != nil || len(got.Links) != 0 {
		t.Errorf("links of no user = %+v, %v", got, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.Links(cctx, LinksQuery{User: "nat-1"}); err == nil {
		t.Error("a cancelled context answered")
	}
}

// Past its budgets a supernode's count stops, as a lower bound; a value
// with few users is listed whatever the budgets.
func TestLinksSupernodeBudget(t *testing.T) {
	db, _ := linkStore(t, Options{})
	// Retention folds every pending decision into the indexes first
	// (nothing is older than 2000): the budgets apply to index entries.
	if _, err := db.Retain(context.Background(), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	err := db.view(func(tx *bolt.Tx) error {
		s, err := newLinkSource(context.Background(), tx, evRangeOf(time.Time{}, time.Time{}))
		if err != nil {
			return err
		}
		s.scanBudget, s.budget = 100, 150
		for i, want := range []struct {
			count   int
			atLeast bool
		}{{50 + 101, true}, {50 + 50, true}, {51, true}} {
			users, n, atLeast, err := s.Holders(decision.LinkIP, natIP, 50)
			if err != nil {
				return err
			}
			if users != nil || atLeast != want.atLeast || n != want.count {
				t.Errorf("NAT, call %d: %d users listed, count %d at least %v; want %d, %v", i, len(users), n, atLeast, want.count, want.atLeast)
			}
		}
		users, n, atLeast, err := s.Holders(decision.LinkIP, ringIP, 50)
		if err != nil || len(users) != 7 || n != 7 || atLeast {
			t.Errorf("the ring past the budgets: %v %d %v %v", users, n, atLeast, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
