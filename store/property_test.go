package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
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

// Values that vary the dimensions of generated decisions.
var (
	fakeAgents  = []string{"Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0", "curl/8.4.0", "python-requests/2.31", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile Safari", ""}
	fakeDomains = []string{"example.com", "Mail.Example.org", "tempmail.dev", "gmail.com"}
)

// vary gives d one of a few user agents and email domains, now and then
// an address in another /24 or in IPv4-mapped form, and sometimes no email
// or IP, so that every dimension has several values.
func vary(rng *rand.Rand, d *decision.Decision) {
	d.UserAgent = fakeAgents[rng.IntN(len(fakeAgents))]
	if d.UserID != "" {
		d.Email = strings.ToUpper(d.UserID[:1]) + d.UserID[1:] + "@" + fakeDomains[rng.IntN(len(fakeDomains))]
	}
	if i := strings.LastIndexByte(d.IP, '.'); i >= 0 && rng.IntN(3) == 0 {
		d.IP = fmt.Sprintf("10.0.%d%s", 1+rng.IntN(2), d.IP[i:])
	}
	switch rng.IntN(12) {
	case 0:
		d.Email = ""
	case 1:
		d.IP = ""
	case 2:
		d.IP = "::ffff:" + d.IP
	}
}

// eventTimeFor picks an event time for a decision arriving at now: mostly
// a little before it, often hours before it (late and backfilled events,
// out of arrival order), sometimes none (the store uses the arrival).
func eventTimeFor(rng *rand.Rand, now time.Time) time.Time {
	switch x := rng.IntN(10); {
	case x < 5:
		return now.Add(-time.Duration(rng.IntN(120_000)) * time.Millisecond)
	case x < 9:
		return now.Add(-time.Duration(rng.Int64N(int64(11 * time.Hour))))
	}
	return time.Time{}
}

// randomStore fills a store with n random decisions written in calls of
// 1-20 while a fake clock advances 0-15 minutes between calls (so the data
// spans many hours), with event times from eventTimeFor, and returns every
// stored decision in arrival (ID) order.
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
			d := g.decision(i + j)
			vary(rng, &d)
			d.ReceivedAt = clock.Now()
			d.EventTime = eventTimeFor(rng, clock.Now())
			rs[j].Decision = d
		}
		if _, err := db.Complete(ctx, rs); err != nil {
			t.Fatal(err)
		}
		i += k
		clock.Add(time.Duration(rng.IntN(15*60)) * time.Second)
	}
	return db, arrivalOrder(allDecisions(t, db)), clock
}

// arrivalOrder sorts decisions by ID, eventOrder by event time then ID
// (the order of Range).
func arrivalOrder(ds []decision.Decision) []decision.Decision {
	slices.SortFunc(ds, func(a, b decision.Decision) int { return strings.Compare(a.ID, b.ID) })
	return ds
}

