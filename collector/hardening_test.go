package collector

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

// hostileCollector runs a collector against the Safe-e handler h, with an
// HTTP server on loopback, until the test ends. mod adjusts the options.
func hostileCollector(t *testing.T, db *store.DB, h http.Handler, baseSuffix string, mod func(*Options)) (*Collector, string) {
	t.Helper()
	safe := httptest.NewServer(h)
	t.Cleanup(safe.Close)
	base := strings.Replace(safe.URL, "http://", "http://ops:url-pass-1234@", 1) + baseSuffix
	client, err := safee.New(safee.Config{BaseURL: base, APIKey: testKey, Timeout: 5 * time.Second, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{DB: db, Client: client, Listen: "127.0.0.1:0", Pipeline: fastPipeline(nil, nil)}
	if mod != nil {
		mod(&o)
	}
	col, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "collector", 15*time.Second, col.Run)
	return col, "http://" + col.Addr()
}

// getBody GETs url and returns status, header and body.
func getBody(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// TestEchoedKeyIsRedactedEverywhere runs a collector against a Safe-e that
// echoes the API key and the URL's password (which reaches it as Basic
// auth) in its body and headers: the proxy's caller, the stored requests
// and responses (what export writes) and the read API never see them, and
// every redaction is counted in the metrics and in health (issue 19,
// defect 6).
func TestEchoedKeyIsRedactedEverywhere(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pw, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Debug-Key", r.Header.Get("Authorization-API"))
		fmt.Fprintf(w, `{"risk":10,"account_abuse":1,"account_takeover":2,"bot":3,"signals":[],`+
			`"policy":{"name":"p","action":"Allow"},"debug":{"key":%q,"url_password":%q}}`, r.Header.Get("Authorization-API"), pw)
	})
	db := openTestStore(t)
	col, url := hostileCollector(t, db, echo, "/api/v1", nil)

	// An app that put the key in its own event too.
	ev := `{"event_id":"leaky-1","type":"$login","status":"$succeeded","user":{"user_id":"u1"},"note":"` + testKey + `"}`
	code, _, proxied := post(t, url+"/api/v1/risk/login", http.Header{"Content-Type": {"application/json"}}, []byte(ev))
	if code != http.StatusOK {
		t.Fatalf("proxy: %d %s", code, proxied)
	}
	code, _, body := post(t, url+"/v1/events", http.Header{"Content-Type": {"application/json"}},
		[]byte(`{"event_id":"piped-1","type":"$login","status":"$succeeded","user":{"user_id":"u2"}}`))
	if code != http.StatusAccepted {
		t.Fatalf("ingest: %d %s", code, body)
	}
	waitFor(t, "both decisions", 10*time.Second, func() bool { return decisionCount(t, db) == 2 })

	secrets := []string{testKey, "url-pass-1234"}
	leaks := func(what string, b []byte) {
		t.Helper()
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret %q: %s", what, s, b)
			}
		}
	}
	leaks("the proxy's answer", proxied)
	if !bytes.Contains(proxied, []byte(`"key":"[REDACTED]"`)) {
		t.Errorf("the proxy's answer does not show the redaction: %s", proxied)
	}
	for id, d := range storedByEvent(t, db) {
		leaks("stored request of "+id, d.Request)
		leaks("stored response of "+id, d.Response)
		leaks("stored error of "+id, []byte(d.Error))
	}
	_, _, latest := getBody(t, url+"/v1/decisions/latest?n=10")
	leaks("GET /v1/decisions/latest", latest)

	// Per decision: the key and the password in the body, the key in
	// X-Debug-Key; the proxied request held the key once more.
	const want = 2*3 + 1
	_, _, metrics := getBody(t, url+"/metrics")
	if !bytes.Contains(metrics, []byte(fmt.Sprintf("riskwatch_redactions_total %d", want))) {
		t.Errorf("metrics do not count %d redactions:\n%s", want, grepLines(metrics, "redactions"))
	}
	var h api.Health
	_, _, hb := getBody(t, url+"/v1/health")
	if err := json.Unmarshal(hb, &h); err != nil || h.Redactions != want {
		t.Errorf("health redactions %d (%v), want %d", h.Redactions, err, want)
	}
	if got := col.Health(context.Background()).Redactions; got != want {
		t.Errorf("Collector.Health redactions %d, want %d", got, want)
	}
}

