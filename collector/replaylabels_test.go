package collector

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/internal/policytest"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/store"
)

// replayLabelEntries labels every 5th decision's event (fraud when Safe-e
// denied or challenged it, else alternately), every 11th's user legit
// from the middle of the data on, and retracts one event label: the
// precedence (event before user), applies-from and retract all matter.
func replayLabelEntries(ds []decision.Decision) []decision.LabelEntry {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mid := ds[len(ds)/2].EventTime
	var es []decision.LabelEntry
	add := func(k decision.SubjectKind, s string, c decision.LabelClass, from time.Time) {
		es = append(es, decision.LabelEntry{Kind: k, Subject: s, Class: c, Reason: "test", Source: decision.SourceManual,
			Author: "t", AppliesFrom: from, RecordedAt: at})
	}
	for i, d := range ds {
		switch {
		case i%5 == 0:
			c := decision.LabelLegit
			if d.Action != decision.ActionAllow || i%2 == 0 {
				c = decision.LabelFraud
			}
			add(decision.SubjectEvent, d.EventID, c, time.Time{})
		case i%11 == 0 && d.UserID != "":
			add(decision.SubjectUser, d.UserID, decision.LabelLegit, mid)
		}
	}
	add(decision.SubjectEvent, ds[0].EventID, decision.LabelRetract, time.Time{})
	return es
}

// bruteLabel is d's label by a plain reading of es: the latest entry of
// its event, else of its user when it applies at d's event time.
func bruteLabel(es []decision.LabelEntry, d *decision.Decision) decision.LabelClass {
	var ev, user *decision.LabelEntry
	for i := range es {
		e := &es[i]
		switch {
		case e.Kind == decision.SubjectEvent && e.Subject == d.EventID:
			ev = e
		case e.Kind == decision.SubjectUser && e.Subject == d.UserID:
			user = e
		}
	}
	if ev != nil && ev.Class != decision.LabelRetract {
		return ev.Class
	}
	if user != nil && user.Class != decision.LabelRetract && !d.EventTime.Before(user.AppliesFrom) {
		return user.Class
	}
	return ""
}

// bruteMetrics recounts precision, recall and false-positive rate of deny
// and of challenge-or-deny from (label, action) pairs.
func bruteMetrics(pairs [][2]string) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for name, flagged := range map[string]func(string) bool{
		"deny":              func(a string) bool { return a == "deny" },
		"challenge_or_deny": func(a string) bool { return a == "deny" || a == "challenge" },
	} {
		var tp, fp, fn, tn float64
		for _, p := range pairs {
			if p[1] != "allow" && p[1] != "challenge" && p[1] != "deny" {
				continue
			}
			switch f, fraud := flagged(p[1]), p[0] == "fraud"; {
			case f && fraud:
				tp++
			case f:
				fp++
			case fraud:
				fn++
			default:
				tn++
			}
		}
		div := func(a, b float64) float64 {
			if b == 0 {
				return 0
			}
			return a / b
		}
		out[name] = map[string]float64{"precision": div(tp, tp+fp), "recall": div(tp, tp+fn), "false_positive_rate": div(fp, fp+tn)}
	}
	return out
}

// splitJSON is one side of the labels JSON, read by field name.
type splitJSON struct {
	Labels  map[string]map[string]uint64  `json:"labels"`
	Metrics map[string]map[string]float64 `json:"metrics"`
}

// checkSplit compares one side of the labels JSON with the pairs.
func checkSplit(t *testing.T, what string, got splitJSON, pairs [][2]string) {
	t.Helper()
	want := map[string]map[string]uint64{"fraud": {"allow": 0, "challenge": 0, "deny": 0}, "legit": {"allow": 0, "challenge": 0, "deny": 0}}
	for _, p := range pairs {
		if _, ok := want[p[0]][p[1]]; ok {
			want[p[0]][p[1]]++
		}
	}
	for c, row := range want {
		for a, n := range row {
			if got.Labels[c][a] != n {
				t.Errorf("%s: %s x %s = %d, want %d", what, c, a, got.Labels[c][a], n)
			}
		}
	}
	for m, vals := range bruteMetrics(pairs) {
		for k, v := range vals {
			if g, ok := got.Metrics[m][k]; !ok || g != v {
				t.Errorf("%s: %s %s = %v (present %v), want %v", what, m, k, g, ok, v)
			}
		}
	}
}

