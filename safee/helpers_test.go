package safee

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testKey is the API key every test client uses; no error or printed form
// may contain it.
const testKey = "sk_live_7f3c9a1e5b2d4c6f8a0b"

// clock records the waits a Client asks for instead of sleeping, and the
// ceilings it passes to Jitter (which answers the ceiling, the worst case).
type clock struct {
	mu       sync.Mutex
	sleeps   []time.Duration
	ceilings []time.Duration
}

func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *clock) jitter(ceiling time.Duration) time.Duration {
	c.mu.Lock()
	c.ceilings = append(c.ceilings, ceiling)
	c.mu.Unlock()
	return ceiling
}

func (c *clock) recorded() (sleeps, ceilings []time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...), append([]time.Duration(nil), c.ceilings...)
}

// newTestClient returns a client for srv whose waits are recorded, not slept.
func newTestClient(t *testing.T, srv *httptest.Server, mod func(*Config)) (*Client, *clock) {
	t.Helper()
	clk := &clock{}
	cfg := Config{
		BaseURL:     srv.URL + "/api/v1",
		APIKey:      testKey,
		Timeout:     5 * time.Second,
		BaseBackoff: 100 * time.Millisecond,
		MaxBackoff:  time.Second,
		Jitter:      clk.jitter,
		Sleep:       clk.sleep,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c, clk
}

// mustEvent parses s or fails the test.
func mustEvent(t *testing.T, s string) Event {
	t.Helper()
	ev, err := ParseEvent([]byte(s))
	if err != nil {
		t.Fatalf("ParseEvent(%s): %v", s, err)
	}
	return ev
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// replies serves the given handlers in turn, the last one for every further
// request, and counts the requests.
type replies struct {
	mu       sync.Mutex
	handlers []http.HandlerFunc
	n        int
}

func (r *replies) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	// Reading the body to its end lets the server notice a client that goes
	// away, which cancels req.Context() for handlers that block on it.
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	h := r.handlers[min(r.n, len(r.handlers)-1)]
	r.n++
	r.mu.Unlock()
	h(w, req)
}

func (r *replies) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func status(code int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

func serve(t *testing.T, handlers ...http.HandlerFunc) (*httptest.Server, *replies) {
	t.Helper()
	r := &replies{handlers: handlers}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, r
}