// grepLines returns the lines of b that contain s.
func grepLines(b []byte, s string) string {
	var out []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// failingStore opens a store whose commits fail while *failing is set, as
// on a full disk.
func failingStore(t *testing.T, failing *atomic.Bool) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "rw.db"), store.Options{NoSync: true, FailCommit: func() error {
		if failing.Load() {
			return errors.New("write rw.db: no space left on device")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// switchable is a Safe-e (the emulator) that answers 503 while down is set.
func switchable(down *atomic.Bool) http.Handler {
	emu := emulator.New(emulator.Options{Key: testKey, Seed: 1}).Handler("/api/v1")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
			return
		}
		emu.ServeHTTP(w, r)
	})
}

func healthOf(t *testing.T, url string) (int, api.Health) {
	t.Helper()
	code, _, b := getBody(t, url+"/healthz")
	var h api.Health
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("healthz: %v: %s", err, b)
	}
	return code, h
}

func eventsBody(prefix string, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"event_id":"%s-%d","type":"$login","status":"$succeeded","user":{"user_id":"u%d","user_ip":"10.0.0.%d"}}`+"\n",
			prefix, i, i%13, i%200)
	}
	return b.Bytes()
}

// TestStoreFailureStallsThenRecovers: a full disk while the pipeline
// commits. The pipeline retries until the store recovers, health and
// metrics show the stall meanwhile, and afterwards every accepted event is
// scored, with no restart, and ingest, refused with 429 while the inbox
// sat at its limit, accepts again (issue 19, defect 3: the pipeline gave up
// after five attempts, so the events stayed unscored and the inbox full
// until a restart).
func TestStoreFailureStallsThenRecovers(t *testing.T) {
	var failing, down atomic.Bool
	db := failingStore(t, &failing)
	const limit = 100
	_, url := hostileCollector(t, db, switchable(&down), "/api/v1", func(o *Options) {
		o.InboxLimit = limit
		o.Pipeline.CommitRetryBase, o.Pipeline.CommitRetryMax = 5*time.Millisecond, 40*time.Millisecond
	})
	down.Store(true)
	ndjson := http.Header{"Content-Type": {"application/x-ndjson"}}
	if code, _, b := post(t, url+"/v1/events", ndjson, eventsBody("a", limit)); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %s", code, b)
	}
	if code, _, b := post(t, url+"/v1/events", ndjson, eventsBody("over", 1)); code != http.StatusTooManyRequests {
		t.Fatalf("ingest at the inbox limit: %d %s, want 429", code, b)
	}

	failing.Store(true)
	down.Store(false)
	waitFor(t, "health to show the stall", 10*time.Second, func() bool {
		code, h := healthOf(t, url)
		return code == http.StatusServiceUnavailable && h.Pipeline == PipelineStalled &&
			strings.Contains(h.PauseReason, "no space left on device") && h.CommitFailures > 5
	})
	_, _, metrics := getBody(t, url+"/metrics")
	if !bytes.Contains(metrics, []byte("riskwatch_pipeline_stalled 1")) {
		t.Errorf("metrics do not show the stall:\n%s", grepLines(metrics, "stall"))
	}
	if decisionCount(t, db) != 0 {
		t.Fatal("decisions were stored while every commit failed")
	}

	failing.Store(false)
	waitFor(t, "every accepted event to be scored", 15*time.Second, func() bool {
		return decisionCount(t, db) == limit && db.InboxDepth() == 0
	})
	code, h := healthOf(t, url)
	if code != http.StatusOK || h.Pipeline != PipelineRunning || h.PauseReason != "" {
		t.Errorf("after recovery: healthz %d, pipeline %q %q", code, h.Pipeline, h.PauseReason)
	}
	_, _, metrics = getBody(t, url+"/metrics")
	if !bytes.Contains(metrics, []byte("riskwatch_pipeline_stalled 0")) {
		t.Errorf("metrics still show a stall:\n%s", grepLines(metrics, "stall"))
	}
	if code, _, b := post(t, url+"/v1/events", ndjson, eventsBody("after", 1)); code != http.StatusAccepted {
		t.Fatalf("ingest after recovery: %d %s", code, b)
	}
	waitFor(t, "the new event to be scored", 10*time.Second, func() bool { return decisionCount(t, db) == limit+1 })
}

// proxyLogin posts one login with event_id id through the proxy.
func proxyLogin(t *testing.T, url, id string) (int, http.Header, []byte) {
	t.Helper()
	body := fmt.Sprintf(`{"event_id":%q,"type":"$login","status":"$succeeded","user":{"user_id":"u1","user_ip":"10.0.0.1"}}`, id)
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/risk/login", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// wantJSONError fails unless the answer is a 503 with a JSON error that
// contains want.
func wantJSONError(t *testing.T, what string, code int, h http.Header, b []byte, want string) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if code != http.StatusServiceUnavailable || h.Get("Content-Type") != "application/json" ||
		json.Unmarshal(b, &e) != nil || !strings.Contains(e.Error, want) {
		t.Errorf("%s: %d %q %.200s, want 503 with a JSON error containing %q", what, code, h.Get("Content-Type"), b, want)
	}
}

// TestProxyRefusesToAnswerWhatItCannotStore: with the store failing
// commits (a full disk), the proxy answers 503 with a JSON error instead of
// Safe-e's decision, and the application's retry with the same event_id,
// once the store recovers, is answered and stored once (issue 19, defect
// 2: the app was told allow/deny while nothing was recorded).
func TestProxyRefusesToAnswerWhatItCannotStore(t *testing.T) {
	var failing, down atomic.Bool
	db := failingStore(t, &failing)
	_, url := hostileCollector(t, db, switchable(&down), "/api/v1", nil)

	failing.Store(true)
	code, h, b := proxyLogin(t, url, "disk-full-1")
	wantJSONError(t, "proxy while the store fails", code, h, b, "could not be stored")
	if decisionCount(t, db) != 0 {
		t.Fatal("a decision was stored while commits failed")
	}

	failing.Store(false)
	for range 2 {
		code, _, b = proxyLogin(t, url, "disk-full-1")
		if code != http.StatusOK || !bytes.Contains(b, []byte(`"risk"`)) {
			t.Fatalf("retry after recovery: %d %s, want Safe-e's 200", code, b)
		}
	}
	if n := decisionCount(t, db); n != 1 {
		t.Errorf("%d decisions after two answered retries, want 1", n)
	}
}

// cutShort is a Safe-e that declares a body longer than it sends and
// closes the connection half-way.
func cutShort(w http.ResponseWriter, _ *http.Request) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	full := `{"risk":91,"account_abuse":1,"account_takeover":2,"bot":3,"signals":["proxy_ip"],"policy":{"name":"p","action":"Deny"}}`
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(full), full[:len(full)/2])
	buf.Flush()
}

// TestProxyNeverPassesHalfAnAnswer: a Safe-e answer cut short on the wire,
// or larger than the client reads, reaches the application as a 503 with a
// JSON error, never as a 200 with half a body, and is recorded as an error
// decision (issue 19, defect 7).
func TestProxyNeverPassesHalfAnAnswer(t *testing.T) {
	t.Run("cut short", func(t *testing.T) {
		db := openTestStore(t)
		_, url := hostileCollector(t, db, http.HandlerFunc(cutShort), "/api/v1", nil)
		code, h, b := proxyLogin(t, url, "half-1")
		wantJSONError(t, "a body cut short", code, h, b, "could not be read whole")
		waitFor(t, "the error decision", 5*time.Second, func() bool { return decisionCount(t, db) == 1 })
		if d := storedByEvent(t, db)["half-1"]; d.Action != decision.ActionError || !strings.Contains(d.Error, "could not be read whole") {
			t.Errorf("stored %q %q, want an error decision", d.Action, d.Error)
		}
	})
	t.Run("too large", func(t *testing.T) {
		huge := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"risk":1,"policy":{"name":"p","action":"Allow"},"pad":"%s"}`, strings.Repeat("x", 2<<20))
		})
		db := openTestStore(t)
		_, url := hostileCollector(t, db, huge, "/api/v1", nil)
		code, h, b := proxyLogin(t, url, "huge-1")
		wantJSONError(t, "a body over the limit", code, h, b, "larger than the collector accepts")
	})
}

