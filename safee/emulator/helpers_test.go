package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/safee"
)

// testStart is the fixed clock of generators and emulators in tests.
var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testStart }

// serve starts an emulator on a loopback httptest server.
func serve(t testing.TB, opts Options) (*Emulator, *httptest.Server) {
	t.Helper()
	e := New(opts)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return e, srv
}

// pathFor is the path safee.Client posts an event line to, with the default
// routes.
func pathFor(t testing.TB, line []byte) string {
	t.Helper()
	ev, err := safee.ParseEvent(line)
	if err != nil {
		t.Fatalf("generated line is not a Safe-e event: %v: %s", err, line)
	}
	return "/" + string(ev.Route()) + "/" + ev.Name()
}

// post sends body to base+path with key (none if empty) and returns the
// status and body.
func post(t testing.TB, c *http.Client, url, key string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization-API", key)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return resp.StatusCode, resp.Header, b
}

// score posts an event line to its route and decodes a 200 answer.
func score(t testing.TB, srv *httptest.Server, line []byte) response {
	t.Helper()
	status, _, body := post(t, srv.Client(), srv.URL+pathFor(t, line), "", line)
	if status != http.StatusOK {
		t.Fatalf("status %d (%s) for %s", status, body, line)
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, body)
	}
	return r
}

// testEvent builds an event line.
type testEvent struct {
	typ, status, user, email, ip, agent string
	at                                  time.Time
}

func (e testEvent) line() []byte {
	m := map[string]any{
		"type":   e.typ,
		"status": e.status,
		"user":   map[string]any{"user_id": e.user, "user_email": e.email, "user_ip": e.ip},
		"user_headers": map[string]any{
			"user_agent": e.agent, "host": "shop.example.com", "accept_language": "en-US",
		},
	}
	if !e.at.IsZero() {
		m["timestamp"] = e.at.Format(time.RFC3339)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// assess scores a generated line in-process: what ServeHTTP does once a
// request has passed its checks (the route safee.Client would use, the
// seed's noise), without HTTP.
func assess(t testing.TB, e *Emulator, line []byte) response {
	t.Helper()
	route, name, _ := strings.Cut(strings.TrimPrefix(pathFor(t, line), "/"), "/")
	ev, rerr := parseEvent(route, name, line, e.opts.Now)
	if rerr != nil {
		t.Fatalf("generated line refused: %v: %s", rerr, line)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return answer(e.assess(&ev, requestNoise(e.opts.Seed, route, line)))
}
