package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/store"
)

// srvFixture is a Server on a real listener at 127.0.0.1:0 over a real
// store in a temporary directory.
type srvFixture struct {
	srv      *Server
	db       *store.DB
	reg      *prometheus.Registry
	metrics  *Metrics
	url      string
	notified atomic.Int64
}

// srvNow is the clock of every test server.
var srvNow = time.Date(2025, 11, 24, 12, 0, 0, 0, time.UTC)

// startTestServer opens a store, builds a server with opts adjusted by mod
// (nil for none) and runs it as the HTTP source, with its intake's options
// adjusted by intakeMod, until the test ends; cleanup checks that Run
// returned nil.
func startTestServer(t *testing.T, mod func(*ServerOptions), intakeMod ...func(*IntakeOptions)) *srvFixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "rw.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return startTestServerOn(t, db, mod, intakeMod...)
}

// startTestServerOn is startTestServer over a store the caller opened and
// closes after the test.
func startTestServerOn(t *testing.T, db *store.DB, mod func(*ServerOptions), intakeMod ...func(*IntakeOptions)) *srvFixture {
	t.Helper()
	ts := &srvFixture{db: db, reg: prometheus.NewRegistry()}
	ts.metrics = NewMetrics(ts.reg)
	var ids atomic.Int64
	opts := ServerOptions{
		Listen:   "127.0.0.1:0",
		Proxy:    srvEchoProxy,
		Health:   func(context.Context) api.Health { return api.Health{Mode: "EMULATOR", Pipeline: "running"} },
		Metrics:  ts.metrics,
		Registry: ts.reg,
		Logger:   slog.New(slog.DiscardHandler),
		Now:      func() time.Time { return srvNow },
		NewID:    func() string { return fmt.Sprintf("gen-%d", ids.Add(1)) },
	}
	if mod != nil {
		mod(&opts)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	opts.Listener = ln
	srv, err := NewServer(opts)
	if err != nil {
		ln.Close()
		t.Fatalf("NewServer: %v", err)
	}
	ts.srv = srv
	in := testIntake(t, db, srv.Name(), func(o *IntakeOptions) {
		o.Metrics, o.Now = ts.metrics, opts.Now
		o.Notify = func() { ts.notified.Add(1) }
		for _, m := range intakeMod {
			m(o)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, in) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	})
	ts.url = "http://" + ln.Addr().String()
	return ts
}

// srvEchoProxy answers 200 with the route, event and body it was given.
func srvEchoProxy(_ context.Context, route safee.Route, event string, body []byte) ProxyAnswer {
	b, _ := json.Marshal(map[string]string{"route": string(route), "event": event, "body": string(body)})
	return ProxyAnswer{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}
}

// do sends a request and returns the response with its body read.
func (ts *srvFixture) do(t *testing.T, method, path string, header http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// post sends body to /v1/events.
func (ts *srvFixture) post(t *testing.T, header http.Header, body []byte) (*http.Response, ingestResponse) {
	t.Helper()
	resp, b := ts.do(t, http.MethodPost, "/v1/events", header, body)
	var ir ingestResponse
	if err := json.Unmarshal(b, &ir); err != nil {
		t.Fatalf("answer %d is not the ingest JSON: %v: %s", resp.StatusCode, err, b)
	}
	return resp, ir
}

// inboxIDs returns the event IDs in the store's inbox, sorted.
func (ts *srvFixture) inboxIDs(t *testing.T) []string {
	t.Helper()
	ids := tailInboxIDs(t, ts.db)
	sort.Strings(ids)
	return ids
}

// rejected returns the store's rejected records, oldest first.
func (ts *srvFixture) rejected(t *testing.T) []store.Rejected {
	t.Helper()
	return tailRejects(t, ts.db)
}

// srvErrorOf decodes an {"error": ...} answer.
func srvErrorOf(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error answer %d has Content-Type %q, want application/json", resp.StatusCode, ct)
	}
	var eb api.WireError
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error == "" {
		t.Fatalf("answer %d is not a JSON error: %s", resp.StatusCode, body)
	}
	return eb.Error
}

// srvEvent returns a valid event body with the given event_id ("" for none).
func srvEvent(id string) string {
	if id == "" {
		return `{"type":"$login","status":"$succeeded","user":{"user_id":"u1","user_ip":"10.0.0.1"}}`
	}
	return fmt.Sprintf(`{"type":"$login","status":"$succeeded","event_id":%q,"user":{"user_id":"u1"}}`, id)
}

// srvHeader builds a header from key/value pairs.
func srvHeader(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}
