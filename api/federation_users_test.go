package api_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// TestFederationTopUsers asks two collectors, each holding its own users,
// and a third holding them all, for the top users of every sort over HTTP
// with a limit: the limit reaches the collectors (a page of limit users,
// the total beyond it), and the federation's page, merged in the same
// order and cut at the limit, is the third collector's exactly.
func TestFederationTopUsers(t *testing.T) {
	all := fedDecisions(150, time.Now())
	var low, high []decision.Decision
	for _, d := range all {
		if d.UserID < "u5" {
			low = append(low, d)
		} else {
			high = append(high, d)
		}
	}
	a, b, whole := holding(t, low), holding(t, high), holding(t, all)
	fed := dialAll(t, a.URL, b.URL)
	one := dialOne(t, whole.URL)
	ctx := context.Background()
	for _, by := range []decision.UserSort{decision.SortLastSeen, decision.SortMaxRisk, decision.SortDenies} {
		full := get(one.SearchUsers(ctx, api.UsersQuery{Sort: by}))(t)
		if full.Total != 10 || len(full.Users) != 10 {
			t.Fatalf("sort %d: %d of %d users, want all 10", by, len(full.Users), full.Total)
		}
		for _, limit := range []int{1, 3, 7, 10, 12} {
			q := api.UsersQuery{Sort: by, Limit: limit}
			want := get(one.SearchUsers(ctx, q))(t)
			if want.Total != 10 || !reflect.DeepEqual(want.Users, full.Users[:min(limit, 10)]) {
				t.Fatalf("sort %d, limit %d: one collector gave %d of %d, not the head of its whole list", by, limit, len(want.Users), want.Total)
			}
			got := get(fed.SearchUsers(ctx, q))(t)
			if got.Total != want.Total || !reflect.DeepEqual(got.Users, want.Users) {
				t.Errorf("sort %d, limit %d: federation\n%+v (total %d)\none collector\n%+v (total %d)", by, limit, got.Users, got.Total, want.Users, want.Total)
			}
			if us := get(fed.Users(ctx, q))(t); !reflect.DeepEqual(us, want.Users) {
				t.Errorf("sort %d, limit %d: federation's Users\n%+v\none collector\n%+v", by, limit, us, want.Users)
			}
		}
	}
}
