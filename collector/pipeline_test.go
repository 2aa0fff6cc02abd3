package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

const testKey = "test-key-never-printed"

func openTestStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "rw.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testClient(t testing.TB, url string, key string) *safee.Client {
	t.Helper()
	c, err := safee.New(safee.Config{BaseURL: url, APIKey: key, Timeout: 300 * time.Millisecond, Concurrency: 16,
		BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fastPipeline is a pipeline tuned for tests: short backoffs and cooldowns.
func fastPipeline(db *store.DB, sc Scorer) PipelineOptions {
	return PipelineOptions{DB: db, Scorer: sc, Workers: 16, RetryBase: 2 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		BreakerThreshold: 5, BreakerCooldown: 10 * time.Millisecond, BreakerMaxCooldown: 50 * time.Millisecond,
		AuthProbe: 20 * time.Millisecond, Poll: 20 * time.Millisecond}
}

// enqueueGenerated puts n generated events of scenario into the inbox and
// returns their IDs.
func enqueueGenerated(t testing.TB, db *store.DB, scenario string, n int) []string {
	t.Helper()
	g, err := emulator.NewGenerator(scenario, 7, func() time.Time { return time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for n > 0 {
		batch := make([]store.InboxEvent, 0, min(n, 500))
		for range min(n, 500) {
			body := g.Next()
			ev, err := safee.ParseEvent(body)
			if err != nil {
				t.Fatalf("generator wrote an invalid event: %v: %s", err, body)
			}
			batch = append(batch, store.InboxEvent{EventID: ev.EventID, Source: "test", ReceivedAt: time.Now(), Body: body})
			ids = append(ids, ev.EventID)
		}
		if _, err := db.Enqueue(context.Background(), batch, nil, nil); err != nil {
			t.Fatal(err)
		}
		n -= len(batch)
	}
	return ids
}

// runInBackground runs run until the returned stop (idempotent, also
// called when the test ends), which cancels it and waits up to limit for it
// to return, failing the test on an error or a hang.
func runInBackground(t testing.TB, what string, limit time.Duration, run func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: %v", what, err)
				}
			case <-time.After(limit):
				t.Errorf("%s did not stop within %v", what, limit)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// runPipeline starts p and returns a stop function that waits for it.
func runPipeline(t testing.TB, p *Pipeline) (stop func()) {
	t.Helper()
	return runInBackground(t, "pipeline", 10*time.Second, p.Run)
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func decisionCount(t testing.TB, db *store.DB) uint64 {
	t.Helper()
	info, err := db.Info()
	if err != nil {
		t.Fatal(err)
	}
	return info.Decisions
}

// storedByEvent returns every stored decision keyed by event ID, failing on
// a duplicate.
func storedByEvent(t testing.TB, db *store.DB) map[string]decision.Decision {
	t.Helper()
	out := map[string]decision.Decision{}
	q := store.RangeQuery{Limit: 1000}
	for {
		page, err := db.Range(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Decisions {
			if _, dup := out[d.EventID]; dup {
				t.Fatalf("event %s stored twice", d.EventID)
			}
			out[d.EventID] = d
		}
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
}

func TestPipelineScoresEveryEventOnce(t *testing.T) {
	db := openTestStore(t)
	emu := httptest.NewServer(emulator.New(emulator.Options{Key: testKey, Seed: 1}).Handler("/api/v1"))
	defer emu.Close()
	ids := enqueueGenerated(t, db, "mixed", 3000)
	hub := NewHub()
	defer hub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := hub.Subscribe(ctx, SubscribeOptions{})
	p := NewPipeline(PipelineOptions{DB: db, Scorer: testClient(t, emu.URL+"/api/v1", testKey), Hub: hub, Workers: 16})
	runPipeline(t, p)
	p.Notify()

	seen := 0
	deadline := time.After(30 * time.Second)
	for seen < len(ids) {
		select {
		case b := <-sub:
			seen += len(b.Decisions) + b.Missed
		case <-deadline:
			t.Fatalf("hub delivered %d of %d decisions", seen, len(ids))
		}
	}
	if db.InboxDepth() != 0 {
		t.Errorf("inbox depth %d after scoring everything", db.InboxDepth())
	}
	got := storedByEvent(t, db)
	if len(got) != len(ids) {
		t.Fatalf("stored %d decisions for %d events", len(got), len(ids))
	}
	actions := map[decision.Action]int{}
	for _, id := range ids {
		d, ok := got[id]
		if !ok {
			t.Fatalf("event %s has no decision", id)
		}
		actions[d.Action]++
		if d.Action != decision.ActionError && (len(d.Response) == 0 || d.HTTPStatus != 200 || d.Latency <= 0) {
			t.Fatalf("decision %s lacks its response, status or latency: %+v", id, d)
		}
	}
	if actions[decision.ActionError] != 0 || actions[decision.ActionAllow] == 0 || actions[decision.ActionDeny] == 0 {
		t.Errorf("actions = %v", actions)
	}
	if s := p.Stats(); s.StatusCodes[200] != uint64(len(ids)) || s.P50 <= 0 || s.P99 < s.P50 {
		t.Errorf("stats = %+v", s)
	}
}

// orderRecorder wraps a handler and records, per user, the event IDs in the
// order their requests arrived; it delays each answer a little so that
// concurrent calls overlap.
type orderRecorder struct {
	next  http.Handler
	mu    sync.Mutex
	order map[string][]string
}

func (o *orderRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	buf, _ := io.ReadAll(r.Body)
	var body struct {
		EventID string `json:"event_id"`
		User    struct {
			UserID string `json:"user_id"`
		} `json:"user"`
	}
	_ = json.Unmarshal(buf, &body)
	o.mu.Lock()
	o.order[body.User.UserID] = append(o.order[body.User.UserID], body.EventID)
	o.mu.Unlock()
	time.Sleep(time.Duration(len(body.EventID)%3) * time.Millisecond)
	r.Body = io.NopCloser(bytes.NewReader(buf))
	o.next.ServeHTTP(w, r)
}

func TestPipelineKeepsEachUsersOrder(t *testing.T) {
	db := openTestStore(t)
	rec := &orderRecorder{next: emulator.New(emulator.Options{Seed: 1}).Handler("/api/v1"), order: map[string][]string{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	ids := enqueueGenerated(t, db, "stuffing", 1500)
	p := NewPipeline(PipelineOptions{DB: db, Scorer: testClient(t, srv.URL+"/api/v1", "k"), Workers: 32})
	runPipeline(t, p)
	waitFor(t, "all decisions", 30*time.Second, func() bool { return decisionCount(t, db) == uint64(len(ids)) })

	pos := map[string]int{}
	for i, id := range ids {
		pos[id] = i
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	users := 0
	for u, seq := range rec.order {
		if len(seq) > 1 {
			users++
		}
		for i := 1; i < len(seq); i++ {
			if pos[seq[i]] < pos[seq[i-1]] {
				t.Fatalf("user %s: event %s was sent before the earlier %s", u, seq[i], seq[i-1])
			}
		}
	}
	if users == 0 {
		t.Fatal("fixture has no user with several events; the test proves nothing")
	}
}

// flakyNet makes a handler unreachable on demand: while down, connections
// are closed without an answer.
type flakyNet struct {
	next http.Handler
	down atomic.Bool
	hits atomic.Int64
}

func (f *flakyNet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	if f.down.Load() {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	f.next.ServeHTTP(w, r)
}

func TestPipelineSurvivesFaultsAndOutage(t *testing.T) {
	db := openTestStore(t)
	emu := emulator.New(emulator.Options{Key: testKey, Seed: 3, ErrorRate: 0.10, ThrottleRate: 0.05, TimeoutRate: 0.02,
		RetryAfter: time.Second, TimeoutDelay: 2 * time.Second})
	fl := &flakyNet{next: emu.Handler("/api/v1")}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	ids := enqueueGenerated(t, db, "mixed", 2000)
	p := NewPipeline(fastPipeline(db, testClient(t, srv.URL+"/api/v1", testKey)))
	runPipeline(t, p)

	waitFor(t, "a third of the events", 30*time.Second, func() bool { return decisionCount(t, db) >= uint64(len(ids)/3) })
	fl.down.Store(true)
	waitFor(t, "the breaker to open during the outage", 10*time.Second, func() bool { return p.Stats().Breaker == BreakerOpen })
	before := fl.hits.Load()
	// While Safe-e is down the breaker must hold the hammering back: in 300ms
	// with cooldowns of 10-50ms, a handful of probes, not thousands of calls.
	time.Sleep(300 * time.Millisecond) // the observation window, not a wait for a condition
	if probes := fl.hits.Load() - before; probes > 100 {
		t.Errorf("%d requests reached Safe-e during a 300ms outage with the breaker open", probes)
	}
	if s := p.Stats(); s.Reachable {
		t.Error("health must say Safe-e is unreachable during the outage")
	}
	fl.down.Store(false)
	waitFor(t, "every event scored after the outage", 60*time.Second, func() bool { return decisionCount(t, db) == uint64(len(ids)) })
	waitFor(t, "the breaker to close", 5*time.Second, func() bool { return p.Stats().Breaker == BreakerClosed })

	got := storedByEvent(t, db)
	for _, id := range ids {
		d, ok := got[id]
		if !ok {
			t.Fatalf("event %s lost", id)
		}
		if d.Action == decision.ActionError {
			t.Fatalf("a transient failure became an error decision: %+v", d.Error)
		}
	}
	if db.InboxDepth() != 0 {
		t.Errorf("inbox depth %d", db.InboxDepth())
	}
	s := p.Stats()
	if s.Retries == 0 || s.Errors["retryable"]+s.Errors["timeout"]+s.Errors["network"] == 0 {
		t.Errorf("faults were injected but not counted: %+v", s)
	}
	// Bounded retries: the client makes at most 3 attempts per dispatch, and
	// the fault rates make most events succeed at once.
	if total := fl.hits.Load(); total > int64(3*len(ids)) {
		t.Errorf("%d requests for %d events: retries are not bounded", total, len(ids))
	}
}

func TestPipelinePausesOnRefusedKeyAndKeepsEvents(t *testing.T) {
	db := openTestStore(t)
	fl := &flakyNet{next: emulator.New(emulator.Options{Key: testKey, Seed: 1}).Handler("/api/v1")}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	ids := enqueueGenerated(t, db, "normal", 200)
	p := NewPipeline(fastPipeline(db, testClient(t, srv.URL+"/api/v1", "wrong-key")))
	runPipeline(t, p)
	waitFor(t, "the pipeline to pause", 10*time.Second, func() bool { return p.Stats().State == PipelinePaused })
	s := p.Stats()
	if s.Errors["unauthorized"] == 0 || s.PauseReason == "" {
		t.Errorf("stats = %+v", s)
	}
	for _, secret := range []string{"wrong-key", testKey} {
		if strings.Contains(s.PauseReason, secret) {
			t.Errorf("pause reason leaks the key: %q", s.PauseReason)
		}
	}
	// Paused: once the calls already in flight when the first 401 came back
	// have returned, only one probe per AuthProbe (20ms) reaches Safe-e.
	waitFor(t, "in-flight calls to return", 5*time.Second, func() bool { return p.Stats().InFlight == 0 })
	before := fl.hits.Load()
	time.Sleep(200 * time.Millisecond) // the observation window, not a wait for a condition
	if n := fl.hits.Load() - before; n > 15 {
		t.Errorf("%d requests in 200ms while paused", n)
	}
	if decisionCount(t, db) != 0 {
		t.Errorf("decisions stored with a refused key")
	}
	if db.InboxDepth() != uint64(len(ids)) {
		t.Errorf("inbox depth %d, want every event (%d) kept", db.InboxDepth(), len(ids))
	}
}

func TestPipelineRecordsPermanentFailures(t *testing.T) {
	db := openTestStore(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"error":"user.user_id is required"}`))
	}))
	defer srv.Close()
	ids := enqueueGenerated(t, db, "normal", 50)
	p := NewPipeline(fastPipeline(db, testClient(t, srv.URL, "k")))
	runPipeline(t, p)
	waitFor(t, "error decisions", 10*time.Second, func() bool { return decisionCount(t, db) == uint64(len(ids)) })
	for _, d := range storedByEvent(t, db) {
		if d.Action != decision.ActionError || d.HTTPStatus != 422 || !strings.Contains(d.Error, "user.user_id is required") || d.Attempts != 1 {
			t.Fatalf("decision = action %s status %d attempts %d error %q", d.Action, d.HTTPStatus, d.Attempts, d.Error)
		}
	}
}

func TestPipelineStopsPromptlyAndLeavesInFlightInInbox(t *testing.T) {
	db := openTestStore(t)
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	ids := enqueueGenerated(t, db, "normal", 100)
	c, err := safee.New(safee.Config{BaseURL: srv.URL, APIKey: "k", Timeout: time.Minute, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPipeline(PipelineOptions{DB: db, Scorer: c, Workers: 8})
	stop := runPipeline(t, p)
	waitFor(t, "calls in flight", 5*time.Second, func() bool { return p.Stats().InFlight > 0 })
	start := time.Now()
	stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stop took %v with calls blocked", d)
	}
	if db.InboxDepth() != uint64(len(ids)) || decisionCount(t, db) != 0 {
		t.Errorf("inbox %d decisions %d: in-flight events must stay in the inbox", db.InboxDepth(), decisionCount(t, db))
	}
}
