package api_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/collector/collectortest"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

const fedToken = "federation-token"

// fedDecisions are n decisions over the last two hours of event time,
// oldest first: ten users, every type, action and score spread, a few
// errors.
func fedDecisions(n int, now time.Time) []decision.Decision {
	types := []string{"$login", "$login", "$registration", "$transaction", "$profile_update"}
	out := make([]decision.Decision, n)
	for i := range out {
		d := decision.Decision{
			EventID: fmt.Sprintf("fed-%03d", i), Source: "test", ReceivedAt: now,
			EventTime: now.Add(-2 * time.Hour).Add(time.Duration(i) * 2 * time.Hour / time.Duration(n)),
			Type:      types[i%len(types)], Status: "$succeeded", UserID: fmt.Sprintf("u%d", i%10), IP: fmt.Sprintf("10.0.0.%d", i%7),
			Risk: float64((i * 37) % 101), AccountTakeover: float64((i * 53) % 101), Bot: float64((i * 29) % 101), AccountAbuse: float64((i * 17) % 101),
			Request: []byte(`{"type":"$login"}`), Response: []byte(`{}`),
		}
		switch {
		case i%13 == 0:
			d.Action, d.Error, d.Risk, d.AccountTakeover, d.Bot, d.AccountAbuse = decision.ActionError, "boom", 0, 0, 0, 0
		case d.Risk >= 80:
			d.Action = decision.ActionDeny
		case d.Risk >= 50:
			d.Action = decision.ActionChallenge
		default:
			d.Action = decision.ActionAllow
		}
		out[i] = d
	}
	return out
}

// holding runs a collector whose store holds ds.
func holding(t testing.TB, ds []decision.Decision) *collectortest.Collector {
	t.Helper()
	return collectortest.Start(t, collectortest.Options{Token: fedToken, Before: func(db *store.DB) error {
		// In groups, as the writer commits: one transaction of 100,000
		// decisions spends most of its time moving bbolt's nodes.
		for group := range slices.Chunk(ds, 4096) {
			rs := make([]store.Result, len(group))
			for i, d := range group {
				rs[i] = store.Result{Decision: d}
			}
			if _, err := db.Complete(context.Background(), rs); err != nil {
				return err
			}
		}
		return nil
	}})
}

