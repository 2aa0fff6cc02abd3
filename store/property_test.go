package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// randomStore fills a store with n random decisions written in calls of
// 1-20 while a fake clock advances 0-15 minutes between calls (so the data
// spans many hours), and returns every stored decision, oldest first.
func randomStore(t *testing.T, seed uint64, n int, opts Options) (*DB, []decision.Decision, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 4, 1, 22, 17, 31, 0, time.UTC)}
	opts.Now = clock.Now
	opts.NoSync = true
	opts.MaxDelay = time.Microsecond
	db := openTest(t, opts)
	g := newFakeGen(seed, 40, 15)
	g.errRate = 0.1
	rng := rand.New(rand.NewPCG(seed, 99))
	ctx := context.Background()
	for i := 0; i < n; {
		k := min(n-i, 1+rng.IntN(20))
		rs := make([]Result, k)
		for j := range rs {
			rs[j].Decision = g.decision(i + j)
		}
		if _, err := db.Complete(ctx, rs); err != nil {
			t.Fatal(err)
		}
		i += k
		clock.Add(time.Duration(rng.IntN(15*60)) * time.Second)
	}
	return db, allDecisions(t, db), clock
}

// inMinuteWindow is the rollup window rule, written independently: a
// decision counts when its minute starts at or after from's minute and
// before to.
func inMinuteWindow(d *decision.Decision, from, to time.Time) bool {
	m := d.Time.Truncate(time.Minute)
	return (from.IsZero() || !m.Before(from.Truncate(time.Minute))) && (to.IsZero() || m.Before(to))
}

func inExactWindow(d *decision.Decision, from, to time.Time) bool {
	return !d.Time.Before(from) && (to.IsZero() || d.Time.Before(to))
}

// randomWindows returns windows over the data: unbounded ones, whole-hour
// ones and ragged ones.
func randomWindows(rng *rand.Rand, first, last time.Time) [][2]time.Time {
	span := last.Sub(first)
	ws := [][2]time.Time{{}, {first, time.Time{}}, {time.Time{}, last}, {first.Truncate(time.Hour), last.Truncate(time.Hour)}}
	for range 25 {
		a := first.Add(time.Duration(rng.Int64N(int64(span))) - time.Hour)
		b := a.Add(time.Duration(rng.Int64N(int64(span))))
		ws = append(ws, [2]time.Time{a, b})
	}
	return ws
}

