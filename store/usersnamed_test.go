package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
)

// TestUsersNamedReadsTheirSummaries: a query naming users answers exactly
// those of them the store holds, as the full list has them (merged
// summaries and decisions not yet folded in alike), in the query's order;
// repeated and unknown names change nothing, and an IP with names is
// refused.
func TestUsersNamedReadsTheirSummaries(t *testing.T) {
	db := openTest(t, Options{NoSync: true, mergeEvery: 97})
	ctx := context.Background()
	g := newFakeGen(11, 60, 9)
	for i := 0; i < 1000; i += 50 {
		rs := make([]Result, 50)
		for j := range rs {
			rs[j].Decision = g.decision(i + j)
		}
		if _, err := db.Complete(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	for _, by := range []decision.UserSort{decision.SortLastSeen, decision.SortMaxRisk, decision.SortDenies} {
		all, err := db.Users(ctx, UsersQuery{Sort: by})
		if err != nil || len(all) < 50 {
			t.Fatalf("users: %d, %v", len(all), err)
		}
		var names []string
		var want []decision.UserSummary
		for i, u := range all {
			if i%3 == 0 {
				names = append(names, u.UserID, u.UserID)
				want = append(want, u)
			}
		}
		names = append(names, "nobody", "")
		got, err := db.Users(ctx, UsersQuery{Sort: by, Users: names})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("sort %v: named users\n%v\nwant\n%v", by, got, want)
		}
	}
	if _, err := db.Users(ctx, UsersQuery{Users: []string{"user-1"}, IP: "10.0.0.1"}); err == nil {
		t.Error("a query naming users with an IP was answered")
	}
}
