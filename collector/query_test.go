package collector

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee/emulator"
)

// readFixture is a collector with a varied store, and both readers of it.
type readFixture struct {
	lc      *liveCollector
	inproc  api.Reader
	remote  *api.Remote
	total   uint64
	hostile []decision.Decision
	now     time.Time
}

func newReadFixture(t *testing.T) *readFixture {
	t.Helper()
	emu := newEmulator(t)
	lc := startLiveCollector(t, filepath.Join(t.TempDir(), "rw.db"), "127.0.0.1:0", emu.URL, readToken)
	n := postEvents(t, lc.url, readToken, "mixed", 11, 400)
	n += postEvents(t, lc.url, readToken, "stuffing", 12, 150)
	n += postEvents(t, lc.url, readToken, "ato", 13, 100)
	g, err := emulator.NewGenerator("bots", 14, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for range 20 {
		if proxyEvent(client, lc.url, readToken, g.Next()) {
			n++
		}
	}
	hostile := storeHostile(t, lc.db)
	n += len(hostile)
	waitScored(t, lc.db, uint64(n))
	// A proxied call that timed out is stored as an error decision too.
	return &readFixture{lc: lc, inproc: lc.c.Reader(), remote: dialRemote(t, lc.url, readToken),
		total: decisionCount(t, lc.db), hostile: hostile, now: time.Now()}
}

// readCase calls one Reader method; check asserts what must hold of its
// answer whichever implementation gave it.
type readCase struct {
	name string
	call func(ctx context.Context, r api.Reader) (any, error)
	// check asserts the answer; nil checks nothing more than agreement.
	check func(t *testing.T, v any, err error)
	// sameError: the two implementations must fail with the same text.
	sameError bool
}

func TestQueryRemoteAgreesWithInProcess(t *testing.T) {
	fx := newReadFixture(t)
	ids := storedIDs(t, fx.lc.db)
	for _, tc := range readCases(fx, ids) {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			vIn, errIn := tc.call(ctx, fx.inproc)
			vRe, errRe := tc.call(ctx, fx.remote)
			if tc.check != nil {
				t.Run("in-process", func(t *testing.T) { tc.check(t, vIn, errIn) })
				t.Run("remote", func(t *testing.T) { tc.check(t, vRe, errRe) })
			}
			switch {
			case (errIn == nil) != (errRe == nil):
				t.Fatalf("in-process error %v, remote error %v", errIn, errRe)
			case errIn != nil:
				if tc.sameError && errIn.Error() != errRe.Error() {
					t.Errorf("errors differ:\n in-process %q\n remote     %q", errIn, errRe)
				}
				for _, kind := range []error{api.ErrNotFound, api.ErrInvalid, api.ErrUnavailable} {
					if errors.Is(errIn, kind) != errors.Is(errRe, kind) {
						t.Errorf("%v: in-process %v, remote %v", kind, errIn, errRe)
					}
				}
				if strings.Contains(errRe.Error(), readToken) {
					t.Errorf("the remote error shows the token: %v", errRe)
				}
			case !reflect.DeepEqual(vIn, vRe):
				t.Errorf("answers differ:\n in-process %.2000+v\n remote     %.2000+v", vIn, vRe)
			}
		})
	}
}

