package collector

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/internal/policytest"
	"github.com/riskwatch/riskwatch/policy"
)

// TestReplayOverA100kStoreIsBruteForce is the brute-force check
// on a real store (issue 14): 100,000 synthetic decisions (5,000 under
// -race or -short, where the expression VM is ten times slower) stored in
// a bbolt file, the 10-rule policy with velocity on every key replayed
// over it as a dashboard or `policy replay --db` does, and every
// decision's action and deciding rule compared with an evaluation of one
// decision at a time whose velocity is recounted by scanning the
// decisions read back from the store. The whole report (counts, matrix,
// rules, and every changed decision with its rule) must equal the brute
// force's too.
func TestReplayOverA100kStoreIsBruteForce(t *testing.T) {
	n := 100_000
	if testing.Short() || raceEnabled {
		n = 5_000
	}
	p, err := policy.Parse("ten.toml", []byte(policytest.TenRules))
	if err != nil {
		t.Fatal(err)
	}
	db := openTestStore(t)
	storeDecisions(t, db, policytest.NewSynth(14).Decisions(n))
	ctx := context.Background()

	// What is stored, read back in event-time order: what both sides
	// evaluate.
	var stored []decision.Decision
	for d, err := range db.Scan(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, *d)
	}
	if len(stored) != n {
		t.Fatalf("the store holds %d decisions, want %d", len(stored), n)
	}

	// The replay, per decision, over the stream the Reader replays.
	r := NewStoreReader(db, nil)
	type outcome struct {
		action decision.Action
		rule   string
		index  int
	}
	got := make(map[string]outcome, n)
	_, err = policy.Replay(p, r.stream(ctx, time.Time{}, time.Time{}, time.Time{}), policy.Options{
		Each: func(d *decision.Decision, rs []policy.Result) {
			got[d.ID] = outcome{rs[0].Action, rs[0].Rule, rs[0].Index}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The whole report, as the API answers it, every change listed.
	rep, err := r.Replay(ctx, api.ReplayQuery{Name: "ten.toml", Policy: policytest.TenRules, ShowChanged: n})
	if err != nil {
		t.Fatal(err)
	}

	// The brute force: one decision at a time, velocity by scanning.
	ev := p.NewEvaluator(newBruteVelocity(stored))
	want := policy.Report{}
	for _, rule := range p.Rules() {
		want.Rules = append(want.Rules, policy.RuleCount{Name: rule.Name})
	}
	var changes []policy.Change
	for i := range stored {
		d := &stored[i]
		res, err := ev.Evaluate(d)
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := got[d.ID]; !ok || g.action != res.Action || g.rule != res.Rule || g.index != res.Index {
			t.Fatalf("decision %d of %d (%s, %s at %s): replay gave %s by rule %q (%d, seen %v); brute force %s by rule %q (%d)",
				i, n, d.ID, d.EventID, d.EventTime, g.action, g.rule, g.index, ok, res.Action, res.Rule, res.Index)
		}
		want.Decisions++
		want.Live.Add(d.Action)
		want.Policy.Add(res.Action)
		want.Matrix.Add(d.Action, res.Action)
		if res.Action != d.Action {
			want.Changed++
			changes = append(changes, policy.Change{Ref: policy.Ref{ID: d.ID}, Policy: res.Action, Rule: res.Rule})
		}
		for _, m := range res.Matched {
			want.Rules[m].Matched++
		}
		if res.Index >= 0 {
			want.Rules[res.Index].Decided++
		}
	}
	if len(got) != n {
		t.Errorf("the replay evaluated %d decisions, want %d", len(got), n)
	}
	sameCounts(t, "report", rep, want)
	if len(rep.Changes) != len(changes) {
		t.Fatalf("%d changes listed, want %d", len(rep.Changes), len(changes))
	}
	for i, c := range rep.Changes {
		if w := changes[i]; c.ID != w.ID || c.Policy != w.Policy || c.Rule != w.Rule {
			t.Fatalf("change %d: %s to %s by %q, brute force %s to %s by %q", i, c.ID, c.Policy, c.Rule, w.ID, w.Policy, w.Rule)
		}
	}
	// The test means something only if every rule matches somewhere, most
	// decide somewhere, and the policy disagrees with Safe-e often.
	deciding := 0
	for _, rc := range want.Rules {
		if rc.Matched == 0 {
			t.Errorf("rule %q never matched: the data does not exercise it", rc.Name)
		}
		if rc.Decided > 0 {
			deciding++
		}
	}
	if deciding < 8 {
		t.Errorf("only %d rules decide: %+v", deciding, want.Rules)
	}
	if want.Changed < n/4 {
		t.Errorf("only %d of %d decisions changed", want.Changed, n)
	}
	if !slices.ContainsFunc(stored, func(d decision.Decision) bool { return d.Action == decision.ActionError }) {
		t.Error("no error decision: velocity never counts one")
	}
}
