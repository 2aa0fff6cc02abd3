package collector

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/safee"
)

func TestServerRefusesPublicAddressWithoutToken(t *testing.T) {
	tests := []struct {
		listen, token string
		wantErr       string
	}{
		{"0.0.0.0:0", "", "RISKWATCH_INGEST_TOKEN"},
		{":7676", "", "without an ingest token"},
		{"[::]:7676", "", "without an ingest token"},
		{"192.168.1.10:7676", "", "without an ingest token"},
		{"example.com:7676", "", "without an ingest token"},
		{"127.0.0.1", "", "missing port"},
		{"0.0.0.0:0", "tok en", "contains a space"},
		{"0.0.0.0:0", "a-long-enough-token", ""},
		{"127.0.0.1:0", "", ""},
		{"127.8.9.10:0", "", ""},
		{"[::1]:0", "", ""},
		{"localhost:0", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		opts := ServerOptions{Listen: tt.listen, Token: tt.token, Proxy: srvEchoProxy,
			Health: func(context.Context) api.Health { return api.Health{} }}
		_, err := NewServer(opts)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("listen %q token %q: %v", tt.listen, tt.token, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("listen %q token %q: error %v, want one mentioning %q", tt.listen, tt.token, err, tt.wantErr)
		}
	}
	if _, err := NewServer(ServerOptions{Proxy: srvEchoProxy}); err == nil || !strings.Contains(err.Error(), "Health is nil") {
		t.Errorf("NewServer without a health function: %v", err)
	}
}

func TestServerToken(t *testing.T) {
	const token = "s3cret-ingest-token"
	ts := startTestServer(t, func(o *ServerOptions) { o.Token = token })
	routes := []struct{ method, path string }{
		{http.MethodPost, "/v1/events"},
		{http.MethodPost, "/api/v1/risk/login"},
		{http.MethodGet, "/healthz"},
		{http.MethodGet, "/metrics"},
	}
	auths := []struct {
		name, header string
		ok           bool
		wantErr      string
	}{
		{"missing", "", false, "missing Authorization"},
		{"wrong", "Bearer not-the-token", false, "invalid bearer token"},
		{"prefix of the token", "Bearer s3cret", false, "invalid bearer token"},
		{"basic", "Basic " + token, false, "not a Bearer token"},
		{"empty bearer", "Bearer ", false, "not a Bearer token"},
		{"right", "Bearer " + token, true, ""},
		{"scheme in lower case", "bearer " + token, true, ""},
	}
	for _, rt := range routes {
		for i, a := range auths {
			h := srvHeader("Authorization-API", "the-app-key")
			if a.header != "" {
				h.Set("Authorization", a.header)
			}
			resp, b := ts.do(t, rt.method, rt.path, h, []byte(srvEvent("tok-"+a.name+rt.path)))
			if a.ok {
				if resp.StatusCode >= 400 {
					t.Errorf("%s %s with %s token: status %d: %s", rt.method, rt.path, a.name, resp.StatusCode, b)
				}
				continue
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with %s token (case %d): status %d, want 401", rt.method, rt.path, a.name, i, resp.StatusCode)
				continue
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			if msg := srvErrorOf(t, resp, b); !strings.Contains(msg, a.wantErr) || strings.Contains(msg, token) {
				t.Errorf("%s token: error %q, want it to mention %q and not echo the token", a.name, msg, a.wantErr)
			}
		}
	}
}

// TestServerSlowHeaders is the slowloris check: a client that keeps
// dribbling header lines is disconnected once ReadHeaderTimeout has passed.
func TestServerSlowHeaders(t *testing.T) {
	const timeout = 200 * time.Millisecond
	ts := startTestServer(t, func(o *ServerOptions) { o.ReadHeaderTimeout = timeout })
	// The server's header timer starts when it accepts the connection,
	// which can be before Dial returns: time from before the dial.
	start := time.Now()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /v1/events HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := io.WriteString(conn, "X-Slow: a\r\n"); err != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(conn)
	elapsed := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept a dribbling client for %v", elapsed)
	}
	if elapsed < timeout {
		t.Fatalf("disconnected after %v, before the %v header timeout", elapsed, timeout)
	}
	// The server still serves others.
	if resp, _ := ts.do(t, http.MethodGet, "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after the slow client: %d", resp.StatusCode)
	}
}