func readCases(fx *readFixture, ids []string) []readCase {
	now := fx.now
	soon := now.Add(time.Minute)
	return []readCase{
		{name: "Latest newest first", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Latest(ctx, api.LatestQuery{N: 50})
		}, check: func(t *testing.T, v any, err error) {
			ds := decisionsOf(t, v, err)
			if len(ds) != 50 || ds[0].ID != ids[len(ids)-1] || !isDescending(ds) {
				t.Errorf("%d decisions, first %s; want the 50 newest, newest first", len(ds), firstID(ds))
			}
		}},
		{name: "Latest filtered", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Latest(ctx, api.LatestQuery{Filter: "action:deny risk>=50", N: 30})
		}, check: func(t *testing.T, v any, err error) {
			ds := decisionsOf(t, v, err)
			for _, d := range ds {
				if d.Action != decision.ActionDeny || d.Risk < 50 {
					t.Fatalf("%s: action %s risk %v does not match", d.ID, d.Action, d.Risk)
				}
			}
			if len(ds) == 0 {
				t.Error("no denies")
			}
		}},
		{name: "Latest brief", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Latest(ctx, api.LatestQuery{Filter: "-action:error", N: 50, Brief: true})
		}, check: wantBrief(50)},
		{name: "Journey brief", call: func(ctx context.Context, r api.Reader) (any, error) {
			last, err := r.Latest(ctx, api.LatestQuery{Filter: "-action:error", N: 1})
			if err != nil || len(last) != 1 {
				return nil, fmt.Errorf("latest: %v", err)
			}
			return r.Journey(ctx, api.JourneyQuery{User: last[0].UserID, Brief: true})
		}, check: wantBrief(1)},
		{name: "Flips brief", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Flips(ctx, api.FlipsQuery{Thresholds: decision.Thresholds{Score: decision.ScoreRisk, Challenge: 1, Deny: 2},
				To: soon, Limit: 20, Brief: true})
		}, check: wantBrief(20)},
		{name: "Latest n=0", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Latest(ctx, api.LatestQuery{})
		}, check: func(t *testing.T, v any, err error) {
			if ds := decisionsOf(t, v, err); ds != nil {
				t.Errorf("got %d decisions", len(ds))
			}
		}},
		{name: "Latest bad filter", sameError: true, call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Latest(ctx, api.LatestQuery{Filter: "risk>=abc", N: 10})
		}, check: wantError(`"abc" is not a number`)},
		{name: "Decision raw bytes and latency", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Decision(ctx, fx.hostile[0].ID)
		}, check: func(t *testing.T, v any, err error) {
			d, ok := v.(decision.Decision)
			if err != nil || !ok {
				t.Fatalf("%v, %T", err, v)
			}
			if string(d.Response) != "<html>bad gateway \xff</html>" || string(d.Request) != string(fx.hostile[0].Request) ||
				d.Latency != 1234567*time.Nanosecond || d.UserID != "a/b" {
				t.Errorf("decision %+v is not the one stored", d)
			}
		}},
		{name: "Decision unknown", sameError: true, call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Decision(ctx, strings.Repeat("f", 32))
		}, check: wantNotFound},
		{name: "Decision malformed ID", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Decision(ctx, "../../v1/health")
		}, check: wantNotFound},
		{name: "Range pages forward", call: func(ctx context.Context, r api.Reader) (any, error) {
			return allPages(ctx, r, api.RangeQuery{Limit: 97})
		}, check: func(t *testing.T, v any, err error) {
			ds := decisionsOf(t, v, err)
			if got := slices.Sorted(slices.Values(idsOf(ds))); !slices.Equal(got, ids) || !isNewestEventFirst(slices.Backward(ds)) {
				t.Errorf("paged %d decisions, want the %d stored in event-time order", len(got), len(ids))
			}
		}},
		{name: "Range reverse window filtered", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Range(ctx, api.RangeQuery{From: now.Add(-time.Hour), To: soon, Reverse: true, Limit: 40, Filter: "type:$login"})
		}, check: func(t *testing.T, v any, err error) {
			p, ok := v.(api.Page)
			if err != nil || !ok {
				t.Fatalf("%v, %T", err, v)
			}
			if len(p.Decisions) != 40 || p.Next == "" || !isNewestEventFirst(slices.All(p.Decisions)) {
				t.Errorf("%d decisions, next %q", len(p.Decisions), p.Next)
			}
			for _, d := range p.Decisions {
				if d.Type != "$login" {
					t.Fatalf("%s is a %s", d.ID, d.Type)
				}
			}
		}},
		{name: "Range bad cursor", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Range(ctx, api.RangeQuery{Cursor: "x/y"})
		}, check: wantError("cursor")},
		{name: "Range bad filter", sameError: true, call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Range(ctx, api.RangeQuery{Filter: "ip:300.1.1.1/99"})
		}, check: wantError("filter")},
		{name: "Journey of hostile user IDs", call: func(ctx context.Context, r api.Reader) (any, error) {
			var all [][]decision.Decision
			for _, u := range hostileUsers {
				ds, err := r.Journey(ctx, api.JourneyQuery{User: u, Limit: 100})
				if err != nil {
					return nil, err
				}
				all = append(all, ds)
			}
			return all, nil
		}, check: func(t *testing.T, v any, err error) {
			all, ok := v.([][]decision.Decision)
			if err != nil || !ok {
				t.Fatalf("%v, %T", err, v)
			}
			for i, ds := range all {
				if len(ds) != 1 || ds[0].UserID != hostileUsers[i] {
					t.Errorf("journey of %q: %d decisions", hostileUsers[i], len(ds))
				}
			}
		}},
		{name: "Journey of the busiest user", call: func(ctx context.Context, r api.Reader) (any, error) {
			us, err := r.Users(ctx, api.UsersQuery{Sort: decision.SortDenies, Limit: 1})
			if err != nil || len(us) != 1 {
				return nil, fmt.Errorf("users: %v (%d)", err, len(us))
			}
			return r.Journey(ctx, api.JourneyQuery{User: us[0].UserID, Limit: 1000})
		}, check: func(t *testing.T, v any, err error) {
			ds := decisionsOf(t, v, err)
			if len(ds) < 2 || !isNewestEventFirst(slices.All(ds)) {
				t.Errorf("%d decisions", len(ds))
			}
		}},
		{name: "Journey of nobody", call: func(ctx context.Context, r api.Reader) (any, error) {
			empty, err := r.Journey(ctx, api.JourneyQuery{Limit: 10})
			if err != nil {
				return nil, err
			}
			unknown, err := r.Journey(ctx, api.JourneyQuery{User: "no-such-user", Limit: 10})
			return [][]decision.Decision{empty, unknown}, err
		}},
		{name: "Users in every order", call: func(ctx context.Context, r api.Reader) (any, error) {
			var all [][]decision.UserSummary
			for _, s := range []decision.UserSort{decision.SortLastSeen, decision.SortMaxRisk, decision.SortDenies} {
				us, err := r.Users(ctx, api.UsersQuery{Sort: s, Limit: 25})
				if err != nil {
					return nil, err
				}
				all = append(all, us)
			}
			return all, nil
		}, check: func(t *testing.T, v any, err error) {
			all, ok := v.([][]decision.UserSummary)
			if err != nil || !ok {
				t.Fatalf("%v, %T", err, v)
			}
			for i, us := range all {
				if len(us) != 25 {
					t.Errorf("sort %d: %d users", i, len(us))
				}
			}
			if !slices.IsSortedFunc(all[1], func(a, b decision.UserSummary) int { return compareFloat(b.MaxRisk, a.MaxRisk) }) {
				t.Error("max_risk order is not highest first")
			}
		}},
		{name: "Users searched and by IP", call: func(ctx context.Context, r api.Reader) (any, error) {
			a, err := r.Users(ctx, api.UsersQuery{Search: "ÜNÏ"})
			if err != nil {
				return nil, err
			}
			b, err := r.Users(ctx, api.UsersQuery{IP: "10.9.8.0"})
			return [][]decision.UserSummary{a, b}, err
		}, check: func(t *testing.T, v any, err error) {
			all, ok := v.([][]decision.UserSummary)
			if err != nil || !ok {
				t.Fatalf("%v, %T", err, v)
			}
			if len(all[0]) != 1 || all[0][0].UserID != "ünï-cødé" || len(all[1]) != 1 || all[1][0].UserID != "a/b" {
				t.Errorf("search %+v, ip %+v", all[0], all[1])
			}
		}},
		{name: "Rates", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Rates(ctx, api.RatesQuery{From: now.Add(-10 * time.Minute), To: soon})
		}, check: func(t *testing.T, v any, err error) {
			ms, ok := v.([]decision.MinuteCounts)
			if err != nil || !ok {
				t.Fatalf("%v, %T", err, v)
			}
			var sum uint64
			for _, m := range ms {
				sum += m.Total()
			}
			// Eleven minutes, twelve when the window's ends are not whole minutes.
			if len(ms) < 11 || len(ms) > 12 || sum != fx.total {
				t.Errorf("%d minutes, %d decisions; want 11 or 12 and %d", len(ms), sum, fx.total)
			}
		}},
		{name: "Rates from the first minute", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Rates(ctx, api.RatesQuery{To: soon})
		}},
		{name: "Stats", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Stats(ctx, api.StatsQuery{})
		}, check: func(t *testing.T, v any, err error) {
			tot, ok := v.(decision.Totals)
			if err != nil || !ok || tot.Decisions != fx.total || tot.ByAction[decision.ActionDeny] == 0 {
				t.Errorf("%+v, %v", v, err)
			}
		}},
		{name: "Stats window and filter", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Stats(ctx, api.StatsQuery{From: now.Add(-time.Hour), To: soon, Filter: "action:deny -signal:proxy_ip"})
		}},
		{name: "Stats bad filter", sameError: true, call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Stats(ctx, api.StatsQuery{Filter: "since:-5m"})
		}, check: wantError("filter")},
		{name: "Histogram of every score", call: func(ctx context.Context, r api.Reader) (any, error) {
			var hs []decision.Histogram
			for s := range decision.NumScores {
				h, err := r.Histogram(ctx, api.HistogramQuery{Score: s, From: now.Add(-24 * time.Hour), To: soon})
				if err != nil {
					return nil, err
				}
				hs = append(hs, h)
			}
			return hs, nil
		}, check: func(t *testing.T, v any, err error) {
			hs, ok := v.([]decision.Histogram)
			if err != nil || !ok || len(hs) != int(decision.NumScores) || hs[decision.ScoreRisk].Total == 0 {
				t.Errorf("%v, %v", err, v)
			}
		}},
		{name: "Histogram unknown score", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Histogram(ctx, api.HistogramQuery{Score: 9, To: soon})
		}, check: wantError("score")},
		{name: "WhatIf", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.WhatIf(ctx, api.WhatIfQuery{Thresholds: decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 80}})
		}, check: func(t *testing.T, v any, err error) {
			w, ok := v.(decision.WhatIf)
			if err != nil || !ok {
				t.Fatalf("%v, %T", err, v)
			}
			var n uint64
			for _, row := range w.Matrix {
				for _, c := range row {
					n += c
				}
			}
			if n+w.Errors != fx.total || len(w.ByType) == 0 {
				t.Errorf("matrix holds %d + %d errors, want %d", n, w.Errors, fx.total)
			}
		}},
		{name: "Flips", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Flips(ctx, api.FlipsQuery{Thresholds: decision.Thresholds{Score: decision.ScoreBot, Challenge: 10, Deny: 20}, From: now.Add(-time.Hour), To: soon, Limit: 25})
		}, check: func(t *testing.T, v any, err error) {
			ds := decisionsOf(t, v, err)
			th := decision.Thresholds{Challenge: 10, Deny: 20}
			for _, d := range ds {
				if th.Simulate(d.Bot) == d.Action {
					t.Fatalf("%s would not flip", d.ID)
				}
			}
			if len(ds) != 25 || !isNewestEventFirst(slices.All(ds)) {
				t.Errorf("%d flips", len(ds))
			}
		}},
		{name: "Health", call: func(ctx context.Context, r api.Reader) (any, error) {
			return r.Health(ctx)
		}, check: func(t *testing.T, v any, err error) {
			h, ok := v.(api.Health)
			if err != nil || !ok || h.Mode != ModeEmulator || h.Pipeline != PipelineRunning || h.Decisions != fx.total || h.LastEvent.IsZero() {
				t.Errorf("%+v, %v", v, err)
			}
		}},
	}
}

