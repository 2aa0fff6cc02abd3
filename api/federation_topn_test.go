package api_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// spread builds decisions of users over collectors: each call adds n
// decisions of user with action a and risk r, the newest at event time at
// (one second apart, older backwards).
type spread struct {
	now  time.Time
	seq  int
	held [][]decision.Decision
}

func (s *spread) add(member int, user string, n int, a decision.Action, risk float64, at time.Duration) {
	for len(s.held) <= member {
		s.held = append(s.held, nil)
	}
	for i := range n {
		s.seq++
		d := decision.Decision{
			EventID: fmt.Sprintf("spread-%06d", s.seq), Source: "test", ReceivedAt: s.now,
			EventTime: s.now.Add(-at - time.Duration(i)*time.Second),
			Type:      "$login", Status: "$succeeded", UserID: user, Email: user + "@example.com",
			IP: fmt.Sprintf("10.1.%d.%d", member, s.seq%250), Country: "FR",
			Action: a, Risk: risk, Request: []byte(`{"type":"$login"}`), Response: []byte(`{}`),
		}
		s.held[member] = append(s.held[member], d)
	}
}

func (s *spread) all() []decision.Decision {
	var out []decision.Decision
	for _, ds := range s.held {
		out = append(out, ds...)
	}
	return out
}

// TestFederatedTopUsersAcrossCollectors puts one user's decisions on
// several collectors so that each collector's own top list misses or
// misranks it, and compares the federation with one collector holding
// every decision, over HTTP.
func TestFederatedTopUsersAcrossCollectors(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	cases := []struct {
		name  string
		sort  decision.UserSort
		limit int
		build func(s *spread)
	}{{
		// A: u1 10 denies, u2 9; B: u3 10, u2 9: the top is u2 with 18.
		name: "denies spread", sort: decision.SortDenies, limit: 1,
		build: func(s *spread) {
			s.add(0, "u1", 10, decision.ActionDeny, 90, time.Minute)
			s.add(0, "u2", 9, decision.ActionDeny, 90, 2*time.Minute)
			s.add(1, "u3", 10, decision.ActionDeny, 90, time.Minute)
			s.add(1, "u2", 9, decision.ActionDeny, 90, 3*time.Minute)
		},
	}, {
		// A: u1 and u2 tie at risk 90, u2 seen later on A; B saw u1 last
		// of all (at risk 10): u1 leads the tie.
		name: "max risk tie broken on another collector", sort: decision.SortMaxRisk, limit: 1,
		build: func(s *spread) {
			s.add(0, "u1", 1, decision.ActionDeny, 90, 10*time.Minute)
			s.add(0, "u2", 1, decision.ActionDeny, 90, 5*time.Minute)
			s.add(1, "u1", 1, decision.ActionAllow, 10, time.Minute)
		},
	}, {
		// The last seen user's counts are on a collector whose own top
		// list does not name it.
		name: "last seen with counts elsewhere", sort: decision.SortLastSeen, limit: 1,
		build: func(s *spread) {
			s.add(0, "u1", 3, decision.ActionDeny, 80, time.Minute)
			s.add(1, "u2", 2, decision.ActionAllow, 20, 2*time.Minute)
			s.add(1, "u1", 4, decision.ActionChallenge, 60, 30*time.Minute)
		},
	}}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &spread{now: now}
			c.build(s)
			a, b, whole := holding(t, s.held[0]), holding(t, s.held[1]), holding(t, s.all())
			fed := dialAll(t, a.URL, b.URL)
			one := dialOne(t, whole.URL)
			q := api.UsersQuery{Sort: c.sort, Limit: c.limit}
			want := get(one.SearchUsers(ctx, q))(t)
			got := get(fed.SearchUsers(ctx, q))(t)
			if !reflect.DeepEqual(got.Users, want.Users) || got.Bounded || got.Total != want.Total {
				t.Errorf("federation\n%+v (total %d, bounded %v)\none collector\n%+v (total %d)", got.Users, got.Total, got.Bounded, want.Users, want.Total)
			}
			if us := get(fed.Users(ctx, q))(t); !reflect.DeepEqual(us, want.Users) {
				t.Errorf("federation's Users\n%+v\none collector\n%+v", us, want.Users)
			}
		})
	}
}