func dialOne(t *testing.T, url string) *api.Remote {
	t.Helper()
	r, err := api.Dial(url, fedToken, api.RemoteOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func dialAll(t *testing.T, urls ...string) *api.Federation {
	t.Helper()
	f, err := api.DialAll(urls, fedToken, api.RemoteOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// get returns v for a test, failing it on err: get(r.Stats(ctx, q))(t).
func get[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestFederationAddsUpLikeOneCollector splits decisions between two
// collectors and compares the federation of the two with a third collector
// holding them all.
func TestFederationAddsUpLikeOneCollector(t *testing.T) {
	now := time.Now()
	all := fedDecisions(120, now)
	var evens, odds []decision.Decision
	for i, d := range all {
		if i%2 == 0 {
			evens = append(evens, d)
		} else {
			odds = append(odds, d)
		}
	}
	a, b, whole := holding(t, evens), holding(t, odds), holding(t, all)
	fed := dialAll(t, a.URL, b.URL)
	one := dialOne(t, whole.URL)
	ctx := context.Background()
	soon := time.Now().Add(time.Hour)

	t.Run("stats", func(t *testing.T) {
		for _, q := range []api.StatsQuery{{}, {Filter: "action:deny"}, {Filter: "type:$login -risk>=50"}, {To: soon}} {
			got, want := get(fed.Stats(ctx, q))(t), get(one.Stats(ctx, q))(t)
			ta, tb := get(dialOne(t, a.URL).Stats(ctx, q))(t), get(dialOne(t, b.URL).Stats(ctx, q))(t)
			// First and Last are stored times, which differ between the
			// stores: the federation's are the members' earliest and latest.
			if got.First != earliest(ta.First, tb.First) || got.Last != latest(ta.Last, tb.Last) {
				t.Errorf("%+v: first %v last %v, want %v and %v", q, got.First, got.Last, earliest(ta.First, tb.First), latest(ta.Last, tb.Last))
			}
			got.First, got.Last, want.First, want.Last = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%+v: federation %+v, one collector %+v", q, got, want)
			}
		}
	})
	t.Run("histogram", func(t *testing.T) {
		for s := range decision.NumScores {
			q := api.HistogramQuery{Score: s, To: soon}
			if got, want := get(fed.Histogram(ctx, q))(t), get(one.Histogram(ctx, q))(t); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: federation %+v, one collector %+v", s, got, want)
			}
		}
	})
	t.Run("what-if", func(t *testing.T) {
		for _, th := range []decision.Thresholds{{Score: decision.ScoreRisk, Challenge: 50, Deny: 80}, {Score: decision.ScoreBot, Challenge: 20, Deny: 70}} {
			q := api.WhatIfQuery{Thresholds: th}
			if got, want := get(fed.WhatIf(ctx, q))(t), get(one.WhatIf(ctx, q))(t); !reflect.DeepEqual(got, want) {
				t.Errorf("%+v: federation %+v, one collector %+v", th, got, want)
			}
		}
		q := api.FlipsQuery{Thresholds: decision.Thresholds{Score: decision.ScoreBot, Challenge: 20, Deny: 70}, Limit: 1000}
		if got, want := eventIDs(get(fed.Flips(ctx, q))(t)), eventIDs(get(one.Flips(ctx, q))(t)); !sameSet(got, want) {
			t.Errorf("flips: federation %v, one collector %v", got, want)
		}
	})
	t.Run("rates", func(t *testing.T) {
		q := api.RatesQuery{To: soon}
		if got, want := total(get(fed.Rates(ctx, q))(t)), total(get(one.Rates(ctx, q))(t)); got != want || got != uint64(len(all)) {
			t.Errorf("federation counts %d, one collector %d, want %d", got, want, len(all))
		}
	})
	t.Run("users and journeys", func(t *testing.T) {
		summary := func(us []decision.UserSummary) map[string][3]float64 {
			m := map[string][3]float64{}
			for _, u := range us {
				m[u.UserID] = [3]float64{float64(u.Count), float64(u.Denies), u.MaxRisk}
			}
			return m
		}
		q := api.UsersQuery{Sort: decision.SortDenies}
		got, want := get(fed.Users(ctx, q))(t), get(one.Users(ctx, q))(t)
		if !maps.Equal(summary(got), summary(want)) {
			t.Errorf("users: federation %v, one collector %v", summary(got), summary(want))
		}
		if !slices.IsSortedFunc(got, func(x, y decision.UserSummary) int { return int(y.Denies) - int(x.Denies) }) {
			t.Error("the federation's users are not in order of denies")
		}
		sq := api.UsersQuery{Sort: decision.SortDenies}
		gl, wl := get(fed.SearchUsers(ctx, sq))(t), get(one.SearchUsers(ctx, sq))(t)
		if !maps.Equal(summary(gl.Users), summary(wl.Users)) || gl.Total != wl.Total || gl.Total != len(want) {
			t.Errorf("search users: federation %d of %d, one collector %d of %d, users %d",
				len(gl.Users), gl.Total, len(wl.Users), wl.Total, len(want))
		}
		jq := api.JourneyQuery{User: "u3"}
		j, w := get(fed.Journey(ctx, jq))(t), get(one.Journey(ctx, jq))(t)
		if !slices.Equal(eventIDs(j), eventIDs(w)) {
			t.Errorf("journey: federation %v, one collector %v", eventIDs(j), eventIDs(w))
		}
	})
	t.Run("range pages", func(t *testing.T) {
		for _, reverse := range []bool{false, true} {
			var got []decision.Decision
			q := api.RangeQuery{Limit: 7, Reverse: reverse, Filter: "-user:u1"}
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("the pages do not end")
				}
				p := get(fed.Range(ctx, q))(t)
				got = append(got, p.Decisions...)
				if p.Next == "" {
					break
				}
				q.Cursor = p.Next
			}
			want := get(one.Range(ctx, api.RangeQuery{Limit: 1000, Reverse: reverse, Filter: "-user:u1"}))(t).Decisions
			if !slices.Equal(eventIDs(got), eventIDs(want)) {
				t.Errorf("reverse %v: federation %v\none collector %v", reverse, eventIDs(got), eventIDs(want))
			}
		}
		if _, err := fed.Range(ctx, api.RangeQuery{Cursor: "elsewhere"}); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("a foreign cursor: %v", err)
		}
	})
	t.Run("latest and decision", func(t *testing.T) {
		ds := get(fed.Latest(ctx, api.LatestQuery{N: 10}))(t)
		if len(ds) != 10 || !slices.IsSortedFunc(ds, func(x, y decision.Decision) int { return y.Time.Compare(x.Time) }) {
			t.Fatalf("latest: %d decisions, newest first %v", len(ds), eventIDs(ds))
		}
		older := get(fed.Latest(ctx, api.LatestQuery{N: 1000, Before: ds[4].ID}))(t)
		if n := len(older); n < len(all)/2 || slices.ContainsFunc(older, func(d decision.Decision) bool { return d.ID >= ds[4].ID }) {
			t.Errorf("before %s: %d decisions, some not older", ds[4].ID, n)
		}
		inB := get(dialOne(t, b.URL).Latest(ctx, api.LatestQuery{N: 1}))(t)[0]
		if d := get(fed.Decision(ctx, inB.ID))(t); d.EventID != inB.EventID {
			t.Errorf("decision %s: %+v", inB.ID, d)
		}
		if _, err := fed.Decision(ctx, strings.Repeat("f", 32)); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("an unknown decision: %v", err)
		}
		if _, err := fed.Stats(ctx, api.StatsQuery{Filter: "risk>=abc"}); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("a bad filter: %v", err)
		}
	})
	t.Run("health", func(t *testing.T) {
		h := get(fed.Health(ctx))(t)
		if h.Decisions != uint64(len(all)) || len(h.Members) != 2 || h.Members[0].Name != a.URL || h.Members[1].Health == nil ||
			h.Mode != api.ModeEmulator || h.Pipeline != api.PipelineRunning {
			t.Errorf("health %+v", h)
		}
		if ok, _, err := fed.Connection(); !ok || err != nil {
			t.Errorf("connection %v %v", ok, err)
		}
	})
}