func TestServerProxyRoutes(t *testing.T) {
	type call struct {
		route safee.Route
		event string
		body  string
	}
	var mu sync.Mutex
	var calls []call
	answer := struct {
		status int
		ct     string
		body   string
	}{418, "text/plain; charset=iso-8859-1", "raw \x00 answer"}
	ts := startTestServer(t, func(o *ServerOptions) {
		o.MaxBody = 4096
		o.Proxy = func(_ context.Context, route safee.Route, event string, body []byte) ProxyAnswer {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, call{route, event, string(body)})
			var h http.Header
			if answer.ct != "" {
				h = http.Header{"Content-Type": {answer.ct}}
			}
			return ProxyAnswer{Status: answer.status, Header: h, Body: []byte(answer.body)}
		}
	})
	resp, b := ts.do(t, http.MethodPost, "/api/v1/risk/login", srvHeader("Authorization-API", "app-key"), []byte(srvEvent("")))
	if resp.StatusCode != 418 || resp.Header.Get("Content-Type") != answer.ct || string(b) != answer.body {
		t.Fatalf("risk route answered %d %q %q, want Safe-e's answer unchanged", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	resp, _ = ts.do(t, http.MethodPost, "/api/v1/filter/PROFILE_UPDATE", nil,
		srvGzip(t, []byte(`{"type":"$profile_update"}`)))
	if resp.StatusCode != 418 {
		t.Fatalf("filter route: %d", resp.StatusCode)
	}
	// Gzip is undone before forwarding.
	resp, _ = ts.do(t, http.MethodPost, "/api/v1/filter/login", srvHeader("Content-Encoding", "gzip"),
		srvGzip(t, []byte(`{"type":"$login","status":"$failed"}`)))
	if resp.StatusCode != 418 {
		t.Fatalf("gzip proxy body: %d", resp.StatusCode)
	}
	want := []call{
		{safee.RouteRisk, "login", srvEvent("")},
		{safee.RouteFilter, "profile_update", string(srvGzip(t, []byte(`{"type":"$profile_update"}`)))},
		{safee.RouteFilter, "login", `{"type":"$login","status":"$failed"}`},
	}
	mu.Lock()
	got := append([]call(nil), calls...)
	mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("proxy calls %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	answer.status, answer.ct, answer.body = 503, "", `{"error":"Safe-e unreachable"}`
	resp, b = ts.do(t, http.MethodPost, "/api/v1/risk/login", nil, []byte(srvEvent("")))
	if resp.StatusCode != 503 || string(b) != answer.body || resp.Header.Get("Content-Type") != "" {
		t.Errorf("503 pass-through: %d %q Content-Type %q", resp.StatusCode, b, resp.Header.Get("Content-Type"))
	}
	answer.status = 0
	resp, b = ts.do(t, http.MethodPost, "/api/v1/risk/login", nil, []byte(srvEvent("")))
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(srvErrorOf(t, resp, b), "invalid status 0") {
		t.Errorf("invalid status from the proxy: %d %s", resp.StatusCode, b)
	}

	mu.Lock()
	before := len(calls)
	mu.Unlock()
	refused := []struct {
		method, path string
		body         []byte
		code         int
		wantErr      string
	}{
		{http.MethodPost, "/api/v1/risk/log-in", nil, 400, "event name in the path"},
		{http.MethodPost, "/api/v1/risk/log%2Fin", nil, 400, "event name in the path"},
		{http.MethodPost, "/api/v1/filter/" + strings.Repeat("a", 65), nil, 400, "longer than 64"},
		{http.MethodPost, "/api/v1/risk/login/extra", nil, 404, "no route"},
		{http.MethodGet, "/api/v1/risk/login", nil, 405, "method not allowed"},
		{http.MethodPost, "/api/v1/risk/login", []byte(strings.Repeat(" ", 5000)), 413, "larger than 4096"},
	}
	for _, r := range refused {
		resp, b := ts.do(t, r.method, r.path, nil, r.body)
		if resp.StatusCode != r.code {
			t.Errorf("%s %s: status %d, want %d: %s", r.method, r.path, resp.StatusCode, r.code, b)
			continue
		}
		if msg := srvErrorOf(t, resp, b); !strings.Contains(msg, r.wantErr) {
			t.Errorf("%s %s: error %q, want %q", r.method, r.path, msg, r.wantErr)
		}
	}
	mu.Lock()
	after := len(calls)
	mu.Unlock()
	if after != before {
		t.Errorf("refused requests reached the proxy function (%d calls)", after-before)
	}
}

func TestServerHealthz(t *testing.T) {
	var mu sync.Mutex
	health := api.Health{Mode: "EMULATOR", Pipeline: "running", Inbox: 7, Breaker: "closed",
		StatusCodes: map[int]uint64{200: 3}, Errors: map[string]uint64{"timeout": 1}}
	ts := startTestServer(t, func(o *ServerOptions) {
		o.Health = func(context.Context) api.Health {
			mu.Lock()
			defer mu.Unlock()
			return health
		}
	})
	for _, tt := range []struct {
		pipeline, reason string
		code             int
	}{
		{"running", "", 200},
		{"paused", "Safe-e refused the API key", 503},
		{"stopped", "", 503},
	} {
		mu.Lock()
		health.Pipeline, health.PauseReason = tt.pipeline, tt.reason
		mu.Unlock()
		resp, b := ts.do(t, http.MethodGet, "/healthz", nil, nil)
		if resp.StatusCode != tt.code || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("pipeline %s: status %d %q, want %d JSON", tt.pipeline, resp.StatusCode, resp.Header.Get("Content-Type"), tt.code)
		}
		var got api.Health
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("healthz body: %v: %s", err, b)
		}
		if got.Pipeline != tt.pipeline || got.PauseReason != tt.reason || got.Inbox != 7 || got.StatusCodes[200] != 3 || got.Errors["timeout"] != 1 {
			t.Errorf("healthz = %+v", got)
		}
	}
	if resp, _ := ts.do(t, http.MethodPost, "/healthz", nil, nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d, want 405", resp.StatusCode)
	}
}

