package collector

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// SearchUsers finds a user by an email it used before its latest one
// (which Users' search does not), matches without regard to case, and
// counts every match beyond the limit, as a recount of the stored
// decisions does.
func TestSearchUsersMatchesEveryEmail(t *testing.T) {
	db := newTailStore(t)
	var rs []store.Result
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	add := func(user, email string) {
		rs = append(rs, store.Result{Decision: decision.Decision{
			EventID: fmt.Sprintf("e%d", len(rs)), Source: "test", ReceivedAt: at, EventTime: at.Add(time.Duration(len(rs)) * time.Second),
			Type: "$login", UserID: user, Email: email, IP: "192.0.2.1", Action: decision.ActionAllow, Policy: "p",
		}})
	}
	add("victim", "Victim.Old@Example.com")
	add("victim", "attacker@evil.test") // the takeover changed it
	for i := range 30 {
		add(fmt.Sprintf("u%02d", i), fmt.Sprintf("user%d@example.com", i))
	}
	if _, err := db.Complete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	r := NewStoreReader(db, nil)
	ctx := context.Background()

	old, err := r.Users(ctx, api.UsersQuery{Search: "victim.old"})
	if err != nil || len(old) != 0 {
		t.Fatalf("Users' search matches the latest email only; got %v, %v", old, err)
	}
	got, err := r.SearchUsers(ctx, api.UsersQuery{Search: "VICTIM.old@"})
	if err != nil || got.Total != 1 || len(got.Users) != 1 || got.Users[0].UserID != "victim" {
		t.Fatalf("search by the old email: %+v, %v", got, err)
	}
	if got.Users[0].Email != "attacker@evil.test" {
		t.Errorf("the summary shows the latest email %q", got.Users[0].Email)
	}

	// Every user matches @example.com: 30 users by their email, the
	// victim by an old one. A recount of the decisions agrees.
	want := map[string]bool{}
	for _, res := range rs {
		if d := res.Decision; strings.Contains(strings.ToLower(d.Email), "@example.com") {
			want[d.UserID] = true
		}
	}
	page, err := r.SearchUsers(ctx, api.UsersQuery{Search: "@example.com", Limit: 10, Sort: decision.SortLastSeen})
	if err != nil || page.Total != len(want) || len(page.Users) != 10 {
		t.Fatalf("page: %d of %d (%v), want 10 of %d", len(page.Users), page.Total, err, len(want))
	}
	all, err := r.SearchUsers(ctx, api.UsersQuery{Search: "@example.com", Sort: decision.SortLastSeen})
	if err != nil || all.Total != len(want) || len(all.Users) != len(want) {
		t.Fatalf("all: %d of %d, want %d", len(all.Users), all.Total, len(want))
	}
	for _, u := range all.Users {
		if !want[u.UserID] {
			t.Errorf("%s listed but never used a matching email", u.UserID)
		}
	}
	if !slices.EqualFunc(page.Users, all.Users[:10], func(a, b decision.UserSummary) bool { return a.UserID == b.UserID }) {
		t.Error("the limited page is not the head of the whole list")
	}
	if none, err := r.SearchUsers(ctx, api.UsersQuery{}); err != nil || none.Total != 31 {
		t.Errorf("no search: total %d, %v; want every user (31)", none.Total, err)
	}
	if q, err := r.SearchUsers(ctx, api.UsersQuery{Search: `a"b\c`}); err != nil || q.Total != 0 {
		t.Errorf("a search with a quote and a backslash: %+v, %v", q, err)
	}
}
