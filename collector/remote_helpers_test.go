package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

// readToken is the ingest token of the read API tests' collectors.
const readToken = "read-token-never-printed"

// liveCollector is a real collector (store file, emulator, HTTP server on
// loopback) running until stop or the end of the test.
type liveCollector struct {
	c    *Collector
	db   *store.DB
	addr string
	url  string
	stop func()
}

// newEmulator serves an offline Safe-e for the test.
func newEmulator(t testing.TB) *httptest.Server {
	t.Helper()
	emu := httptest.NewServer(emulator.New(emulator.Options{Key: testKey, Seed: 1}).Handler("/api/v1"))
	t.Cleanup(emu.Close)
	return emu
}

// startLiveCollector opens the store at path and runs a collector scoring
// with the emulator, listening on addr ("127.0.0.1:0" for any port), with
// the given token, until stop (idempotent; also at the end of the test),
// which waits for Run and closes the store.
func startLiveCollector(t testing.TB, path, addr, emuURL, token string) *liveCollector {
	t.Helper()
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	ln := listenRetry(t, addr)
	c, err := New(Options{
		DB: db, Client: testClient(t, emuURL+"/api/v1", testKey), Mode: ModeEmulator,
		Listener: ln, Token: token, Workers: 8, Pipeline: fastPipeline(nil, nil),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		ln.Close()
		db.Close()
		t.Fatalf("collector.New: %v", err)
	}
	lc := &liveCollector{c: c, db: db, addr: c.Addr(), url: "http://" + c.Addr()}
	stopRun := runInBackground(t, "collector Run", 15*time.Second, c.Run)
	var once sync.Once
	lc.stop = func() {
		once.Do(func() {
			stopRun()
			if err := db.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
	}
	t.Cleanup(lc.stop)
	return lc
}

// listenRetry listens on addr, retrying for a while when a just-closed
// listener still holds the port.
func listenRetry(t testing.TB, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialRemote returns a Remote for lc with test-sized timeouts and backoffs.
func dialRemote(t testing.TB, url, token string) *api.Remote {
	t.Helper()
	r, err := api.Dial(url, token, api.RemoteOptions{Timeout: 5 * time.Second, MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond, StallTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// postEvents posts n generated events of scenario to the collector's ingest
// and returns how many it accepted.
func postEvents(t testing.TB, url, token, scenario string, seed int64, n int) int {
	t.Helper()
	// The events of the last nine minutes: their event times lie in the
	// windows the tests ask about (a generator running ahead of the clock
	// would stamp some of them minutes into the future).
	now := time.Now()
	g, err := emulator.NewSpanGenerator(scenario, seed, now.Add(-9*time.Minute), now)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := emulator.Post(context.Background(), &http.Client{Timeout: 10 * time.Second}, url, token, g, n, 0, 200)
	if err != nil {
		t.Fatalf("post %d events: %v", n, err)
	}
	return sent
}

// proxyEvent sends one event through the collector's Safe-e-compatible
// proxy; it reports whether the collector answered 200.
func proxyEvent(client *http.Client, url, token string, body []byte) bool {
	ev, err := safee.ParseEvent(body)
	if err != nil {
		return false
	}
	name, err := safee.EventName(ev.Type)
	if err != nil {
		return false
	}
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/%s/%s", url, safee.RouteFor(ev.Status), name), bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitScored waits until the store holds want decisions and the inbox is
// empty.
func waitScored(t testing.TB, db *store.DB, want uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d decisions stored", want), 30*time.Second, func() bool {
		return decisionCount(t, db) >= want && db.InboxDepth() == 0
	})
}

// storedIDs returns the IDs of every stored decision, in store (arrival)
// order.
func storedIDs(t testing.TB, db *store.DB) []string {
	t.Helper()
	var ids []string
	q := store.RangeQuery{Limit: 1000}
	for {
		page, err := db.Range(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Decisions {
			ids = append(ids, d.ID)
		}
		if page.Next == "" {
			slices.Sort(ids) // Range pages by event time
			return ids
		}
		q.Cursor = page.Next
	}
}

// Hostile stored content: users whose IDs would break a URL path, raw
// bytes that are not JSON.
var hostileUsers = []string{"a/b", "..", ".", "%2F", "u 1?x=1#f", "ünï-cødé", "semi;colon", "back\\slash"}

// storeHostile completes decisions for the hostile users directly in db,
// with raw request and response bytes that are not valid JSON, and returns
// them as stored.
func storeHostile(t testing.TB, db *store.DB) []decision.Decision {
	t.Helper()
	var rs []store.Result
	for i, u := range hostileUsers {
		rs = append(rs, store.Result{Decision: decision.Decision{
			EventID: fmt.Sprintf("hostile-%d", i), Source: "test", ReceivedAt: time.Now(), Type: "$login", Status: "$succeeded",
			UserID: u, IP: "10.9.8." + fmt.Sprint(i), Action: decision.ActionDeny, Risk: 91.5, Bot: 3, Signals: []string{"proxy_ip"},
			Policy: "p<&>", HTTPStatus: 502, Latency: 1234567 * time.Nanosecond, Attempts: 2,
			Request:  json.RawMessage(`{"type": "$login",  "x": "<&>"}` + "\n"),
			Response: json.RawMessage("<html>bad gateway \xff</html>"),
		}})
	}
	stored, err := db.Complete(context.Background(), rs)
	if err != nil {
		t.Fatalf("store hostile decisions: %v", err)
	}
	return stored
}

// openStream starts GET /v1/stream with query and header; the caller
// closes the body.
func openStream(t testing.TB, ctx context.Context, url, token, query string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/stream: %v", err)
	}
	return resp
}