func TestServerMetricsEndpoint(t *testing.T) {
	ts := startTestServer(t, nil)
	ts.metrics.SetInboxDepthFunc(ts.db.InboxDepth)
	ts.post(t, nil, []byte("["+srvEvent("m1")+`,{"nope":1}]`))
	ts.do(t, http.MethodPost, "/api/v1/risk/login", nil, []byte(srvEvent("")))
	resp, b := ts.do(t, http.MethodGet, "/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	text := string(b)
	for _, want := range []string{
		`riskwatch_events_accepted_total{source="http"} 1`,
		`riskwatch_events_rejected_total{reason="missing_type",source="http"} 1`,
		`riskwatch_inbox_depth 1`,
		`riskwatch_proxy_requests_total{outcome="2xx"} 1`,
		`riskwatch_http_requests_total{code="202",route="events"} 1`,
		`riskwatch_store_commit_duration_seconds_count{op="enqueue"} 1`,
		"riskwatch_in_flight ",
		"riskwatch_safee_request_duration_seconds_bucket",
		"riskwatch_safee_retries_total ",
		"riskwatch_safee_breaker_state ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestServerNotFound(t *testing.T) {
	ts := startTestServer(t, nil)
	resp, b := ts.do(t, http.MethodGet, "/nope", nil, nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(srvErrorOf(t, resp, b), "POST /v1/events") {
		t.Errorf("unknown route: %d %s", resp.StatusCode, b)
	}
}

// TestServerGracefulShutdown cancels Serve's context while a proxy call is
// in progress: the call completes and is answered, then Serve returns nil.
func TestServerGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	ts := startTestServer(t, nil)
	srv, err := NewServer(ServerOptions{
		Logger: ts.srv.log, Health: ts.srv.opts.Health,
		Proxy: func(context.Context, safee.Route, string, []byte) ProxyAnswer {
			close(entered)
			<-release
			return ProxyAnswer{Status: http.StatusOK, Body: []byte(`{"risk":1}`)}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != "" {
		t.Errorf("Addr before Serve = %q, want empty", srv.Addr())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	answered := make(chan string, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/api/v1/risk/login", "application/json", strings.NewReader(srvEvent("")))
		if err != nil {
			answered <- err.Error()
			return
		}
		defer resp.Body.Close()
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		answered <- resp.Status + " " + line
	}()
	<-entered
	if srv.Addr() != ln.Addr().String() {
		t.Errorf("Addr = %q, want %q", srv.Addr(), ln.Addr())
	}
	cancel()
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v while a request was in progress", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if got := <-answered; got != `200 OK {"risk":1}` {
		t.Errorf("in-flight request got %q", got)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v, want nil after a graceful shutdown", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Errorf("still accepting connections after shutdown")
	}
}

// TestServerBusy fills the proxy's slots: a further proxy request is
// refused with 429 and Retry-After instead of queueing its body in memory,
// while ingest, which has slots of its own, is still served.
func TestServerBusy(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	ts := startTestServer(t, func(o *ServerOptions) {
		o.MaxConcurrent, o.MaxProxyConcurrent = 1, 1
		o.Proxy = func(context.Context, safee.Route, string, []byte) ProxyAnswer {
			close(entered)
			<-release
			return ProxyAnswer{Status: http.StatusOK, Body: []byte(`{}`)}
		}
	})
	done := make(chan int, 1)
	go func() {
		resp, err := http.Post(ts.url+"/api/v1/risk/login", "application/json", strings.NewReader(srvEvent("")))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered
	resp, b := ts.do(t, http.MethodPost, "/api/v1/filter/login", nil, []byte(srvEvent("busy")))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("proxy while busy: %d Retry-After %q, want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	} else if msg := srvErrorOf(t, resp, b); !strings.Contains(msg, "too many proxy requests in progress") {
		t.Errorf("proxy while busy: error %q", msg)
	}
	if resp, _ := ts.do(t, http.MethodPost, "/v1/events", nil, []byte(srvEvent("beside"))); resp.StatusCode != http.StatusAccepted {
		t.Errorf("ingest while the proxy is busy: %d, want 202 (its own slots)", resp.StatusCode)
	}
	if resp, _ := ts.do(t, http.MethodGet, "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz while busy: %d, want 200 (it reads no body)", resp.StatusCode)
	}
	close(release)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("the slow request ended with %d", code)
	}
	if resp, _ := ts.do(t, http.MethodPost, "/v1/events", nil, []byte(srvEvent("after"))); resp.StatusCode != http.StatusAccepted {
		t.Errorf("after the slot was freed: %d, want 202", resp.StatusCode)
	}
}

// TestServerRunListens: without a Listener, Run listens on Listen and
// serves as the HTTP source (ingest included) until its context ends; a
// taken port is an error; without an intake for "http" it does not serve.
func TestServerRunListens(t *testing.T) {
	ts := startTestServer(t, nil)
	srv, err := NewServer(ServerOptions{Listen: "127.0.0.1:0", Proxy: srvEchoProxy, Health: ts.srv.opts.Health})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(context.Background(), testIntake(t, ts.db, "file:/x", nil)); err == nil || !strings.Contains(err.Error(), "needs an intake") {
		t.Errorf("Run with another source's intake: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Run(ctx, testIntake(t, ts.db, srv.Name(), nil)) }()
	waitFor(t, "Run to start listening", 5*time.Second, func() bool { return srv.Addr() != "" })
	resp, err := http.Get("http://" + srv.Addr() + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	resp, err = http.Post("http://"+srv.Addr()+"/v1/events", "application/json", strings.NewReader(srvEvent("run-1")))
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("ingest: %d, want 202", resp.StatusCode)
	}
	if st := srv.Stats(); st.LinesRead != 1 || st.State != "listening" || st.Name != "http "+srv.Addr() {
		t.Errorf("stats while running = %+v", st)
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	if st := srv.Stats(); st.State != "stopped" {
		t.Errorf("state after Run = %q, want stopped", st.State)
	}
	busy, err := NewServer(ServerOptions{Listen: srv.Addr(), Proxy: srvEchoProxy, Health: ts.srv.opts.Health})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", srv.Addr())
	if err != nil {
		t.Skipf("cannot hold the port again: %v", err)
	}
	defer ln.Close()
	if err := busy.Run(context.Background(), testIntake(t, ts.db, busy.Name(), nil)); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Errorf("Run on a taken port: %v", err)
	}
}