// TestProxyPassesSafeeHeaders: a Safe-e 429 reaches the application with
// its status, Retry-After, rate-limit and request-ID headers, and without
// cookies or hop-by-hop headers (issue 19, defect 10: Retry-After was
// dropped).
func TestProxyPassesSafeeHeaders(t *testing.T) {
	throttle := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Retry-After", "7")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("RateLimit-Reset", "7")
		h.Set("X-Request-Id", "req-42")
		h.Set("Set-Cookie", "session=abc")
		h.Set("X-Internal-Host", "node-3")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":"slow down"}`))
	})
	db := openTestStore(t)
	_, url := hostileCollector(t, db, throttle, "/api/v1", nil)
	code, h, b := proxyLogin(t, url, "throttled-1")
	if code != http.StatusTooManyRequests || string(b) != `{"error":"slow down"}` {
		t.Fatalf("proxy: %d %s, want Safe-e's 429 and body", code, b)
	}
	for k, v := range map[string]string{"Retry-After": "7", "X-Ratelimit-Remaining": "0", "Ratelimit-Reset": "7",
		"X-Request-Id": "req-42", "Content-Type": "application/json", "Set-Cookie": "", "X-Internal-Host": ""} {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

// slowClient is a real client that sends a request's headers, then its
// body one byte at a time, a trickle no server should wait for.
type slowClient struct {
	conn   net.Conn
	status chan string
}

func startSlowClient(t *testing.T, addr, path string) *slowClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", path, addr)
	c := &slowClient{conn: conn, status: make(chan string, 1)}
	go func() {
		for {
			time.Sleep(20 * time.Millisecond)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		c.status <- strings.TrimSpace(line)
	}()
	return c
}

// TestSlowUploadsCannotLockOutTheProxy holds every ingest slot with real
// clients that trickle their bodies at 50 bytes/s: the proxy, which has
// capacity of its own, still answers at once, and each trickling client
// is refused with 408 once the grace period is over, freeing its slot
// (issue 19, defect 8: sixteen slow uploads made every login check 429 for
// up to the 30 s read timeout).
func TestSlowUploadsCannotLockOutTheProxy(t *testing.T) {
	const ingestSlots = 4
	ts := startTestServer(t, func(o *ServerOptions) {
		o.MaxConcurrent = ingestSlots
		o.MinBodyRate, o.MinBodyRateGrace = 1024, 300*time.Millisecond
	})
	addr := strings.TrimPrefix(ts.url, "http://")
	var slow []*slowClient
	for range ingestSlots {
		slow = append(slow, startSlowClient(t, addr, "/v1/events"))
	}
	slowProxy := startSlowClient(t, addr, "/api/v1/risk/login")
	waitFor(t, "the slow uploads to hold every ingest slot", 5*time.Second, func() bool { return len(ts.srv.slots) == ingestSlots })

	resp, b := ts.do(t, http.MethodPost, "/api/v1/risk/login", nil, []byte(srvEvent("login-1")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("proxy while slow uploads hold the ingest: %d %s, want 200", resp.StatusCode, b)
	}
	if resp, _ := ts.do(t, http.MethodPost, "/v1/events", nil, []byte(srvEvent("busy"))); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("ingest with every slot held: %d, want 429", resp.StatusCode)
	}
	for i, c := range append(slow, slowProxy) {
		select {
		case st := <-c.status:
			if !strings.Contains(st, " 408 ") {
				t.Errorf("slow client %d: %q, want 408", i, st)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("slow client %d was not refused within 10s (grace 300ms, server read timeout 30s)", i)
		}
	}
	waitFor(t, "the slots to be freed", 5*time.Second, func() bool { return len(ts.srv.slots) == 0 })
	if resp, b := ts.do(t, http.MethodPost, "/v1/events", nil, []byte(srvEvent("after"))); resp.StatusCode != http.StatusAccepted {
		t.Errorf("ingest after the slow clients were refused: %d %s, want 202", resp.StatusCode, b)
	}
}