func eventOrder(ds []decision.Decision) []decision.Decision {
	out := slices.Clone(ds)
	slices.SortFunc(out, func(a, b decision.Decision) int {
		if c := a.EventTime.Compare(b.EventTime); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// eventSpan returns the oldest and newest event time.
func eventSpan(all []decision.Decision) (time.Time, time.Time) {
	first, last := all[0].EventTime, all[0].EventTime
	for _, d := range all {
		if d.EventTime.Before(first) {
			first = d.EventTime
		}
		if d.EventTime.After(last) {
			last = d.EventTime
		}
	}
	return first, last
}

// inMinuteWindow is the rollup window rule, written independently: a
// decision counts when the minute of its event time starts at or after
// from's minute and before to.
func inMinuteWindow(d *decision.Decision, from, to time.Time) bool {
	m := d.EventTime.Truncate(time.Minute)
	return (from.IsZero() || !m.Before(from.Truncate(time.Minute))) && (to.IsZero() || m.Before(to))
}

func inExactWindow(d *decision.Decision, from, to time.Time) bool {
	return !d.EventTime.Before(from) && (to.IsZero() || d.EventTime.Before(to))
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

// checkRollups compares Histogram, Totals without a filter and Rates over
// windows with recounts of the decisions by event time. gone are decisions
// that are not stored any more but still counted in the rollups (at their
// EventTime).
func checkRollups(t *testing.T, db *DB, all, gone []decision.Decision, windows [][2]time.Time) {
	t.Helper()
	ctx := context.Background()
	counted := append(slices.Clone(all), gone...)
	for _, w := range windows {
		from, to := w[0], w[1]
		name := fmt.Sprintf("%s..%s", from.Format(time.RFC3339), to.Format(time.RFC3339))

		var wantHist [decision.NumScores][101][decision.NumActions]uint64
		var wantTot decision.Totals
		wantTot.ByAction = map[decision.Action]uint64{}
		wantTot.ByType = map[string]uint64{}
		for _, a := range decision.Actions {
			wantTot.ByAction[a] = 0
		}
		for i := range counted {
			d := &counted[i]
			if i < len(all) && inExactWindow(d, from, to) {
				if wantTot.First.IsZero() || d.EventTime.Before(wantTot.First) {
					wantTot.First = d.EventTime
				}
				if d.EventTime.After(wantTot.Last) {
					wantTot.Last = d.EventTime
				}
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
		for i := range counted {
			if d := &counted[i]; inMinuteWindow(d, from, to) {
				m := d.EventTime.Truncate(time.Minute)
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

func TestRollupsMatchRecount(t *testing.T) {
	db, all, _ := randomStore(t, 1, 2500, Options{})
	first, last := eventSpan(all)
	if last.Sub(first) < 24*time.Hour {
		t.Fatalf("data spans only %s; the test wants whole hours and ragged ends", last.Sub(first))
	}
	checkRollups(t, db, all, nil, randomWindows(rand.New(rand.NewPCG(2, 2)), first, last))
}

// checkWhatIf compares WhatIf and Flips with recounts by event time (gone
// as for checkRollups).
func checkWhatIf(t *testing.T, db *DB, all, gone []decision.Decision, windows [][2]time.Time, rng *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	byEvent := eventOrder(all)
	counted := append(slices.Clone(byEvent), gone...)
	for _, w := range windows {
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
			for i := range counted {
				d := &counted[i]
				if i < len(byEvent) && inExactWindow(d, from, to) && d.Action != decision.ActionError && th.Simulate(d.ScoreValue(s)) != d.Action {
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

func TestWhatIfMatchesRecount(t *testing.T) {
	db, all, _ := randomStore(t, 3, 1500, Options{})
	rng := rand.New(rand.NewPCG(4, 4))
	first, last := eventSpan(all)
	checkWhatIf(t, db, all, nil, randomWindows(rng, first, last)[:12], rng)
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

// summarise recounts user summaries from decisions in arrival order: counts
// and the highest risk of scored decisions, the oldest and newest event
// time, and for email, IP and country the value of the decision with the
// latest event time among those that have one (the later arrival on a
// tie).
func summarise(all []decision.Decision) map[string]decision.UserSummary {
	type latest struct {
		v  string
		at time.Time
	}
	type acc struct {
		s                  decision.UserSummary
		email, ip, country latest
	}
	m := map[string]*acc{}
	pick := func(l *latest, v string, at time.Time) {
		if v != "" && (l.v == "" || !at.Before(l.at)) {
			*l = latest{v, at}
		}
	}
	for i := range all {
		d := &all[i]
		if d.UserID == "" {
			continue
		}
		a := m[d.UserID]
		if a == nil {
			a = &acc{s: decision.UserSummary{UserID: d.UserID, FirstSeen: d.EventTime, LastSeen: d.EventTime}}
			m[d.UserID] = a
		}
		s := &a.s
		s.Count++
		if d.EventTime.Before(s.FirstSeen) {
			s.FirstSeen = d.EventTime
		}
		if d.EventTime.After(s.LastSeen) {
			s.LastSeen = d.EventTime
		}
		switch d.Action {
		case decision.ActionDeny:
			s.Denies++
		case decision.ActionChallenge:
			s.Challenges++
		}
		if d.Action != decision.ActionError && d.Risk > s.MaxRisk {
			s.MaxRisk = d.Risk
		}
		pick(&a.email, d.Email, d.EventTime)
		pick(&a.ip, d.IP, d.EventTime)
		pick(&a.country, d.Country, d.EventTime)
	}
	out := map[string]decision.UserSummary{}
	for k, a := range m {
		a.s.Email, a.s.LastIP, a.s.LastCountry = a.email.v, a.ip.v, a.country.v
		out[k] = a.s
	}
	return out
}

// checkUsers compares Users (every sort, search, by IP), the top users
// of the rank index (checkRank) and UserDecisions with recounts.
func checkUsers(t *testing.T, db *DB, all []decision.Decision) {
	t.Helper()
	ctx := context.Background()
	want := summarise(all)
	checkRank(t, db, all)
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
		if err != nil || len(us) != min(5, len(want)) {
			t.Fatalf("Users sort %d: %d, %v", sort, len(us), err)
		}
		for i := 1; i < len(us); i++ {
			if (sort == decision.SortMaxRisk && us[i].MaxRisk > us[i-1].MaxRisk) || (sort == decision.SortDenies && us[i].Denies > us[i-1].Denies) {
				t.Errorf("sort %d out of order: %+v then %+v", sort, us[i-1], us[i])
			}
		}
	}
	ips := map[string]bool{}
	for _, d := range all[:min(len(all), 40)] {
		ips[d.IP] = true
	}
	for ip := range ips {
		if ip == "" {
			continue
		}
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
	}
	users := []string{"nobody"}
	for u := range want {
		if len(users) < 6 {
			users = append(users, u)
		}
	}
	byEvent := eventOrder(all)
	for _, user := range users {
		var wantIDs []string
		for i := len(byEvent) - 1; i >= 0; i-- {
			if byEvent[i].UserID == user {
				wantIDs = append(wantIDs, byEvent[i].ID)
			}
		}
		ds, err := db.UserDecisions(ctx, user, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(ds); fmt.Sprint(got) != fmt.Sprint(wantIDs) {
			t.Errorf("UserDecisions(%s): %v, recount %v", user, got, wantIDs)
		}
		if ds, _ := db.UserDecisions(ctx, user, 3); len(ds) != min(3, len(wantIDs)) {
			t.Errorf("UserDecisions(%s, 3) returned %d", user, len(ds))
		}
	}
}

func TestUsersMatchRecount(t *testing.T) {
	// A small merge threshold leaves some users partly merged, partly
	// pending; small runs spread a user's entries over many blocks, runs
	// and levels.
	db, all, _ := randomStore(t, 5, 1200, Options{mergeEvery: 97, dims: smallRuns})
	checkUsers(t, db, all)
	if us, _ := db.Users(context.Background(), UsersQuery{Search: "USER-1"}); len(us) == 0 {
		t.Error("case-insensitive search found nobody")
	} else {
		for _, u := range us {
			if !strings.HasPrefix(u.UserID, "user-1") {
				t.Errorf("search user-1 returned %s", u.UserID)
			}
		}
	}
}

// checkQueries compares Latest (and its paging), Range and Totals with a
// filter with recounts, for filters of every kind.
func checkQueries(t *testing.T, db *DB, all []decision.Decision, now time.Time) {
	t.Helper()
	ctx := context.Background()
	byEvent := eventOrder(all)
	first, last := eventSpan(all)
	from := first.Add(last.Sub(first) / 4)
	to := first.Add(3 * last.Sub(first) / 4)
	exprs := []string{"", "user:user-3", "action:deny", "risk>=50 -type:$login", "since:6h", "until:3h",
		"user:user-5 since:20h", "signal:proxy_ip bot<30", "user:nobody", "10.", "since:9h until:2h user:user-2"}
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
		got, err := db.Latest(ctx, f, 25, "")
		if err != nil {
			t.Fatal(err)
		}
		if want := match[:min(25, len(match))]; fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
			t.Errorf("Latest(%q) = %d decisions, recount %d", expr, len(got), len(want))
		}
		// Paging back through the whole history, 7 at a time.
		var paged []decision.Decision
		for before := ""; ; {
			p, err := db.Latest(ctx, f, 7, before)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, p...)
			if len(p) < 7 || len(paged) > len(all) {
				break
			}
			before = p[len(p)-1].ID
		}
		if fmt.Sprint(ids(paged)) != fmt.Sprint(ids(match)) {
			t.Errorf("Latest(%q) paged by before: %d decisions, recount %d", expr, len(paged), len(match))
		}

		var inWin []decision.Decision
		for i := range byEvent {
			if inExactWindow(&byEvent[i], from, to) && f.Match(&byEvent[i]) {
				inWin = append(inWin, byEvent[i])
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
			continue // rollups: minute windows, checked by checkRollups
		}
		if tot.Decisions != uint64(len(inWin)) {
			t.Errorf("Totals(%q) = %d, recount %d", expr, tot.Decisions, len(inWin))
		}
		if len(inWin) > 0 && (!tot.First.Equal(inWin[0].EventTime) || !tot.Last.Equal(inWin[len(inWin)-1].EventTime)) {
			t.Errorf("Totals(%q) first/last %s %s", expr, tot.First, tot.Last)
		}
	}
}

func TestQueriesMatchRecount(t *testing.T) {
	db, all, clock := randomStore(t, 7, 900, Options{mergeEvery: 61})
	checkQueries(t, db, all, clock.Now())
	ctx := context.Background()
	if _, err := db.Range(ctx, RangeQuery{Cursor: "zz"}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("Range with a bad cursor: %v", err)
	}
	if _, err := db.Latest(ctx, nil, 5, "zz"); !errors.Is(err, ErrBadCursor) {
		t.Errorf("Latest before a bad ID: %v", err)
	}
	if l, _ := db.Latest(ctx, nil, 0, ""); len(l) != 0 {
		t.Errorf("Latest(n=0) returned %d", len(l))
	}
	// A decision ID is a cursor too: the page starts after it in
	// event-time order.
	byEvent := eventOrder(all)
	p, err := db.Range(ctx, RangeQuery{Cursor: byEvent[100].ID, Limit: 3})
	if err != nil || fmt.Sprint(ids(p.Decisions)) != fmt.Sprint(ids(byEvent[101:104])) {
		t.Errorf("Range after decision %s = %v, %v; want %v", byEvent[100].ID, ids(p.Decisions), err, ids(byEvent[101:104]))
	}
	// After reads arrival order from an ID on.
	for _, start := range []int{-1, 0, 450, len(all) - 2, len(all) - 1} {
		after := ""
		if start >= 0 {
			after = all[start].ID
		}
		got, err := db.After(ctx, after, 5)
		if err != nil {
			t.Fatal(err)
		}
		if want := all[start+1 : min(len(all), start+6)]; fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
			t.Errorf("After(%q) = %v, want %v", after, ids(got), ids(want))
		}
	}
}

func ids(ds []decision.Decision) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// dimEntriesOf recounts the by_dim entries of a kind's value in a window
// from decisions in event-time order and their values of the kind.
func dimEntriesOf(byEvent []decision.Decision, vals []string, value string, from, to time.Time) []DimEntry {
	var out []DimEntry
	for i := range byEvent {
		if d := &byEvent[i]; vals[i] == value && inExactWindow(d, from, to) {
			out = append(out, DimEntry{ID: d.ID, EventTime: d.EventTime, UserID: d.UserID})
		}
	}
	return out
}

// checkDims compares DimensionEntries, DimensionCounts and UserValues with
// recounts, for every kind, over every value and some windows.
func checkDims(t *testing.T, db *DB, all []decision.Decision, rng *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	first, last := eventSpan(all)
	windows := append(randomWindows(rng, first, last)[:6], [2]time.Time{})
	byEvent := eventOrder(all)
	for _, kind := range DimKinds {
		values := map[string]bool{}
		vals := make([]string, len(byEvent))
		for i := range byEvent {
			if vals[i] = kind.Value(&byEvent[i]); vals[i] != "" {
				values[vals[i]] = true
			}
		}
		if len(values) < 2 {
			t.Fatalf("%s has %d values: the generator should vary it", kind, len(values))
		}
		// Up to 16 values of each kind, spread over all of them.
		sample := slices.Sorted(maps.Keys(values))
		if step := len(sample) / 16; step > 1 {
			for i := range sample[:16] {
				sample[i] = sample[i*step]
			}
			sample = sample[:16]
		}
		for _, v := range sample {
			for _, w := range windows {
				want := dimEntriesOf(byEvent, vals, v, w[0], w[1])
				var got []DimEntry
				err := db.DimensionEntries(ctx, kind, v, w[0], w[1], func(e DimEntry) bool {
					got = append(got, e)
					return true
				})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("DimensionEntries(%s %q, %v): %d entries, recount %d", kind, v, w, len(got), len(want))
				}
				users := map[string]bool{}
				for _, e := range want {
					if e.UserID != "" {
						users[e.UserID] = true
					}
				}
				c, err := db.DimensionCounts(ctx, kind, v, w[0], w[1])
				if err != nil {
					t.Fatal(err)
				}
				if c != (DimCounts{Decisions: len(want), Users: len(users)}) {
					t.Errorf("DimensionCounts(%s %q, %v) = %+v, recount %d decisions %d users", kind, v, w, c, len(want), len(users))
				}
			}
		}
		for _, user := range []string{"user-1", "user-2", "user-30", "nobody"} {
			w := windows[rng.IntN(len(windows))]
			wantVals := map[string]bool{}
			for _, d := range all {
				if d.UserID == user && inExactWindow(&d, w[0], w[1]) {
					if v := kind.Value(&d); v != "" {
						wantVals[v] = true
					}
				}
			}
			got, err := db.UserValues(ctx, user, kind, w[0], w[1])
			if err != nil {
				t.Fatal(err)
			}
			if want := slices.Sorted(maps.Keys(wantVals)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("UserValues(%s, %s, %v) = %v, recount %v", user, kind, w, got, want)
			}
		}
	}
	// Stopping early stops; values are normalised.
	n := 0
	var domain string
	for i := len(byEvent) / 2; domain == ""; i++ {
		domain = strings.ToUpper(KindEmailDomain.Value(&byEvent[i]))
	}
	err := db.DimensionEntries(ctx, KindEmailDomain, domain, time.Time{}, time.Time{}, func(DimEntry) bool { n++; return n < 2 })
	if err != nil || n != 2 {
		t.Errorf("DimensionEntries(%q) stopped after %d entries (%v), want 2", domain, n, err)
	}
}

// smallRuns makes the dimension index merge runs over several levels in a
// store of a few thousand decisions, in many small steps.
var smallRuns = dimSizes{block: 300, fanout: 3, levelBase: 200, stepEntries: 150, stepBlocks: 4}

// liveDimEntries counts the entries of the user index and of the
// dimension index (both in by_dim's runs) a query can see.
func liveDimEntries(t testing.TB, tx *bolt.Tx) (users, dims int) {
	t.Helper()
	s, err := readDimState(tx)
	if err != nil {
		t.Fatal(err)
	}
	err = mergeRuns(tx.Bucket(bktByDim), &s, s.runIDs(), nil, nil, false, func(k, _ []byte) (bool, error) {
		if DimKind(k[0]) == kindUser {
			users++
		} else {
			dims++
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return users, dims
}

// waitDimsMerged waits until the dimension index has no merging left.
func waitDimsMerged(t *testing.T, db *DB) dimState {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var s dimState
		err := db.view(func(tx *bolt.Tx) error {
			var err error
			s, err = readDimState(tx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !db.dims.work(&s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dimension index still merges: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDimensionsMatchRecount(t *testing.T) {
	db, all, clock := randomStore(t, 13, 1500, Options{mergeEvery: 211, dims: smallRuns})
	rng := rand.New(rand.NewPCG(13, 1))
	checkDims(t, db, all, rng)
	// Retention removes the entries of the decisions it deletes. (It cuts
	// at midnight: the IP index forgets a user at day resolution.)
	first, last := eventSpan(all)
	cut := first.Truncate(24 * time.Hour).Add(24 * time.Hour)
	if !cut.Before(last) {
		t.Fatalf("no midnight between %s and %s", first, last)
	}
	if _, err := db.Retain(context.Background(), cut); err != nil {
		t.Fatal(err)
	}
	var keep []decision.Decision
	for _, d := range all {
		if !d.EventTime.Before(cut) {
			keep = append(keep, d)
		}
	}
	checkDims(t, db, keep, rng)
	checkUsers(t, db, keep)
	checkQueries(t, db, keep, clock.Now())
	// Merged, the runs are fewer than the fan-out per level, hold only
	// live entries, and the merged ones are gone.
	s := waitDimsMerged(t, db)
	levels := map[uint64]int{}
	var n uint64
	for _, r := range s.runs {
		levels[r.level]++
		n += r.n
	}
	if len(levels) < 2 {
		t.Errorf("runs of %d levels, want several: %+v", len(levels), s.runs)
	}
	err := db.view(func(tx *bolt.Tx) error {
		if users, dims := liveDimEntries(t, tx); users+dims > int(n) {
			t.Errorf("%d live entries, the runs hold %d", users+dims, n)
		}
		c := tx.Bucket(bktByDim).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if id := binary.BigEndian.Uint64(k); !slices.ContainsFunc(s.runs, func(r dimRun) bool { return r.id == id }) {
				t.Fatalf("a block of run %d, which is not live: %+v", id, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkDims(t, db, keep, rng)
}

// TestDimensionMergesResume closes a store while its dimension index is
// merging: the next Open goes on, and every answer stays exact meanwhile.
func TestDimensionMergesResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.db")
	opts := Options{NoSync: true, mergeEvery: 97, dims: dimSizes{block: 200, fanout: 2, levelBase: 100, stepEntries: 60, stepBlocks: 2}}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g := newFakeGen(31, 25, 9)
	rng := rand.New(rand.NewPCG(31, 31))
	var all []decision.Decision
	for round := range 4 {
		for i := 0; i < 400; i += 50 {
			var rs []Result
			for j := range 50 {
				d := g.decision(round*1000 + i + j)
				vary(rng, &d)
				d.EventTime = eventTimeFor(rng, time.Now())
				rs = append(rs, Result{Decision: d})
			}
			if _, err := db.Complete(ctx, rs); err != nil {
				t.Fatal(err)
			}
		}
		all = arrivalOrder(allDecisions(t, db))
		checkDims(t, db, all, rng)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if db, err = Open(path, opts); err != nil {
			t.Fatal(err)
		}
	}
	defer db.Close()
	checkDims(t, db, all, rng)
	waitDimsMerged(t, db)
	checkDims(t, db, all, rng)
}

func TestDimKinds(t *testing.T) {
	for _, k := range DimKinds {
		back, err := ParseDimKind(k.String())
		if err != nil || back != k {
			t.Errorf("ParseDimKind(%q) = %v, %v", k, back, err)
		}
	}
	if _, err := ParseDimKind("user"); err == nil {
		t.Error("ParseDimKind accepted user")
	}
	d := decision.Decision{IP: "::ffff:203.0.113.9", Email: " Ann@Example.COM ", UserAgent: "curl/8"}
	for k, want := range map[DimKind]string{KindIP: "203.0.113.9", KindIP24: "203.0.113.0/24", KindEmail: "ann@example.com", KindEmailDomain: "example.com", KindDevice: decision.DeviceKey("curl/8")} {
		if got := k.Value(&d); got != want {
			t.Errorf("%s of %+v = %q, want %q", k, d, got, want)
		}
		if got := k.Normalize(want); got != want {
			t.Errorf("%s.Normalize(%q) = %q", k, want, got)
		}
	}
	if got := KindIP24.Normalize("203.0.113.77/24"); got != "203.0.113.0/24" {
		t.Errorf("KindIP24.Normalize = %q", got)
	}
	for in, want := range map[string]string{"2001:DB8:0::1": "2001:db8::1", "fe80::1%eth0": "fe80::1%eth0", "10.1.2.3": "10.1.2.3", "not an ip": "not an ip"} {
		if got := KindIP.Normalize(in); got != want {
			t.Errorf("KindIP.Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { KindIP.Normalize("10.1.2.3") }); n != 0 {
		t.Errorf("normalising a canonical address allocates %v times", n)
	}
	db := openTest(t, Options{NoSync: true})
	if err := db.DimensionEntries(context.Background(), DimKind(99), "x", time.Time{}, time.Time{}, func(DimEntry) bool { return true }); err == nil {
		t.Error("DimensionEntries accepted an unknown kind")
	}
}

// TestBackfill stores decisions whose event times spread over 11 hours
// within one minute of wall time (a backfill of last night's log): every
// window and journey follows event time, Latest stays in arrival order,
// and Range pages by event time with a stable cursor while more arrive.
func TestBackfill(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 9, 14, 7, 30, 0, 0, time.UTC)}
	db := openTest(t, Options{NoSync: true, Now: clock.Now, MaxDelay: time.Microsecond, mergeEvery: 150})
	ctx := context.Background()
	g := newFakeGen(21, 12, 6)
	rng := rand.New(rand.NewPCG(21, 21))
	night := clock.Now().Add(-11 * time.Hour)
	write := func(from, n int) {
		for i := from; i < from+n; {
			k := min(from+n-i, 1+rng.IntN(20))
			rs := make([]Result, k)
			for j := range rs {
				d := g.decision(i + j)
				vary(rng, &d)
				d.ReceivedAt = clock.Now()
				d.EventTime = night.Add(time.Duration(rng.Int64N(int64(11 * time.Hour))))
				rs[j].Decision = d
			}
			if _, err := db.Complete(ctx, rs); err != nil {
				t.Error(err)
				return
			}
			i += k
			clock.Add(time.Duration(rng.IntN(80)) * time.Millisecond)
		}
	}
	start := clock.Now()
	write(0, 700)
	all := arrivalOrder(allDecisions(t, db))
	if len(all) != 700 || all[len(all)-1].Time.Sub(start) > time.Minute {
		t.Fatalf("%d decisions stored over %s", len(all), all[len(all)-1].Time.Sub(start))
	}
	first, last := eventSpan(all)
	if last.Sub(first) < 10*time.Hour {
		t.Fatalf("event times span %s", last.Sub(first))
	}
	// Journeys keep their real gaps.
	for _, user := range []string{"user-0", "user-4", "user-11"} {
		ds, err := db.UserDecisions(ctx, user, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) < 20 {
			t.Fatalf("%s has %d decisions", user, len(ds))
		}
		var span time.Duration
		for i := 1; i < len(ds); i++ {
			if ds[i].EventTime.After(ds[i-1].EventTime) {
				t.Fatalf("%s's journey not newest event first at %d", user, i)
			}
			span += ds[i-1].EventTime.Sub(ds[i].EventTime)
		}
		if span < 8*time.Hour {
			t.Errorf("%s's journey spans %s of event time, want most of 11 hours", user, span)
		}
	}
	hours := [][2]time.Time{{}, {first, last}}
	for h := night.Truncate(time.Hour); h.Before(last); h = h.Add(time.Hour) {
		hours = append(hours, [2]time.Time{h, h.Add(time.Hour)}, [2]time.Time{h.Add(17 * time.Minute), h.Add(3*time.Hour + 5*time.Minute)})
	}
	checkRollups(t, db, all, nil, hours)
	checkWhatIf(t, db, all, nil, hours[:6], rng)
	checkUsers(t, db, all)
	checkQueries(t, db, all, clock.Now())
	if rates, err := db.Rates(ctx, night, clock.Now()); err != nil || len(rates) < 11*60 {
		t.Errorf("Rates over the night: %d minutes, %v", len(rates), err)
	} else {
		busy := 0
		for _, r := range rates {
			if r.Total() > 0 {
				busy++
			}
		}
		if busy < 300 {
			t.Errorf("only %d minutes of the night have decisions: Rates does not follow event time", busy)
		}
	}

	// Page through by event time while more decisions arrive: every
	// decision stored before paging began shows up exactly once, in
	// order, and the pages never go back.
	var wg sync.WaitGroup
	wg.Go(func() { write(700, 400) })
	q := RangeQuery{Limit: 37}
	var paged []decision.Decision
	for {
		p, err := db.Range(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, p.Decisions...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, d := range paged {
		if seen[d.ID] {
			t.Fatalf("%s paged twice", d.ID)
		}
		seen[d.ID] = true
		if i > 0 && cmp.Or(d.EventTime.Compare(paged[i-1].EventTime), strings.Compare(d.ID, paged[i-1].ID)) <= 0 {
			t.Fatalf("page order goes back at %d", i)
		}
	}
	for _, d := range all {
		if !seen[d.ID] {
			t.Errorf("%s, stored before paging, was not paged", d.ID)
		}
	}
	all = arrivalOrder(allDecisions(t, db))
	if len(all) != 1100 {
		t.Fatalf("%d decisions after the second backfill", len(all))
	}
	checkRollups(t, db, all, nil, hours[:8])
	checkDims(t, db, all, rng)
	newest := slices.Clone(all[len(all)-50:])
	slices.Reverse(newest)
	if l, _ := db.Latest(ctx, nil, 50, ""); fmt.Sprint(ids(l)) != fmt.Sprint(ids(newest)) {
		t.Error("Latest is not the newest 50 in arrival order")
	}
}