func allPages(ctx context.Context, r api.Reader, q api.RangeQuery) ([]decision.Decision, error) {
	var out []decision.Decision
	for {
		p, err := r.Range(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Decisions...)
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}

func decisionsOf(t *testing.T, v any, err error) []decision.Decision {
	t.Helper()
	ds, ok := v.([]decision.Decision)
	if err != nil || !ok {
		t.Fatalf("%v, %T", err, v)
	}
	return ds
}

func idsOf(ds []decision.Decision) []string {
	out := make([]string, len(ds))
	for i := range ds {
		out[i] = ds[i].ID
	}
	return out
}

func firstID(ds []decision.Decision) string {
	if len(ds) == 0 {
		return "none"
	}
	return ds[0].ID
}

func isDescending(ds []decision.Decision) bool {
	return slices.IsSortedFunc(ds, func(a, b decision.Decision) int { return strings.Compare(b.ID, a.ID) })
}

// isNewestEventFirst reports whether ds come newest event time first (by ID
// among equal event times), the order of journeys, flips and reverse ranges.
func isNewestEventFirst(ds iter.Seq2[int, decision.Decision]) bool {
	var prev *decision.Decision
	for _, d := range ds {
		if prev != nil && (d.EventTime.After(prev.EventTime) || d.EventTime.Equal(prev.EventTime) && d.ID > prev.ID) {
			return false
		}
		prev = &d
	}
	return true
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func wantError(part string) func(t *testing.T, v any, err error) {
	return func(t *testing.T, _ any, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("error %v, want one mentioning %q", err, part)
		}
	}
}

// wantBrief checks a brief list: at least n decisions, none carrying its
// raw request or response.
func wantBrief(n int) func(t *testing.T, v any, err error) {
	return func(t *testing.T, v any, err error) {
		ds := decisionsOf(t, v, err)
		if len(ds) < n {
			t.Fatalf("%d decisions, want at least %d", len(ds), n)
		}
		for _, d := range ds {
			if d.Request != nil || d.Response != nil || d.Type == "" {
				t.Fatalf("%s: request %q, response %q, type %q: want a brief decision", d.ID, d.Request, d.Response, d.Type)
			}
		}
	}
}

func wantNotFound(t *testing.T, _ any, err error) {
	t.Helper()
	if !errors.Is(err, api.ErrNotFound) {
		t.Errorf("error %v, want one wrapping api.ErrNotFound", err)
	}
}