// TestReplayLabelMetrics replays and diffs over real stores with a labels
// ledger (one collector in process, remotely, and a federation of two
// collectors that each hold every other decision and the whole ledger) and
// checks the label x action counts and metrics of Safe-e's and the
// policies' actions against a brute-force recount, and that as of before
// the labels were recorded there are none.
func TestReplayLabelMetrics(t *testing.T) {
	n := 1200
	ds := policytest.NewSynth(5).Decisions(n)
	p, err := policy.Parse("ten.toml", []byte(policytest.TenRules))
	if err != nil {
		t.Fatal(err)
	}
	const allowAll = "default = \"allow\"\n"
	pa, err := policy.Parse("allow.toml", []byte(allowAll))
	if err != nil {
		t.Fatal(err)
	}
	es := replayLabelEntries(ds)
	ctx := context.Background()
	open := func(ds []decision.Decision) *store.DB {
		db := openTestStore(t)
		storeDecisions(t, db, ds)
		if _, err := db.AppendLabels(ctx, es); err != nil {
			t.Fatal(err)
		}
		return db
	}
	dial := func(rd *Reader) api.Reader {
		srv := httptest.NewServer(api.Handler(rd, api.HandlerOptions{}))
		t.Cleanup(srv.Close)
		rm, err := api.Dial(srv.URL, "", api.RemoteOptions{Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rm.Close() })
		return rm
	}
	local := NewStoreReader(open(ds), nil)
	var members []api.Member
	for i := range 2 {
		var half []decision.Decision
		for j, d := range ds {
			if j%2 == i {
				half = append(half, d)
			}
		}
		members = append(members, api.Member{Name: string(rune('a' + i)), Reader: dial(NewStoreReader(open(half), nil))})
	}
	fed, err := api.Federate(members...)
	if err != nil {
		t.Fatal(err)
	}

	// The brute-force pairs: (label, action) of Safe-e, the ten rules and
	// allow-everything, for every labelled decision.
	var live, ten, allow [][2]string
	unlabeled := 0
	ev, eva := p.NewEvaluator(newBruteVelocity(ds)), pa.NewEvaluator(newBruteVelocity(ds))
	for i := range ds {
		d := &ds[i]
		l := bruteLabel(es, d)
		if l == "" {
			unlabeled++
			continue
		}
		r, err := ev.Evaluate(d)
		if err != nil {
			t.Fatal(err)
		}
		ra, err := eva.Evaluate(d)
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, [2]string{string(l), string(d.Action)})
		ten = append(ten, [2]string{string(l), string(r.Action)})
		allow = append(allow, [2]string{string(l), string(ra.Action)})
	}
	if len(live) < 100 || unlabeled < 100 {
		t.Fatalf("%d labelled, %d unlabelled: the data tests little", len(live), unlabeled)
	}

	for name, rd := range map[string]api.Reader{"local": local, "remote": dial(local), "federated": fed} {
		rep, err := rd.Replay(ctx, api.ReplayQuery{Name: "ten.toml", Policy: policytest.TenRules})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got struct {
			Labels *struct {
				Live, Policy splitJSON
				Unlabeled    int `json:"unlabeled"`
			} `json:"labels"`
		}
		if err := json.Unmarshal([]byte(mustJSON(t, rep)), &got); err != nil {
			t.Fatal(err)
		}
		if got.Labels == nil {
			t.Fatalf("%s: no labels in %s", name, mustJSON(t, rep))
		}
		if got.Labels.Unlabeled != unlabeled {
			t.Errorf("%s: unlabeled %d, want %d", name, got.Labels.Unlabeled, unlabeled)
		}
		checkSplit(t, name+" live", got.Labels.Live, live)
		checkSplit(t, name+" policy", got.Labels.Policy, ten)

		dr, err := rd.PolicyDiff(ctx, api.DiffQuery{OldName: "ten.toml", Old: policytest.TenRules, NewName: "allow.toml", New: allowAll})
		if err != nil {
			t.Fatalf("%s diff: %v", name, err)
		}
		var dgot struct {
			Labels *struct {
				Live, Old, New splitJSON
				Unlabeled      int `json:"unlabeled"`
			} `json:"labels"`
		}
		if err := json.Unmarshal([]byte(mustJSON(t, dr)), &dgot); err != nil {
			t.Fatal(err)
		}
		if dgot.Labels == nil || dgot.Labels.Unlabeled != unlabeled {
			t.Fatalf("%s diff: labels %+v, want %d unlabelled", name, dgot.Labels, unlabeled)
		}
		checkSplit(t, name+" diff live", dgot.Labels.Live, live)
		checkSplit(t, name+" diff old", dgot.Labels.Old, ten)
		checkSplit(t, name+" diff new", dgot.Labels.New, allow)

		// As of before the labels were recorded there are none.
		before := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
		rep, err = rd.Replay(ctx, api.ReplayQuery{Name: "ten.toml", Policy: policytest.TenRules, AsOf: before})
		if err != nil || rep.Labels != nil || rep.Decisions != n {
			t.Errorf("%s as of %v: %d decisions, labels %+v, %v", name, before, rep.Decisions, rep.Labels, err)
		}
		dr, err = rd.PolicyDiff(ctx, api.DiffQuery{OldName: "ten.toml", Old: policytest.TenRules, NewName: "allow.toml", New: allowAll, AsOf: before})
		if err != nil || dr.Labels != nil {
			t.Errorf("%s diff as of %v: labels %+v, %v", name, before, dr.Labels, err)
		}
	}

	// Without labels the reports have none.
	bare := NewStoreReader(openTestStore(t), nil)
	storeDecisions(t, bare.db, ds[:50])
	rep, err := bare.Replay(ctx, api.ReplayQuery{Name: "ten.toml", Policy: policytest.TenRules})
	if err != nil || rep.Labels != nil {
		t.Errorf("no labels: %+v, %v", rep.Labels, err)
	}
}
