package collector

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// recountTop sorts the users of ds (on ip if set) as the store does and
// returns their IDs and how many there are.
func recountTop(ds []decision.Decision, by decision.UserSort, ip string) []string {
	type agg struct {
		user   string
		last   time.Time
		risk   float64
		denies int
	}
	m := map[string]*agg{}
	onIP := map[string]bool{}
	for _, d := range ds {
		if d.UserID == "" {
			continue
		}
		a := m[d.UserID]
		if a == nil {
			a = &agg{user: d.UserID, last: d.EventTime, risk: d.Risk}
			m[d.UserID] = a
		}
		if d.EventTime.After(a.last) {
			a.last = d.EventTime
		}
		a.risk = max(a.risk, d.Risk)
		if d.Action == decision.ActionDeny {
			a.denies++
		}
		if d.IP == ip {
			onIP[d.UserID] = true
		}
	}
	var all []*agg
	for u, a := range m {
		if ip == "" || onIP[u] {
			all = append(all, a)
		}
	}
	slices.SortFunc(all, func(a, b *agg) int {
		var c int
		switch by {
		case decision.SortMaxRisk:
			c = cmp.Compare(b.risk, a.risk)
		case decision.SortDenies:
			c = cmp.Compare(b.denies, a.denies)
		}
		return cmp.Or(c, b.last.Compare(a.last), strings.Compare(a.user, b.user))
	})
	ids := make([]string, len(all))
	for i, a := range all {
		ids[i] = a.user
	}
	return ids
}

// SearchUsers without a search answers the top users of every sort from
// the store's rank index, with decisions folded into the summaries and
// decisions still pending, on an IP or not: the same users in the same
// order as a recount of every decision, and the same total.
func TestSearchUsersTopMatchesRecount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "top.db")
	rng := rand.New(rand.NewPCG(3, 4))
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var ds []decision.Decision
	write := func(db *store.DB, n int) {
		var rs []store.Result
		for range n {
			d := decision.Decision{
				EventID: fmt.Sprintf("e%d", len(ds)), Source: "test", ReceivedAt: at,
				EventTime: at.Add(time.Duration(rng.IntN(3600)) * time.Second),
				Type:      "$login", UserID: fmt.Sprintf("u%02d", rng.IntN(70)), IP: fmt.Sprintf("192.0.2.%d", rng.IntN(4)),
				Risk: float64(rng.IntN(5) * 25), Action: []decision.Action{decision.ActionAllow, decision.ActionDeny, decision.ActionChallenge}[rng.IntN(3)], Policy: "p",
			}
			ds = append(ds, d)
			rs = append(rs, store.Result{Decision: d})
		}
		if _, err := db.Complete(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
	}
	check := func(db *store.DB, stage string) {
		t.Helper()
		r := NewStoreReader(db, nil)
		for _, by := range []decision.UserSort{decision.SortLastSeen, decision.SortMaxRisk, decision.SortDenies} {
			for _, ip := range []string{"", "192.0.2.2"} {
				want := recountTop(ds, by, ip)
				for _, limit := range []int{1, 5, 40, len(want), len(want) + 10, 0} {
					got, err := r.SearchUsers(context.Background(), api.UsersQuery{Sort: by, IP: ip, Limit: limit})
					if err != nil {
						t.Fatal(err)
					}
					ids := make([]string, len(got.Users))
					for i, u := range got.Users {
						ids[i] = u.UserID
					}
					w := want
					if limit > 0 {
						w = want[:min(limit, len(want))]
					}
					if got.Total != len(want) || !slices.Equal(ids, w) {
						t.Fatalf("%s, sort %d, ip %q, limit %d: %v of %d\nrecount %v of %d", stage, by, ip, limit, ids, got.Total, w, len(want))
					}
				}
			}
		}
	}
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	write(db, 400)
	check(db, "pending")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = store.Open(path, store.Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db, "folded")
	write(db, 150)
	check(db, "folded and pending")
}