func TestRollupsMatchRecount(t *testing.T) {
	db, all, _ := randomStore(t, 1, 2500, Options{})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(2, 2))
	first, last := all[0].Time, all[len(all)-1].Time
	if last.Sub(first) < 24*time.Hour {
		t.Fatalf("data spans only %s; the test wants whole hours and ragged ends", last.Sub(first))
	}
	for _, w := range randomWindows(rng, first, last) {
		from, to := w[0], w[1]
		name := fmt.Sprintf("%s..%s", from.Format(time.RFC3339), to.Format(time.RFC3339))

		var wantHist [decision.NumScores][101][decision.NumActions]uint64
		var wantTot decision.Totals
		wantTot.ByAction = map[decision.Action]uint64{}
		wantTot.ByType = map[string]uint64{}
		for _, a := range decision.Actions {
			wantTot.ByAction[a] = 0
		}
		for i := range all {
			d := &all[i]
			if inExactWindow(d, from, to) {
				if wantTot.First.IsZero() {
					wantTot.First = d.Time
				}
				wantTot.Last = d.Time
			}
			if !inMinuteWindow(d, from, to) {
				continue
			}
			wantTot.Decisions++
			wantTot.ByAction[d.Action]++
			wantTot.ByType[d.Type]++
			if d.Action != decision.ActionError {
				for s := range decision.NumScores {
					wantHist[s][decision.Bucket(d.ScoreValue(s))][d.Action.Index()]++
				}
			}
		}
		for s := range decision.NumScores {
			h, err := db.Histogram(ctx, s, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if h.Counts != wantHist[s] {
				t.Errorf("%s: histogram of %s differs from a recount", name, s)
			}
			var total uint64
			for b := range h.Counts {
				for _, c := range h.Counts[b] {
					total += c
				}
			}
			if h.Total != total {
				t.Errorf("%s: histogram total %d, buckets hold %d", name, h.Total, total)
			}
		}
		tot, err := db.Totals(ctx, from, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(tot.ByAction, tot.ByType, tot.Decisions) != fmt.Sprint(wantTot.ByAction, wantTot.ByType, wantTot.Decisions) ||
			!tot.First.Equal(wantTot.First) || !tot.Last.Equal(wantTot.Last) {
			t.Errorf("%s: Totals = %+v, recount %+v", name, tot, wantTot)
		}
		if from.IsZero() || to.IsZero() {
			continue
		}
		rates, err := db.Rates(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		wantRates := map[time.Time][decision.NumActions]uint64{}
		for i := range all {
			if d := &all[i]; inMinuteWindow(d, from, to) {
				m := d.Time.Truncate(time.Minute)
				c := wantRates[m]
				c[d.Action.Index()]++
				wantRates[m] = c
			}
		}
		if want := int(to.Sub(from.Truncate(time.Minute)).Minutes()); len(rates) < want || len(rates) > want+1 {
			t.Errorf("%s: %d minutes of rates, want about %d", name, len(rates), want)
		}
		for i, r := range rates {
			if i > 0 && !r.Minute.Equal(rates[i-1].Minute.Add(time.Minute)) {
				t.Fatalf("%s: rates skip from %s to %s", name, rates[i-1].Minute, r.Minute)
			}
			if r.ByAction != wantRates[r.Minute] {
				t.Errorf("%s: rates at %s = %v, recount %v", name, r.Minute, r.ByAction, wantRates[r.Minute])
			}
			delete(wantRates, r.Minute)
		}
		if len(wantRates) != 0 {
			t.Errorf("%s: %d minutes with decisions missing from Rates", name, len(wantRates))
		}
	}
}

func TestWhatIfMatchesRecount(t *testing.T) {
	db, all, _ := randomStore(t, 3, 1500, Options{})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(4, 4))
	first, last := all[0].Time, all[len(all)-1].Time
	for _, w := range randomWindows(rng, first, last)[:12] {
		from, to := w[0], w[1]
		for range 3 {
			s := decision.Score(rng.IntN(int(decision.NumScores)))
			th := decision.Thresholds{Score: s, Challenge: float64(rng.IntN(101)), Deny: float64(rng.IntN(101))}
			if rng.IntN(3) == 0 {
				th.Deny += 0.5 // fractional thresholds act at whole points
			}
			var want decision.WhatIf
			want.ByType = map[string]*[decision.NumActions][3]uint64{}
			var flips []string
			for i := range all {
				d := &all[i]
				if inExactWindow(d, from, to) && d.Action != decision.ActionError && th.Simulate(d.ScoreValue(s)) != d.Action {
					flips = append(flips, d.ID)
				}
				if !inMinuteWindow(d, from, to) {
					continue
				}
				if d.Action == decision.ActionError {
					want.Errors++
					if want.ByType[d.Type] == nil {
						want.ByType[d.Type] = new([decision.NumActions][3]uint64)
					}
					continue
				}
				v := float64(decision.Bucket(d.ScoreValue(s)))
				sim := 0
				if v >= th.Deny {
					sim = 2
				} else if v >= th.Challenge {
					sim = 1
				}
				want.Matrix[d.Action.Index()][sim]++
				if want.ByType[d.Type] == nil {
					want.ByType[d.Type] = new([decision.NumActions][3]uint64)
				}
				want.ByType[d.Type][d.Action.Index()][sim]++
			}
			got, err := db.WhatIf(ctx, th, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if got.Matrix != want.Matrix || got.Errors != want.Errors || len(got.ByType) != len(want.ByType) {
				t.Errorf("what-if %s %+v: matrix %v errors %d types %d, recount %v %d %d", s, th, got.Matrix, got.Errors, len(got.ByType), want.Matrix, want.Errors, len(want.ByType))
			}
			for typ, m := range want.ByType {
				if g := got.ByType[typ]; g == nil || *g != *m {
					t.Errorf("what-if %s %+v: type %s = %v, recount %v", s, th, typ, g, m)
				}
			}
			slices.Reverse(flips)
			limit := 1 + rng.IntN(50)
			gotFlips, err := db.Flips(ctx, th, from, to, limit)
			if err != nil {
				t.Fatal(err)
			}
			if wantN := min(limit, len(flips)); len(gotFlips) != wantN {
				t.Fatalf("Flips returned %d, want %d", len(gotFlips), wantN)
			}
			for i, d := range gotFlips {
				if d.ID != flips[i] || len(d.Request) == 0 {
					t.Errorf("flip %d = %s, want %s", i, d.ID, flips[i])
				}
			}
		}
	}
}

func TestSimulateWholeThresholds(t *testing.T) {
	th := decision.Thresholds{Challenge: 60, Deny: 90}
	for _, c := range []struct {
		v    float64
		want decision.Action
	}{{0, decision.ActionAllow}, {59.99, decision.ActionAllow}, {60, decision.ActionChallenge}, {89.5, decision.ActionChallenge}, {90, decision.ActionDeny}, {100, decision.ActionDeny}, {250, decision.ActionDeny}, {-3, decision.ActionAllow}} {
		if got := th.Simulate(c.v); got != c.want {
			t.Errorf("Simulate(%v) = %s, want %s", c.v, got, c.want)
		}
	}
}

// summarise computes user summaries from decisions, oldest first.
func summarise(all []decision.Decision) map[string]decision.UserSummary {
	m := map[string]*decision.UserSummary{}
	for i := range all {
		if all[i].UserID != "" {
			addSummary(m, &all[i])
		}
	}
	out := map[string]decision.UserSummary{}
	for k, v := range m {
		out[k] = *v
	}
	return out
}

func TestUsersMatchRecount(t *testing.T) {
	// A small merge threshold leaves some users partly merged, partly
	// pending.
	db, all, _ := randomStore(t, 5, 1200, Options{mergeEvery: 97})
	ctx := context.Background()
	want := summarise(all)
	got, err := db.Users(ctx, UsersQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d users, recount %d", len(got), len(want))
	}
	for i, s := range got {
		if w := want[s.UserID]; fmt.Sprintf("%+v", s) != fmt.Sprintf("%+v", w) {
			t.Errorf("summary\n%+v\nrecount\n%+v", s, w)
		}
		if i > 0 && s.LastSeen.After(got[i-1].LastSeen) {
			t.Errorf("SortLastSeen: %s after %s", s.UserID, got[i-1].UserID)
		}
	}
	for _, sort := range []decision.UserSort{decision.SortMaxRisk, decision.SortDenies} {
		us, err := db.Users(ctx, UsersQuery{Sort: sort, Limit: 5})
		if err != nil || len(us) != 5 {
			t.Fatalf("Users sort %d: %d, %v", sort, len(us), err)
		}
		for i := 1; i < len(us); i++ {
			if (sort == decision.SortMaxRisk && us[i].MaxRisk > us[i-1].MaxRisk) || (sort == decision.SortDenies && us[i].Denies > us[i-1].Denies) {
				t.Errorf("sort %d out of order: %+v then %+v", sort, us[i-1], us[i])
			}
		}
	}
	if us, _ := db.Users(ctx, UsersQuery{Search: "USER-1"}); len(us) == 0 {
		t.Error("case-insensitive search found nobody")
	} else {
		for _, u := range us {
			if u.UserID[:6] != "user-1" {
				t.Errorf("search user-1 returned %s", u.UserID)
			}
		}
	}
	ip := all[len(all)/2].IP
	wantOnIP := map[string]bool{}
	for _, d := range all {
		if d.IP == ip && d.UserID != "" {
			wantOnIP[d.UserID] = true
		}
	}
	onIP, err := db.Users(ctx, UsersQuery{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	if len(onIP) != len(wantOnIP) {
		t.Errorf("users on %s: %d, recount %d", ip, len(onIP), len(wantOnIP))
	}
	for _, u := range onIP {
		if !wantOnIP[u.UserID] {
			t.Errorf("%s listed on %s", u.UserID, ip)
		}
	}
	for _, user := range []string{"user-0", "user-7", "nobody"} {
		var wantIDs []string
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].UserID == user {
				wantIDs = append(wantIDs, all[i].ID)
			}
		}
		ds, err := db.UserDecisions(ctx, user, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
			t.Errorf("UserDecisions(%s): %d decisions, recount %d", user, len(ids), len(wantIDs))
		}
		if ds, _ := db.UserDecisions(ctx, user, 3); len(ds) != min(3, len(wantIDs)) {
			t.Errorf("UserDecisions(%s, 3) returned %d", user, len(ds))
		}
	}
}

func TestQueriesMatchRecount(t *testing.T) {
	db, all, clock := randomStore(t, 7, 900, Options{mergeEvery: 61})
	ctx := context.Background()
	now := clock.Now()
	exprs := []string{"", "user:user-3", "action:deny", "risk>=50 -type:$login", "since:6h", "user:user-5 since:20h", "signal:proxy_ip bot<30", "user:nobody", "10."}
	for _, expr := range exprs {
		f, err := decision.ParseFilter(expr, now)
		if err != nil {
			t.Fatal(err)
		}
		var match []decision.Decision
		for i := len(all) - 1; i >= 0; i-- {
			if f.Match(&all[i]) {
				match = append(match, all[i])
			}
		}
		got, err := db.Latest(ctx, f, 25)
		if err != nil {
			t.Fatal(err)
		}
		if want := match[:min(25, len(match))]; fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
			t.Errorf("Latest(%q) = %d decisions, recount %d", expr, len(got), len(want))
		}

		from := all[len(all)/4].Time
		to := all[3*len(all)/4].Time
		var inWin []decision.Decision
		for i := range all {
			if inExactWindow(&all[i], from, to) && f.Match(&all[i]) {
				inWin = append(inWin, all[i])
			}
		}
		for _, reverse := range []bool{false, true} {
			q := RangeQuery{From: from, To: to, Reverse: reverse, Limit: 7, Filter: f}
			var paged []decision.Decision
			for pages := 0; ; pages++ {
				p, err := db.Range(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if p.Next != "" && len(p.Decisions) != q.Limit {
					t.Errorf("Range(%q): a page of %d with a next cursor", expr, len(p.Decisions))
				}
				paged = append(paged, p.Decisions...)
				if p.Next == "" || pages > 1000 {
					break
				}
				q.Cursor = p.Next
			}
			want := slices.Clone(inWin)
			if reverse {
				slices.Reverse(want)
			}
			if fmt.Sprint(ids(paged)) != fmt.Sprint(ids(want)) {
				t.Errorf("Range(%q, reverse=%v): %d decisions, recount %d", expr, reverse, len(paged), len(want))
			}
		}
		tot, err := db.Totals(ctx, from, to, f)
		if err != nil {
			t.Fatal(err)
		}
		if f.Empty() {
			continue // rollups: minute windows, checked in TestRollupsMatchRecount
		}
		if tot.Decisions != uint64(len(inWin)) {
			t.Errorf("Totals(%q) = %d, recount %d", expr, tot.Decisions, len(inWin))
		}
		if len(inWin) > 0 && (!tot.First.Equal(inWin[0].Time) || !tot.Last.Equal(inWin[len(inWin)-1].Time)) {
			t.Errorf("Totals(%q) first/last %s %s", expr, tot.First, tot.Last)
		}
	}
	if _, err := db.Range(ctx, RangeQuery{Cursor: "zz"}); err == nil {
		t.Error("Range accepted a bad cursor")
	}
	if l, _ := db.Latest(ctx, nil, 0); len(l) != 0 {
		t.Errorf("Latest(n=0) returned %d", len(l))
	}
}

func ids(ds []decision.Decision) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}
