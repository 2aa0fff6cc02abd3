package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
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
		// c ties x at risk 90 on A and leads the tie by its last seen on
		// B, where its risk is low and it is in neither of B's first pages
		// (by risk, by last seen).
		name: "max risk tie broken deep in another collector", sort: decision.SortMaxRisk, limit: 3,
		build: func(s *spread) {
			s.add(0, "x", 1, decision.ActionDeny, 90, time.Minute)
			s.add(0, "c", 1, decision.ActionDeny, 90, 2*time.Minute)
			s.add(0, "y", 1, decision.ActionAllow, 10, 30*time.Second)
			s.add(1, "z1", 1, decision.ActionDeny, 95, 50*time.Minute)
			s.add(1, "z2", 1, decision.ActionDeny, 95, 51*time.Minute)
			for i, u := range []string{"v1", "v2", "v3"} {
				s.add(1, u, 1, decision.ActionChallenge, 50, time.Hour+time.Duration(i)*time.Minute)
			}
			s.add(1, "c", 1, decision.ActionAllow, 10, 6*time.Second)
			for i, u := range []string{"w1", "w2", "w3"} {
				s.add(1, u, 1, decision.ActionAllow, 0, time.Duration(i+1)*time.Second)
			}
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

// randomSpread puts users' decisions on k collectors at random: most users
// on several, a few on one; risks from a few values (ties), unique event
// times, every decision with an email, IP and country.
func randomSpread(rng *rand.Rand, now time.Time, k, users, decisions int) *spread {
	s := &spread{now: now, held: make([][]decision.Decision, k)}
	risks := []float64{0, 10, 50, 90, 100}
	for i := range decisions {
		u := rng.IntN(users)
		// Users below users/4 live on one collector, the others anywhere.
		m := rng.IntN(k)
		if u < users/4 {
			m = u % k
		}
		a := []decision.Action{decision.ActionAllow, decision.ActionChallenge, decision.ActionDeny, decision.ActionError}[rng.IntN(4)]
		if u%5 == 0 {
			a = decision.ActionDeny // a few users deny a lot: deep ties otherwise
		}
		user := fmt.Sprintf("u%02d", u)
		s.seq++
		s.held[m] = append(s.held[m], decision.Decision{
			EventID: fmt.Sprintf("rand-%06d", s.seq), Source: "test", ReceivedAt: now,
			EventTime: now.Add(-time.Duration(rng.IntN(1_000_000))*time.Millisecond - time.Duration(i)*time.Microsecond),
			Type:      "$login", Status: "$succeeded", UserID: user,
			Email: fmt.Sprintf("%s-%d@example.com", user, rng.IntN(3)), IP: fmt.Sprintf("10.2.%d.%d", m, rng.IntN(4)),
			Country: []string{"FR", "DE", "US"}[rng.IntN(3)],
			Action:  a, Risk: risks[rng.IntN(len(risks))], Request: []byte(`{"type":"$login"}`), Response: []byte(`{}`),
		})
	}
	return s
}

// recount folds ds into user summaries by brute force, as a store does.
func recount(ds []decision.Decision) map[string]decision.UserSummary {
	sorted := slices.Clone(ds)
	slices.SortStableFunc(sorted, func(a, b decision.Decision) int { return a.EventTime.Compare(b.EventTime) })
	out := map[string]decision.UserSummary{}
	for _, d := range sorted {
		s, ok := out[d.UserID]
		if !ok {
			s = decision.UserSummary{UserID: d.UserID, FirstSeen: d.EventTime.UTC()}
		}
		s.LastSeen = d.EventTime.UTC()
		s.Email, s.LastIP, s.LastCountry = d.Email, d.IP, d.Country
		s.Count++
		switch d.Action {
		case decision.ActionDeny:
			s.Denies++
		case decision.ActionChallenge:
			s.Challenges++
		}
		if d.Action != decision.ActionError {
			s.MaxRisk = max(s.MaxRisk, d.Risk)
		}
		out[d.UserID] = s
	}
	return out
}

// TestFederatedTopUsersRandom spreads users over 2 to 4 collectors at
// random and asks the federation for every sort, several limits and
// offsets, an IP and a search, over HTTP: the answers must be those of
// one collector holding every decision, whose whole list is checked
// against a brute-force recount.
func TestFederatedTopUsersRandom(t *testing.T) {
	trials := 3
	if testing.Short() {
		trials = 2
	}
	now := time.Now().Truncate(time.Millisecond)
	ctx := context.Background()
	for trial := range trials {
		seed := uint64(trial + 1)
		rng := rand.New(rand.NewPCG(seed, 42))
		k := 2 + trial%3
		s := randomSpread(rng, now, k, 40, 300+rng.IntN(300))
		urls := make([]string, k)
		for i := range k {
			urls[i] = holding(t, s.held[i]).URL
		}
		fed := dialAll(t, urls...)
		one := dialOne(t, holding(t, s.all()).URL)

		byID := recount(s.all())
		whole := get(one.SearchUsers(ctx, api.UsersQuery{}))(t)
		if len(whole.Users) != len(byID) || whole.Total != len(byID) {
			t.Fatalf("seed %d: one collector lists %d of %d users, the recount %d", seed, len(whole.Users), whole.Total, len(byID))
		}
		for _, u := range whole.Users {
			if u != byID[u.UserID] {
				t.Fatalf("seed %d: one collector\n%+v\nthe recount\n%+v", seed, u, byID[u.UserID])
			}
		}

		var qs []api.UsersQuery
		for _, by := range []decision.UserSort{decision.SortLastSeen, decision.SortMaxRisk, decision.SortDenies} {
			for _, limit := range []int{1, 2, 5, 10, 25, 0} {
				qs = append(qs, api.UsersQuery{Sort: by, Limit: limit})
			}
			qs = append(qs, api.UsersQuery{Sort: by, Limit: 4, Offset: 3}, api.UsersQuery{Sort: by, Limit: 5, Offset: 60},
				api.UsersQuery{Sort: by, Limit: 3, IP: "10.2.1.2"}, api.UsersQuery{Sort: by, Limit: 4, Search: "U1"})
		}
		for _, q := range qs {
			want := get(one.SearchUsers(ctx, q))(t)
			got := get(fed.SearchUsers(ctx, q))(t)
			if !reflect.DeepEqual(got.Users, want.Users) || got.Bounded {
				t.Fatalf("seed %d, %d collectors, %+v: federation\n%+v (bounded %v)\none collector\n%+v", seed, k, q, got.Users, got.Bounded, want.Users)
			}
			// The total is exact for a whole list, an upper bound otherwise.
			if (q.Limit == 0 || q.IP != "" || q.Search != "") && got.Total != want.Total || got.Total < want.Total {
				t.Errorf("seed %d, %+v: total %d, one collector %d", seed, q, got.Total, want.Total)
			}
			if q.Search == "" && q.Offset == 0 {
				if us := get(fed.Users(ctx, q))(t); !reflect.DeepEqual(us, want.Users) {
					t.Fatalf("seed %d, %+v: federation's Users\n%+v\none collector\n%+v", seed, q, us, want.Users)
				}
			}
		}
	}
}

// TestUsersQueryRefusesHostileInput sends bad offsets and user lists to a
// collector over HTTP (each a 400 naming the parameter) and in process,
// and asks for pages past the end.
func TestUsersQueryRefusesHostileInput(t *testing.T) {
	s := &spread{now: time.Now()}
	s.add(0, "u,1", 2, decision.ActionDeny, 90, time.Minute)
	s.add(0, "u2", 1, decision.ActionAllow, 10, 2*time.Minute)
	c := holding(t, s.held[0])
	for _, raw := range []string{
		"offset=-1", "offset=1000001", "offset=99999999999999999999", "offset=abc", "offset=", "offset=1&offset=2",
		"users=a,,b", "users=%25zz", "users=" + strings.Repeat("a,", api.MaxUsersAsked) + "a",
		"users=u2&search=u", "users=u2&ip=10.0.0.1", "users=u2&offset=1", "cursor=3",
	} {
		req, _ := http.NewRequest(http.MethodGet, c.URL+"/v1/users/search?"+raw, nil)
		req.Header.Set("Authorization", "Bearer "+fedToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", raw, resp.StatusCode, body)
		}
	}
	ctx := context.Background()
	r := c.Col.Reader()
	for _, q := range []api.UsersQuery{{Offset: -1}, {Offset: api.MaxUserOffset + 1}, {Users: api.UserIDs{""}},
		{Users: api.UserIDs{"u2"}, Search: "u"}, {Users: make(api.UserIDs, api.MaxUsersAsked+1)}} {
		if _, err := r.SearchUsers(ctx, q); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("in process, %+v: %v, want ErrInvalid", q, err)
		}
	}
	fed := dialAll(t, c.URL)
	if _, err := fed.SearchUsers(ctx, api.UsersQuery{Offset: -5, Limit: 1}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("federation, offset -5: %v, want ErrInvalid", err)
	}
	remote := dialOne(t, c.URL)
	for _, q := range []api.UsersQuery{{Offset: 2, Limit: 5}, {Offset: api.MaxUserOffset, Limit: 1}} {
		l := get(remote.SearchUsers(ctx, q))(t)
		if len(l.Users) != 0 || l.Total != 2 {
			t.Errorf("%+v: %d users of %d, want none of 2", q, len(l.Users), l.Total)
		}
	}
	// A user ID with a comma travels intact; unknown users are left out.
	l := get(remote.SearchUsers(ctx, api.UsersQuery{Sort: decision.SortDenies, Users: api.UserIDs{"nobody", "u2", "u,1", "u2"}}))(t)
	if len(l.Users) != 2 || l.Users[0].UserID != "u,1" || l.Users[0].Denies != 2 || l.Users[1].UserID != "u2" || l.Total != 2 {
		t.Errorf("named users: %+v", l)
	}
}