// TestFederationAnswersWithoutAnUnreachableCollector: a collector that
// cannot be reached is named, and the other's answer stands.
func TestFederationAnswersWithoutAnUnreachableCollector(t *testing.T) {
	now := time.Now()
	a := holding(t, fedDecisions(40, now))
	down := closedURL(t)
	fed := dialAll(t, a.URL, down)
	alone := dialOne(t, a.URL)
	ctx := context.Background()

	got, want := get(fed.Stats(ctx, api.StatsQuery{}))(t), get(alone.Stats(ctx, api.StatsQuery{}))(t)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stats: federation %+v, the collector up %+v", got, want)
	}
	q := api.HistogramQuery{Score: decision.ScoreRisk}
	if got, want := get(fed.Histogram(ctx, q))(t), get(alone.Histogram(ctx, q))(t); !reflect.DeepEqual(got, want) {
		t.Errorf("histogram: federation %+v, the collector up %+v", got, want)
	}
	ms := fed.Members()
	if !ms[0].OK || ms[1].OK || ms[1].Name != down || ms[1].Err == nil || !strings.Contains(ms[1].Err.Error(), "unreachable") || ms[1].Since.IsZero() {
		t.Errorf("members %+v", ms)
	}
	if ok, _, err := fed.Connection(); ok || err == nil || !strings.Contains(err.Error(), down) {
		t.Errorf("connection: %v, %v; want it to name %s", ok, err, down)
	}
	h := get(fed.Health(ctx))(t)
	if h.Decisions != 40 || len(h.Members) != 2 || h.Members[1].Health != nil || !strings.Contains(h.Members[1].Error, down) {
		t.Errorf("health %+v", h)
	}
	var n int
	for q := (api.RangeQuery{Limit: 9}); ; {
		p := get(fed.Range(ctx, q))(t)
		n += len(p.Decisions)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if n != 40 {
		t.Errorf("paged %d decisions, want the 40 of the collector up", n)
	}

	none := dialAll(t, down, closedURL(t))
	if _, err := none.Stats(ctx, api.StatsQuery{}); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("no collector up: %v", err)
	}
}

// TestFederationMergesStreams subscribes to two collectors at once.
func TestFederationMergesStreams(t *testing.T) {
	a, b := holding(t, nil), holding(t, nil)
	fed, err := api.Federate(api.Member{Name: "a", Reader: a.Col.Reader()}, api.Member{Name: "b", Reader: b.Col.Reader()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := fed.Subscribe(ctx) // in-process subscriptions are live once Subscribe returns
	client := &http.Client{Timeout: 10 * time.Second}
	for i, c := range []*collectortest.Collector{a, b} {
		g := get(emulator.NewGenerator("normal", int64(i+1), time.Now))(t)
		if _, err := emulator.Post(ctx, client, c.URL, fedToken, g, 5, 0, 5); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for len(seen) < 10 {
		select {
		case batch := <-sub:
			for _, d := range batch.Decisions {
				seen[d.ID+d.EventID] = true
			}
		case <-timeout:
			t.Fatalf("%d of 10 decisions arrived", len(seen))
		}
	}
	cancel()
	for range sub {
	}
}

// closedURL is the URL of a port nothing listens on any more.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	return url
}

func eventIDs(ds []decision.Decision) []string {
	out := make([]string, len(ds))
	for i := range ds {
		out[i] = ds[i].EventID
	}
	return out
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func total(ms []decision.MinuteCounts) uint64 {
	var n uint64
	for _, m := range ms {
		n += m.Total()
	}
	return n
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
