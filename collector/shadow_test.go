package collector

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/internal/policytest"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

// TestShadowIsStoredAndAgreesWithReplay runs a real collector scoring with
// the emulator and a shadow policy with velocity rules: every new decision
// is stored with its shadow action and rule, and they are what a replay of
// the same policy over the store decides for the same decisions.
func TestShadowIsStoredAndAgreesWithReplay(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shadow.toml")
	if err := os.WriteFile(path, []byte(policytest.TenRules), 0o600); err != nil {
		t.Fatal(err)
	}
	db := openTestStore(t)
	emu := newEmulator(t)
	c, err := New(Options{
		DB: db, Client: testClient(t, emu.URL+"/api/v1", testKey), Mode: ModeEmulator,
		Workers: 1, Pipeline: fastPipeline(nil, nil), ShadowPolicy: path, Logger: slog.New(slog.DiscardHandler),
		Listener: listenRetry(t, "127.0.0.1:0"),
	})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "collector", 10*time.Second, c.Run)
	n := 600
	if raceEnabled {
		n = 300
	}
	enqueueGenerated(t, db, "stuffing", n)
	c.pipeline.Notify()
	waitFor(t, "every event scored", 60*time.Second, func() bool { return decisionCount(t, db) == uint64(n) })

	p, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	agree, byRule := 0, map[string]int{}
	_, err = policy.Replay(p, policy.Decisions(db.Scan(context.Background(), time.Time{}, time.Time{})), policy.Options{
		Each: func(d *decision.Decision, rs []policy.Result) {
			if d.Action == decision.ActionError {
				if d.ShadowAction != "" {
					t.Errorf("error decision %s has shadow action %q", d.ID, d.ShadowAction)
				}
				return
			}
			if d.ShadowAction != rs[0].Action || d.ShadowRule != rs[0].Rule {
				t.Errorf("decision %s (%s %s at %s): shadow %s by %q, replay %s by %q", d.ID, d.Type, d.IP, d.EventTime,
					d.ShadowAction, d.ShadowRule, rs[0].Action, rs[0].Rule)
				return
			}
			agree++
			byRule[d.ShadowRule]++
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if agree < n*9/10 || len(byRule) < 3 {
		t.Errorf("%d of %d decisions agree, deciding rules %v: the data does not exercise the policy", agree, n, byRule)
	}
	h := c.Health(context.Background())
	if h.Shadow == nil || h.Shadow.File != path || h.Shadow.Rules != 10 || h.Shadow.Error != "" {
		t.Errorf("health: %+v", h.Shadow)
	}
}

// TestShadowReload: a reload that compiles applies to the decisions
// stored from then on; one that does not keeps the previous policy and
// says why in Health.
func TestShadowReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shadow.toml")
	write := func(text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("default = \"deny\"\n")
	db := openTestStore(t)
	emu := newEmulator(t)
	c, err := New(Options{
		DB: db, Client: testClient(t, emu.URL+"/api/v1", testKey), Mode: ModeEmulator,
		Pipeline: fastPipeline(nil, nil), ShadowPolicy: path, Logger: slog.New(slog.DiscardHandler),
		Listener: listenRetry(t, "127.0.0.1:0"),
	})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "collector", 10*time.Second, c.Run)
	g, err := emulator.NewGenerator("normal", 11, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	score := func(want uint64) { scoreGenerated(t, c, db, g, int(want-decisionCount(t, db))) }
	score(20)

	write("default = \"challenge\"\n[[rule]]\nname = \"all\"\nwhen = \"true\"\naction = \"allow\"\n")
	if err := c.ReloadShadow(); err != nil {
		t.Fatal(err)
	}
	score(40)
	write("default = \"maybe\"\n")
	if err := c.ReloadShadow(); err == nil || !strings.Contains(err.Error(), "shadow.toml:1:11") {
		t.Errorf("a bad file reloads: %v", err)
	}
	if h := c.Health(context.Background()).Shadow; h == nil || !strings.Contains(h.Error, "shadow.toml:1:11") || h.Rules != 1 {
		t.Errorf("health after a bad reload: %+v", h)
	}
	score(60)

	counts := map[string]int{}
	for d, err := range db.Scan(context.Background(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		if d.Action != decision.ActionError {
			counts[string(d.ShadowAction)+"/"+d.ShadowRule]++
		}
	}
	if counts["deny/"] == 0 || counts["allow/all"] == 0 || len(counts) != 2 || counts["deny/"]+counts["allow/all"] < 55 {
		t.Errorf("shadow actions by policy: %v", counts)
	}

	// The dashboard's replay of the shadow policy in force: the one that
	// last loaded.
	rep, err := c.Reader().Replay(context.Background(), api.ReplayQuery{Shadow: true})
	if err != nil || rep.Decisions != 60 || len(rep.Rules) != 1 || rep.Rules[0].Name != "all" {
		t.Errorf("replay of the shadow policy: %+v, %v", rep, err)
	}
	if _, err := NewStoreReader(db, nil).Replay(context.Background(), api.ReplayQuery{Shadow: true}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("replay of the shadow policy without one: %v", err)
	}
}

// scoreGenerated enqueues n events of g into db, wakes c's pipeline and
// waits until all n are stored.
func scoreGenerated(t *testing.T, c *Collector, db *store.DB, g *emulator.Generator, n int) {
	t.Helper()
	want := decisionCount(t, db) + uint64(n)
	var batch []store.InboxEvent
	for range n {
		body := g.Next()
		ev, err := safee.ParseEvent(body)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, store.InboxEvent{EventID: ev.EventID, Source: "test", ReceivedAt: time.Now(), Body: body})
	}
	if _, err := db.Enqueue(context.Background(), batch, nil, nil); err != nil {
		t.Fatal(err)
	}
	c.pipeline.Notify()
	waitFor(t, "events scored", 30*time.Second, func() bool { return decisionCount(t, db) == want })
}

// TestProxyRetryIsCountedOnceByTheShadow: a retried proxy call (the same
// event_id) is stored once, so the shadow's velocity counts it once: the
// user's next decision sees one earlier decision, the one after two.
func TestProxyRetryIsCountedOnceByTheShadow(t *testing.T) {
	emu := newEmulator(t)
	path := filepath.Join(t.TempDir(), "shadow.toml")
	text := "default = \"allow\"\n[[rule]]\nname = \"twice\"\nwhen = 'count(\"user\", \"1h\") >= 2'\naction = \"challenge\"\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	db := openTestStore(t)
	// Something older is stored, so memory is not all there is.
	storeDecisions(t, db, []decision.Decision{{EventID: "old", Source: "test", Type: "$login", UserID: "u0",
		EventTime: time.Now().Add(-48 * time.Hour), Action: decision.ActionAllow}})
	col, err := New(Options{DB: db, Client: testClient(t, emu.URL+"/api/v1", testKey), Listen: "127.0.0.1:0",
		Pipeline: fastPipeline(nil, nil), ShadowPolicy: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "collector", 15*time.Second, col.Run)
	url := "http://" + col.Addr() + "/api/v1/risk/login"
	hdr := http.Header{"Content-Type": {"application/json"}}
	event := func(id string) []byte {
		return []byte(`{"type":"$login","status":"$succeeded","event_id":"` + id + `","user":{"user_id":"u1","user_ip":"10.0.0.1"}}`)
	}
	for _, id := range []string{"retried", "retried", "retried", "second", "third"} {
		if status, _, resp := post(t, url, hdr, event(id)); status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", id, status, resp)
		}
	}
	got := map[string]decision.Action{}
	for d, err := range db.Scan(context.Background(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		got[d.EventID] = d.ShadowAction
	}
	want := map[string]decision.Action{"old": "", "retried": decision.ActionAllow, "second": decision.ActionAllow, "third": decision.ActionChallenge}
	if !maps.Equal(got, want) {
		t.Errorf("shadow actions %v, want %v", got, want)
	}
}

// TestShadowDiffersFromReplayOnlyByLatecomers scores decisions as several
// workers and out-of-order arrival commit them: each commit group is a
// jittered stretch of the stream, and every 100th decision arrives two to
// four groups late. The shadow evaluates each group in event-time order,
// so a decision sees exactly the decisions evaluated before it with an
// earlier event time; replay sees every stored one. The bound of Shadow's
// doc comment: a decision no latecomer reaches (an earlier decision in
// one of its velocity queries, evaluated after it) gets replay's action
// and rule.
func TestShadowDiffersFromReplayOnlyByLatecomers(t *testing.T) {
	n := 3000
	if raceEnabled {
		n = 1500
	}
	path := filepath.Join(t.TempDir(), "shadow.toml")
	if err := os.WriteFile(path, []byte(policytest.TenRules), 0o600); err != nil {
		t.Fatal(err)
	}
	db := openTestStore(t)
	ds := policytest.NewSynth(21).Decisions(n)
	s, err := LoadShadow(path, db, slog.New(slog.DiscardHandler), func() time.Time { return ds[0].EventTime })
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}

	// Commit order: a jitter of a few positions (workers finishing out of
	// order), every 100th decision 2-4 groups of 50 late.
	r := rand.New(rand.NewPCG(7, 8))
	arrive := make([]float64, n)
	for i := range arrive {
		arrive[i] = float64(i) + r.Float64()*8
		if i%100 == 99 {
			arrive[i] += float64(100 + r.IntN(100))
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(arrive[a], arrive[b]) })

	// Evaluation position: groups in commit order, each in event-time
	// order (as Apply evaluates).
	evalPos := map[string]int{}
	ctx := context.Background()
	for lo := 0; lo < n; lo += 50 {
		group := make([]store.Result, 0, 50)
		for _, i := range order[lo:min(lo+50, n)] {
			group = append(group, store.Result{Decision: ds[i]})
		}
		byTime := slices.Clone(group)
		slices.SortStableFunc(byTime, func(a, b store.Result) int { return a.Decision.EventTime.Compare(b.Decision.EventTime) })
		for _, g := range byTime {
			evalPos[g.Decision.EventID] = len(evalPos)
		}
		s.Apply(ctx, group)
		if _, err := complete(ctx, db, nil, nil, group); err != nil {
			t.Fatal(err)
		}
	}

	// latecomer reports whether a decision evaluated after d falls in
	// one of d's velocity queries: an earlier event time within the
	// query's window and the same key value.
	latecomer := func(d *decision.Decision) bool {
		for i := range ds {
			x := &ds[i]
			if evalPos[x.EventID] < evalPos[d.EventID] || !x.EventTime.Before(d.EventTime) {
				continue
			}
			for _, q := range p.Queries() {
				if v := q.Key.Value(d); v != "" && q.Key.Value(x) == v && !x.EventTime.Before(d.EventTime.Add(-q.Window)) {
					return true
				}
			}
		}
		return false
	}
	checked, reached, differ := 0, 0, 0
	_, err = policy.Replay(p, policy.Decisions(db.Scan(ctx, time.Time{}, time.Time{})), policy.Options{
		Each: func(d *decision.Decision, rs []policy.Result) {
			if d.Action == decision.ActionError {
				return
			}
			same := d.ShadowAction == rs[0].Action && d.ShadowRule == rs[0].Rule
			if latecomer(d) {
				reached++
				if !same {
					differ++
				}
				return
			}
			checked++
			if !same {
				t.Errorf("decision %s (no latecomer) at %s: shadow %s by %q, replay %s by %q", d.EventID, d.EventTime,
					d.ShadowAction, d.ShadowRule, rs[0].Action, rs[0].Rule)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d decisions checked equal; %d reached by a latecomer, %d of them differ", checked, reached, differ)
	if checked < n/10 || reached < n/10 {
		t.Errorf("%d checked, %d reached by a latecomer: the data does not exercise the bound", checked, reached)
	}
}
