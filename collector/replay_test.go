package collector

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/internal/policytest"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/store"
)

// storeDecisions stores ds (in their order) in db.
func storeDecisions(t testing.TB, db *store.DB, ds []decision.Decision) {
	t.Helper()
	for lo := 0; lo < len(ds); lo += 1000 {
		rs := make([]store.Result, 0, 1000)
		for _, d := range ds[lo:min(lo+1000, len(ds))] {
			rs = append(rs, store.Result{Decision: d})
		}
		if _, err := db.Complete(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
	}
}

// bruteVelocity answers velocity queries by scanning every decision of ds
// (sorted by event time) inside the window: the recount replay must agree
// with. vals holds each decision's value of each key, computed once.
type bruteVelocity struct {
	ds   []decision.Decision
	vals [][policy.KeyDevice + 1]string
}

func newBruteVelocity(ds []decision.Decision) *bruteVelocity {
	b := &bruteVelocity{ds: ds, vals: make([][policy.KeyDevice + 1]string, len(ds))}
	for i := range ds {
		for k := policy.KeyUser; k <= policy.KeyDevice; k++ {
			b.vals[i][k] = k.Value(&ds[i])
		}
	}
	return b
}

func (b *bruteVelocity) Answer(q policy.Query, d *decision.Decision) (int, error) {
	v := q.Key.Value(d)
	if v == "" {
		return 0, nil
	}
	lo, _ := slices.BinarySearchFunc(b.ds, d.EventTime.Add(-q.Window), func(x decision.Decision, t time.Time) int { return x.EventTime.Compare(t) })
	n, seen := 0, map[string]bool{}
	for i := lo; i < len(b.ds) && b.ds[i].EventTime.Before(d.EventTime); i++ {
		if b.vals[i][q.Key] != v {
			continue
		}
		n++
		if o := b.vals[i][q.Of]; q.Distinct() && o != "" {
			seen[o] = true
		}
	}
	if q.Distinct() {
		return len(seen), nil
	}
	return n, nil
}

// bruteReplay evaluates p on each decision of ds that include selects, one
// at a time, with velocity recounted by scanning.
func bruteReplay(t *testing.T, p *policy.Policy, ds []decision.Decision, include func(*decision.Decision) bool) policy.Report {
	t.Helper()
	ev := p.NewEvaluator(newBruteVelocity(ds))
	r := policy.Report{}
	for _, rule := range p.Rules() {
		r.Rules = append(r.Rules, policy.RuleCount{Name: rule.Name})
	}
	for i := range ds {
		d := &ds[i]
		if !include(d) {
			continue
		}
		res, err := ev.Evaluate(d)
		if err != nil {
			t.Fatal(err)
		}
		r.Decisions++
		r.Live.Add(d.Action)
		r.Policy.Add(res.Action)
		r.Matrix.Add(d.Action, res.Action)
		if res.Action != d.Action {
			r.Changed++
		}
		for _, m := range res.Matched {
			r.Rules[m].Matched++
		}
		if res.Index >= 0 {
			r.Rules[res.Index].Decided++
		}
	}
	return r
}

// sameCounts compares what both reports counted.
func sameCounts(t *testing.T, what string, got, want policy.Report) {
	t.Helper()
	if got.Decisions != want.Decisions || got.Live != want.Live || got.Policy != want.Policy ||
		got.Matrix != want.Matrix || got.Changed != want.Changed {
		t.Errorf("%s: decisions %d live %v policy %v matrix %v changed %d, want %d %v %v %v %d", what,
			got.Decisions, got.Live, got.Policy, got.Matrix, got.Changed,
			want.Decisions, want.Live, want.Policy, want.Matrix, want.Changed)
	}
	if len(got.Rules) != len(want.Rules) {
		t.Fatalf("%s: %d rules, want %d", what, len(got.Rules), len(want.Rules))
	}
	for i, g := range got.Rules {
		w := want.Rules[i]
		if g.Name != w.Name || g.Matched != w.Matched || g.Decided != w.Decided {
			t.Errorf("%s: rule %+v, want %+v", what, g, w)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReplayOverTheStore replays the 10-rule policy over a real store, in
// process, through a remote collector and through a federation of two
// collectors that each hold every other decision, and checks each against
// a brute-force evaluation of the same decisions.
func TestReplayOverTheStore(t *testing.T) {
	n := 4000
	if testing.Short() || raceEnabled {
		n = 1500
	}
	ds := policytest.NewSynth(3).Decisions(n)
	p, err := policy.Parse("ten.toml", []byte(policytest.TenRules))
	if err != nil {
		t.Fatal(err)
	}
	db := openTestStore(t)
	storeDecisions(t, db, ds)
	r := NewStoreReader(db, nil)
	ctx := context.Background()

	mid := ds[n/2].EventTime
	filter := "type:$login"
	cases := []struct {
		name    string
		q       api.ReplayQuery
		include func(*decision.Decision) bool
	}{
		{"all", api.ReplayQuery{}, func(*decision.Decision) bool { return true }},
		{"since and filter", api.ReplayQuery{From: mid, Filter: filter}, func(d *decision.Decision) bool {
			return !d.EventTime.Before(mid) && d.Type == "$login"
		}},
		{"until", api.ReplayQuery{To: mid}, func(d *decision.Decision) bool { return d.EventTime.Before(mid) }},
	}
	srv := httptest.NewServer(api.Handler(r, api.HandlerOptions{}))
	defer srv.Close()
	remote, err := api.Dial(srv.URL, "", api.RemoteOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	var wants []policy.Report
	for _, c := range cases {
		q := c.q
		q.Name, q.Policy, q.ShowChanged = "ten.toml", policytest.TenRules, 3
		got, err := r.Replay(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := bruteReplay(t, p, ds, c.include)
		wants = append(wants, want)
		if want.Changed == 0 || want.Decisions == 0 {
			t.Fatalf("%s: the data changes nothing (%d decisions)", c.name, want.Decisions)
		}
		sameCounts(t, c.name, got, want)
		if len(got.Changes) != 3 {
			t.Errorf("%s: %d changes listed, want 3", c.name, len(got.Changes))
		}
		rgot, err := remote.Replay(ctx, q)
		if err != nil {
			t.Fatalf("%s remote: %v", c.name, err)
		}
		if a, b := mustJSON(t, rgot), mustJSON(t, got); a != b {
			t.Errorf("%s: remote answered\n%s\nin process\n%s", c.name, a, b)
		}
	}

	// Two collectors, each with every other decision: the federation must
	// replay them merged, since velocity spans both.
	var halves [2][]decision.Decision
	for i, d := range ds {
		halves[i%2] = append(halves[i%2], d)
	}
	var members []api.Member
	for i, h := range halves {
		hdb := openTestStore(t)
		storeDecisions(t, hdb, h)
		hs := httptest.NewServer(api.Handler(NewStoreReader(hdb, nil), api.HandlerOptions{}))
		defer hs.Close()
		rm, err := api.Dial(hs.URL, "", api.RemoteOptions{Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer rm.Close()
		members = append(members, api.Member{Name: hs.URL + "/" + string(rune('a'+i)), Reader: rm})
	}
	fed, err := api.Federate(members...)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		q := c.q
		q.Name, q.Policy = "ten.toml", policytest.TenRules
		got, err := fed.Replay(ctx, q)
		if err != nil {
			t.Fatalf("%s federated: %v", c.name, err)
		}
		sameCounts(t, c.name+" federated", got, wants[i])
	}
	// Each collector alone counts velocity over half the traffic: not
	// what the federation answers.
	alone, err := members[0].Reader.Replay(ctx, api.ReplayQuery{Name: "ten.toml", Policy: policytest.TenRules})
	if err != nil {
		t.Fatal(err)
	}
	if want := bruteReplay(t, p, halves[0], func(*decision.Decision) bool { return true }); mustJSON(t, alone.Rules) != mustJSON(t, want.Rules) {
		t.Errorf("one collector alone: rules %+v, want %+v", alone.Rules, want.Rules)
	}

	// Diff of the policy against itself changes nothing; against one
	// without its velocity rules it changes what those decided.
	noVelocity := "default = \"allow\"\n[[rule]]\nname = \"high risk\"\nwhen = \"risk >= 80\"\naction = \"deny\"\n"
	for name, rd := range map[string]api.Reader{"local": r, "remote": remote, "federated": fed} {
		dr, err := rd.PolicyDiff(ctx, api.DiffQuery{OldName: "a.toml", Old: policytest.TenRules, NewName: "b.toml", New: policytest.TenRules})
		if err != nil || dr.Changed != 0 || dr.Decisions != n {
			t.Errorf("%s: diff with itself: %+v, %v", name, dr, err)
		}
		dr, err = rd.PolicyDiff(ctx, api.DiffQuery{OldName: "a.toml", Old: policytest.TenRules, NewName: "b.toml", New: noVelocity})
		if err != nil || dr.Changed == 0 || len(dr.NewRules) != 1 || len(dr.OldRules) != 10 {
			t.Errorf("%s: diff: changed %d, rules %d and %d, %v", name, dr.Changed, len(dr.OldRules), len(dr.NewRules), err)
		}
	}
}

// TestReplayRefusesBadInput: a policy that does not parse and a bad filter
// are ErrInvalid, with the policy's problems at FILE:LINE:COL, in process
// and remotely alike.
func TestReplayRefusesBadInput(t *testing.T) {
	db := openTestStore(t)
	r := NewStoreReader(db, nil)
	srv := httptest.NewServer(api.Handler(r, api.HandlerOptions{}))
	defer srv.Close()
	remote, err := api.Dial(srv.URL, "", api.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	bad := "[[rule]]\nname = \"x\"\nwhen = 'risk > \"high\"'\naction = \"deny\"\n"
	for name, rd := range map[string]api.Reader{"local": r, "remote": remote} {
		_, err := rd.Replay(context.Background(), api.ReplayQuery{Name: "bad.toml", Policy: bad})
		if !errors.Is(err, api.ErrInvalid) || !strings.HasPrefix(err.Error(), "bad.toml:3:") {
			t.Errorf("%s: a type error: %v", name, err)
		}
		_, err = rd.Replay(context.Background(), api.ReplayQuery{Name: "ok.toml", Policy: policytest.TenRules, Filter: "risk>>3"})
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "filter") {
			t.Errorf("%s: a bad filter: %v", name, err)
		}
		_, err = rd.PolicyDiff(context.Background(), api.DiffQuery{OldName: "a.toml", Old: "x = 1", NewName: "b.toml", New: bad})
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "a.toml:1:1") || !strings.Contains(err.Error(), "b.toml:3:") {
			t.Errorf("%s: a diff of two bad files: %v", name, err)
		}
	}
}
