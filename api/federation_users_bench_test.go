//go:build unix

package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// counting is a member that counts the requests the federation makes.
type counting struct {
	api.Reader
	pages, lookups atomic.Int64
}

func (c *counting) SearchUsers(ctx context.Context, q api.UsersQuery) (api.UserList, error) {
	if len(q.Users) > 0 {
		c.lookups.Add(1)
	} else {
		c.pages.Add(1)
	}
	return c.Reader.SearchUsers(ctx, q)
}

// benchSpread is n decisions per collector over k collectors: users drawn
// from 10,000 with a skew (a few users make many decisions), every user on
// any collector, each user's deny rate its own.
func benchSpread(k, n int) *spread {
	now := time.Now().Truncate(time.Second)
	rng := rand.New(rand.NewPCG(7, 7))
	s := &spread{now: now, held: make([][]decision.Decision, k)}
	const users = 10_000
	for m := range k {
		for i := range n {
			u := int(float64(users) * rng.Float64() * rng.Float64())
			a := decision.ActionAllow
			if rng.IntN(100) < u%40 {
				a = decision.ActionDeny
			}
			s.seq++
			user := fmt.Sprintf("user-%05d", u)
			s.held[m] = append(s.held[m], decision.Decision{
				EventID: fmt.Sprintf("bench-%07d", s.seq), Source: "bench", ReceivedAt: now,
				EventTime: now.Add(-time.Duration(i) * 100 * time.Millisecond), Type: "$login", Status: "$succeeded",
				UserID: user, Email: user + "@example.com", IP: fmt.Sprintf("10.3.%d.%d", m, u%250), Country: "FR",
				Action: a, Risk: float64(rng.IntN(101)), Request: []byte(`{"type":"$login"}`), Response: []byte(`{}`),
			})
		}
	}
	return s
}

// BenchmarkFederatedTopUsers asks three collectors of 100,000 decisions
// each, over HTTP, for the top 50 users by denies (and by the other
// sorts): the federation's requests per answer (pages, lookups, and the
// most any one member answered, which are sequential) beside the wall
// time; "member" is one collector's own top 50 for scale.
func BenchmarkFederatedTopUsers(b *testing.B) {
	s := benchSpread(3, 100_000)
	var members []api.Member
	var counts []*counting
	for i := range 3 {
		c := holding(b, s.held[i])
		r, err := api.Dial(c.URL, fedToken, api.RemoteOptions{Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(r.Close)
		cr := &counting{Reader: r}
		counts = append(counts, cr)
		members = append(members, api.Member{Name: c.URL, Reader: cr})
	}
	fed, err := api.Federate(members...)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sorts := []decision.UserSort{decision.SortDenies, decision.SortMaxRisk, decision.SortLastSeen}
	for _, by := range sorts { // warm up: first reads of each store
		if _, err := fed.SearchUsers(ctx, api.UsersQuery{Sort: by, Limit: 50}); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC() // the setup's garbage is not the queries' CPU
	for _, by := range sorts {
		name, _ := api.UserSortName(by)
		q := api.UsersQuery{Sort: by, Limit: 50}
		b.Run(name, func(b *testing.B) {
			for _, c := range counts {
				c.pages.Store(0)
				c.lookups.Store(0)
			}
			cpu := cpuTime(b)
			for b.Loop() {
				l, err := fed.SearchUsers(ctx, q)
				if err != nil || l.Bounded || len(l.Users) != 50 {
					b.Fatalf("%d users, bounded %v: %v", len(l.Users), l.Bounded, err)
				}
			}
			var pages, lookups, most int64
			for _, c := range counts {
				pages += c.pages.Load()
				lookups += c.lookups.Load()
				most = max(most, c.pages.Load()+c.lookups.Load())
			}
			n := float64(b.N)
			b.ReportMetric(float64(cpuTime(b)-cpu)/n/1e6, "cpu-ms/op")
			b.ReportMetric(float64(pages)/n, "pages/op")
			b.ReportMetric(float64(lookups)/n, "lookups/op")
			b.ReportMetric(float64(most)/n, "member-requests/op")
		})
	}
	b.Run("member", func(b *testing.B) {
		cpu := cpuTime(b)
		defer func() { b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N)/1e6, "cpu-ms/op") }()
		for b.Loop() {
			if _, err := counts[0].Reader.SearchUsers(ctx, api.UsersQuery{Sort: decision.SortDenies, Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// cpuTime is the process's CPU time so far (user and system): the
// collectors run in the process, so it counts both sides of each request,
// which the wall time on a loaded machine does not show.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