// FuzzUserIDs reads any text as a users parameter: what it accepts writes
// back to text that reads the same.
func FuzzUserIDs(f *testing.F) {
	for _, s := range []string{"", "a", "a,b", "u%2C1,u2", "a,,b", "%zz", ",", "%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var ids api.UserIDs
		if err := ids.UnmarshalText([]byte(s)); err != nil {
			return
		}
		b, err := ids.MarshalText()
		if err != nil {
			t.Fatalf("%q read as %q, which does not write: %v", s, ids, err)
		}
		var back api.UserIDs
		if err := back.UnmarshalText(b); err != nil || !slices.Equal(back, ids) {
			t.Fatalf("%q read as %q, wrote %q, read back %q (%v)", s, ids, b, back, err)
		}
	})
}

// TestFederatedTopUsersSaysWhenBounded gives two collectors disjoint
// users with one deny each, more than the last round reads: any user not
// yet listed by one collector may still hold a deny on the other, so the
// top is never proven. The federation says so (Bounded; Users fails with
// ErrUnavailable) and still lists exact summaries in order; read whole
// over HTTP, where one answer carries fewer users than a collector holds,
// it says so too.
func TestFederatedTopUsersSaysWhenBounded(t *testing.T) {
	if testing.Short() {
		// ~4 s, ~20 s under the race detector: the bound is reached only
		// past the 10,000 users one answer carries.
		t.Skip("builds two stores of 10,500 users and looks each up")
	}
	now := time.Now().Truncate(time.Second)
	const users = 10_500
	s := &spread{now: now}
	for i := range users {
		s.add(0, fmt.Sprintf("a%05d", i), 1, decision.ActionDeny, 90, time.Duration(2*i)*time.Second)
		s.add(1, fmt.Sprintf("b%05d", i), 1, decision.ActionDeny, 90, time.Duration(2*i+1)*time.Second)
	}
	a, b := holding(t, s.held[0]), holding(t, s.held[1])
	fed, err := api.Federate(api.Member{Name: "a", Reader: a.Col.Reader()}, api.Member{Name: "b", Reader: b.Col.Reader()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q := api.UsersQuery{Sort: decision.SortDenies, Limit: 3}
	l := get(fed.SearchUsers(ctx, q))(t)
	want := []string{"a00000", "b00000", "a00001"}
	if !l.Bounded || len(l.Users) != 3 || !slices.Equal([]string{l.Users[0].UserID, l.Users[1].UserID, l.Users[2].UserID}, want) ||
		l.Users[0].Denies != 1 || l.Users[0].LastSeen.Compare(now) != 0 {
		t.Errorf("got %+v, want %v marked bounded", l, want)
	}
	if _, err := fed.Users(ctx, q); !errors.Is(err, api.ErrUnavailable) {
		t.Errorf("Users: %v, want ErrUnavailable", err)
	}
	// The same users by last seen are proven at once.
	if l := get(fed.SearchUsers(ctx, api.UsersQuery{Sort: decision.SortLastSeen, Limit: 3}))(t); l.Bounded || l.Users[2].UserID != "a00001" {
		t.Errorf("by last seen: %+v", l)
	}
	whole := get(dialAll(t, a.URL, b.URL).SearchUsers(ctx, api.UsersQuery{Sort: decision.SortLastSeen}))(t)
	if !whole.Bounded || whole.Total != 2*users {
		t.Errorf("whole lists over HTTP: %d users of %d, bounded %v; want %d marked bounded", len(whole.Users), whole.Total, whole.Bounded, 2*users)
	}
}

// TestFederatedTopUsersWithoutAnUnreachableCollector leaves a collector
// that cannot be reached out of the answer, which is the others' own, and
// names it in Members.
func TestFederatedTopUsersWithoutAnUnreachableCollector(t *testing.T) {
	s := randomSpread(rand.New(rand.NewPCG(9, 9)), time.Now().Truncate(time.Millisecond), 2, 30, 200)
	a, b := holding(t, s.held[0]), holding(t, s.held[1])
	down := closedURL(t)
	fed := dialAll(t, a.URL, down, b.URL)
	live := dialAll(t, a.URL, b.URL)
	ctx := context.Background()
	for _, by := range []decision.UserSort{decision.SortLastSeen, decision.SortMaxRisk, decision.SortDenies} {
		for _, q := range []api.UsersQuery{{Sort: by, Limit: 5}, {Sort: by}, {Sort: by, Limit: 3, Search: "u1"}} {
			got, want := get(fed.SearchUsers(ctx, q))(t), get(live.SearchUsers(ctx, q))(t)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%+v: with one collector down\n%+v\nthe two up\n%+v", q, got, want)
			}
		}
	}
	if ms := fed.Members(); ms[1].OK || ms[1].Err == nil || !ms[0].OK || !ms[2].OK {
		t.Errorf("members %+v", ms)
	}
	if _, err := dialAll(t, down, closedURL(t)).SearchUsers(ctx, api.UsersQuery{Limit: 5}); err == nil {
		t.Error("no collector up: no error")
	}
}
