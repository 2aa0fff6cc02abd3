package collector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// TestNamedUsersAreTheStoresSummaries: in a store written in groups (some
// decisions not yet in its batched indexes), with ties of event time,
// empty emails and errors, a lookup of named users (one, and as many as a
// query may name) answers exactly their summaries in the users list.
func TestNamedUsersAreTheStoresSummaries(t *testing.T) {
	db := newTailStore(t)
	rng := rand.New(rand.NewPCG(3, 5))
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const users = 1200
	actions := []decision.Action{decision.ActionAllow, decision.ActionChallenge, decision.ActionDeny, decision.ActionError}
	ctx := context.Background()
	seq := 0
	for range 6 {
		var rs []store.Result
		for range 1500 {
			seq++
			u := rng.IntN(users)
			d := decision.Decision{
				EventID: fmt.Sprintf("e%d", seq), Source: "test", ReceivedAt: at,
				// Few distinct times per user: ties, which the later stored wins.
				EventTime: at.Add(time.Duration(rng.IntN(4)) * time.Minute), Type: "$login",
				UserID: fmt.Sprintf("u%03d", u), IP: fmt.Sprintf("192.0.2.%d", rng.IntN(5)),
				Action: actions[rng.IntN(len(actions))], Risk: float64(rng.IntN(101)), Policy: "p",
			}
			if rng.IntN(3) > 0 {
				d.Email = fmt.Sprintf("u%03d-%d@example.com", u, rng.IntN(9))
			}
			if rng.IntN(2) == 0 {
				d.Country = []string{"FR", "DE"}[rng.IntN(2)]
			}
			rs = append(rs, store.Result{Decision: d})
		}
		if _, err := db.Complete(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	r := NewStoreReader(db, nil)
	all, err := r.SearchUsers(ctx, api.UsersQuery{Sort: decision.SortDenies})
	if err != nil || all.Total != len(all.Users) || all.Total < users*9/10 {
		t.Fatalf("%d of %d users: %v", len(all.Users), all.Total, err)
	}
	var many api.UserIDs
	for _, u := range all.Users {
		if len(many) < api.MaxUsersAsked {
			many = append(many, u.UserID)
		}
	}
	for _, ids := range []api.UserIDs{{all.Users[7].UserID}, many} {
		got, err := r.SearchUsers(ctx, api.UsersQuery{Sort: decision.SortDenies, Users: ids})
		if err != nil {
			t.Fatal(err)
		}
		want := all.Users[:len(many)]
		if len(ids) == 1 {
			want = []decision.UserSummary{all.Users[7]}
		}
		if got.Total != len(want) || fmt.Sprint(got.Users) != fmt.Sprint(want) {
			t.Errorf("%d named users: %d of %d, want %d", len(ids), len(got.Users), got.Total, len(want))
		}
	}
}
