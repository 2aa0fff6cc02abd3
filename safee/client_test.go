package safee

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestScoreSendsEventAndParsesAnswer(t *testing.T) {
	answer := `{"risk":55,"account_abuse":1,"account_takeover":70,"bot":2,"signals":["proxy_ip"],` +
		`"policy":{"name":"ATO","action":"Deny"},"request_id":"r-77","explain":{"top":["ip"]}}`
	var got struct {
		method, path, key, ctype string
		body                     []byte
	}
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path = r.Method, r.URL.Path
		got.key, got.ctype = r.Header.Get("Authorization-API"), r.Header.Get("Content-Type")
		got.body, _ = io.ReadAll(r.Body)
		status(http.StatusOK, answer)(w, r)
	})
	c, _ := newTestClient(t, srv, nil)
	ev := mustEvent(t, specLogin)

	res, err := c.Score(context.Background(), ev)
	if err != nil {
		t.Fatalf("Score: %v", err)
	}
	if got.method != http.MethodPost || got.path != "/api/v1/risk/login" {
		t.Errorf("request = %s %s, want POST /api/v1/risk/login", got.method, got.path)
	}
	if got.key != testKey || got.ctype != "application/json" {
		t.Errorf("headers Authorization-API=%q Content-Type=%q", got.key, got.ctype)
	}
	if !bytes.Equal(got.body, ev.Raw) || !bytes.Equal(res.Request, ev.Raw) {
		t.Errorf("body sent %q, Request %q; want the event's raw bytes", got.body, res.Request)
	}
	if res.HTTPStatus != 200 || res.Attempts != 1 || string(res.Body) != answer || res.Truncated {
		t.Errorf("status %d attempts %d truncated %v body %q", res.HTTPStatus, res.Attempts, res.Truncated, res.Body)
	}
	if res.URL != srv.URL+"/api/v1/risk/login" || res.Latency <= 0 {
		t.Errorf("URL %q latency %v", res.URL, res.Latency)
	}
	r := res.Response
	if r.Risk != 55 || r.AccountTakeover != 70 || r.Action != ActionDeny || r.Policy.Name != "ATO" {
		t.Errorf("response %+v", r)
	}
	if string(r.Raw) != answer || string(r.Extra["request_id"]) != `"r-77"` || string(r.Extra["explain"]) != `{"top":["ip"]}` {
		t.Errorf("unknown fields lost: raw %q extra %v", r.Raw, r.Extra)
	}
}

func TestScoreActionsAnyCase(t *testing.T) {
	for action, want := range map[string]Action{
		"allow": ActionAllow, "CHALLENGE": ActionChallenge, "DeNy": ActionDeny, "review": ActionUnknown,
	} {
		srv, _ := serve(t, status(200, `{"risk":25,"policy":{"name":"p","action":"`+action+`"}}`))
		c, _ := newTestClient(t, srv, nil)
		res, err := c.Score(context.Background(), mustEvent(t, specLogin))
		if err != nil || res.Response.Action != want {
			t.Errorf("action %q → %q, %v; want %q", action, res.Response.Action, err, want)
		}
	}
}

func TestScoreRoutes(t *testing.T) {
	tests := []struct {
		name, event, risk, filter, wantPath string
	}{
		{"risk", `{"type":"$login","status":"$succeeded"}`, "", "", "/api/v1/risk/login"},
		{"no status", `{"type":"$profile_update"}`, "", "", "/api/v1/risk/profile_update"},
		{"failed", `{"type":"$login","status":"$failed"}`, "", "", "/api/v1/filter/login"},
		{"attempted", `{"type":"$registration","status":"$attempted"}`, "", "", "/api/v1/filter/registration"},
		{"upper case type", `{"type":"$LOGIN","status":"$succeeded"}`, "", "", "/api/v1/risk/login"},
		{"custom risk route", `{"type":"$login"}`, "/v2/score/{event}", "/v2/pre/{event}", "/api/v1/v2/score/login"},
		{"custom filter route", `{"type":"$login","status":"$failed"}`, "/v2/score/{event}", "/v2/pre/{event}", "/api/v1/v2/pre/login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path atomic.Value
			srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
				path.Store(r.URL.RawPath + "|" + r.URL.Path)
				status(200, `{"risk":1}`)(w, r)
			})
			c, _ := newTestClient(t, srv, func(cfg *Config) {
				cfg.RiskRoute, cfg.FilterRoute = tt.risk, tt.filter
			})
			if _, err := c.Score(context.Background(), mustEvent(t, tt.event)); err != nil {
				t.Fatalf("Score: %v", err)
			}
			if got := path.Load(); got != "|"+tt.wantPath {
				t.Errorf("path = %q, want %q", got, tt.wantPath)
			}
		})
	}
}

func TestScorePermanentErrors(t *testing.T) {
	tests := []struct {
		code   int
		body   string
		kind   Kind
		reason string
		detail string
	}{
		{401, `{"error":"invalid API key ` + testKey + `"}`, KindUnauthorized, "unauthorized", "rejected the API key"},
		{403, `{"error":"key disabled"}`, KindUnauthorized, "unauthorized", "key disabled"},
		{400, `{"error":"malformed body"}`, KindBadEvent, "bad_event", "malformed body"},
		{422, `{"error":"user.user_ip is required"}`, KindBadEvent, "bad_event", "user.user_ip is required"},
		{404, `not found`, KindBadEvent, "bad_event", "HTTP 404"},
		{302, ``, KindBadResponse, "bad_response", "unexpected status"},
		{200, `{"risk":`, KindBadResponse, "bad_response", "not JSON"},
		{200, `<html>oops</html>`, KindBadResponse, "bad_response", "not JSON"},
		{200, `{"risk":250}`, KindBadResponse, "bad_response", "outside 0-100"},
		{204, ``, KindBadResponse, "bad_response", "empty input"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code, tt.detail), func(t *testing.T) {
			srv, calls := serve(t, status(tt.code, tt.body, "Location", "http://127.0.0.1:1/elsewhere"))
			c, clk := newTestClient(t, srv, nil)
			res, err := c.Score(context.Background(), mustEvent(t, specLogin))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Kind != tt.kind || e.Reason() != tt.reason || KindOf(err) != tt.kind {
				t.Errorf("kind %v reason %q, want %v %q", e.Kind, e.Reason(), tt.kind, tt.reason)
			}
			if e.Status != tt.code || res.HTTPStatus != tt.code || e.Attempts != 1 || calls.count() != 1 {
				t.Errorf("status %d/%d attempts %d calls %d; want %d once", e.Status, res.HTTPStatus, e.Attempts, calls.count(), tt.code)
			}
			if sleeps, _ := clk.recorded(); len(sleeps) != 0 {
				t.Errorf("slept %v before a permanent error", sleeps)
			}
			if !strings.Contains(e.Error(), tt.detail) || !strings.Contains(e.Error(), "/api/v1/risk/login") {
				t.Errorf("message %q lacks %q or the URL", e.Error(), tt.detail)
			}
			if want := strings.ReplaceAll(tt.body, testKey, "[REDACTED]"); string(res.Body) != want {
				t.Errorf("Body = %q, want Safe-e's body unchanged but for the key: %q", res.Body, want)
			}
			assertNoKey(t, err)
		})
	}
}

func TestScoreRedactsKeyEchoedBySafee(t *testing.T) {
	srv, _ := serve(t, status(401, `{"error":"bad key `+testKey+`", "hint":"`+testKey[:10]+`"}`, "X-Echo", "key="+testKey))
	c, _ := newTestClient(t, srv, nil)
	res, err := c.Score(context.Background(), mustEvent(t, specLogin))
	if err == nil || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Fatalf("err = %v, want the echoed key redacted", err)
	}
	assertNoKey(t, err)
	if strings.Contains(string(res.Body), testKey) || strings.Contains(res.Header.Get("X-Echo"), testKey) {
		t.Errorf("the echoed key is in the result: body %s, header %q", res.Body, res.Header.Get("X-Echo"))
	}
	if res.Redacted != 2 {
		t.Errorf("Redacted = %d, want 2 (body and header)", res.Redacted)
	}
}

func TestScoreSnippetIsBounded(t *testing.T) {
	body := `{"error":"` + strings.Repeat("é", 2000) + "\n\x1b[31m" + `"}`
	srv, _ := serve(t, status(422, body))
	c, _ := newTestClient(t, srv, nil)
	_, err := c.Score(context.Background(), mustEvent(t, specLogin))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if len(msg) > 400 || !strings.HasSuffix(msg, "…") || strings.ContainsAny(msg, "\n\x1b") {
		t.Errorf("message not bounded to one line (%d bytes): %q", len(msg), msg)
	}
	if !strings.Contains(msg, "éé") || strings.ContainsRune(msg, '\uFFFD') {
		t.Errorf("snippet cut inside a rune: %q", msg)
	}
}

func TestScoreRetriesThenSucceeds(t *testing.T) {
	srv, calls := serve(t,
		status(500, `{"error":"internal"}`),
		status(503, `{"error":"unavailable"}`),
		status(200, `{"risk":5,"policy":{"action":"Allow"}}`),
	)
	c, clk := newTestClient(t, srv, nil)
	res, err := c.Score(context.Background(), mustEvent(t, specLogin))
	if err != nil {
		t.Fatalf("Score: %v", err)
	}
	if res.Attempts != 3 || calls.count() != 3 || res.HTTPStatus != 200 || res.Response.Action != ActionAllow {
		t.Errorf("attempts %d calls %d status %d action %q", res.Attempts, calls.count(), res.HTTPStatus, res.Response.Action)
	}
	sleeps, ceilings := clk.recorded()
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}
	if fmt.Sprint(ceilings) != fmt.Sprint(want) || fmt.Sprint(sleeps) != fmt.Sprint(want) {
		t.Errorf("ceilings %v sleeps %v, want %v", ceilings, sleeps, want)
	}
}

func TestScoreGivesUpAfterMaxAttempts(t *testing.T) {
	for _, code := range []int{429, 500, 502, 503, 504, 408} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv, calls := serve(t, status(code, `{"error":"busy"}`))
			c, clk := newTestClient(t, srv, func(cfg *Config) {
				cfg.MaxAttempts = 5
				cfg.BaseBackoff, cfg.MaxBackoff = 100*time.Millisecond, 300*time.Millisecond
			})
			res, err := c.Score(context.Background(), mustEvent(t, specLogin))
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindRetryable || e.Reason() != "retryable" {
				t.Fatalf("err = %v, want retryable", err)
			}
			if e.Attempts != 5 || res.Attempts != 5 || calls.count() != 5 || e.Status != code {
				t.Errorf("attempts %d/%d calls %d status %d", e.Attempts, res.Attempts, calls.count(), e.Status)
			}
			if !strings.Contains(e.Error(), "after 5 attempts") || !strings.Contains(e.Error(), "busy") {
				t.Errorf("message %q", e.Error())
			}
			assertNoKey(t, err)
			_, ceilings := clk.recorded()
			want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
			if fmt.Sprint(ceilings) != fmt.Sprint(want) {
				t.Errorf("backoff ceilings %v, want %v (capped at MaxBackoff)", ceilings, want)
			}
		})
	}
}

func TestScoreHonoursRetryAfter(t *testing.T) {
	date := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name     string
		header   string
		min, max time.Duration
	}{
		{"seconds", "3", 3 * time.Second, 3 * time.Second},
		{"zero", "0", 0, 0},
		{"seconds over the cap", "3600", 10 * time.Second, 10 * time.Second},
		{"huge seconds", "99999999999999999999999", 10 * time.Second, 10 * time.Second},
		{"date", date(6 * time.Second), 4 * time.Second, 6 * time.Second},
		{"date over the cap", date(time.Hour), 10 * time.Second, 10 * time.Second},
		{"date in the past", date(-time.Hour), 0, 0},
		{"unreadable: backoff instead", "soon", 100 * time.Millisecond, 100 * time.Millisecond},
		{"negative: backoff instead", "-5", 100 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := serve(t,
				status(429, `{"error":"slow down"}`, "Retry-After", tt.header),
				status(200, `{"risk":1}`),
			)
			c, clk := newTestClient(t, srv, func(cfg *Config) { cfg.MaxRetryAfter = 10 * time.Second })
			if _, err := c.Score(context.Background(), mustEvent(t, specLogin)); err != nil {
				t.Fatalf("Score: %v", err)
			}
			sleeps, _ := clk.recorded()
			if calls.count() != 2 || len(sleeps) != 1 || sleeps[0] < tt.min || sleeps[0] > tt.max {
				t.Errorf("calls %d sleeps %v, want one in [%v, %v]", calls.count(), sleeps, tt.min, tt.max)
			}
		})
	}
}

func TestScoreAttemptTimeout(t *testing.T) {
	srv, calls := serve(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	c, clk := newTestClient(t, srv, func(cfg *Config) {
		cfg.Timeout = 50 * time.Millisecond
		cfg.MaxAttempts = 2
	})
	res, err := c.Score(context.Background(), mustEvent(t, specLogin))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRetryable || !e.Timeout || e.Reason() != "timeout" {
		t.Fatalf("err = %#v, want a retryable timeout", err)
	}
	if res.Attempts != 2 || calls.count() != 2 || res.HTTPStatus != 0 {
		t.Errorf("attempts %d calls %d status %d", res.Attempts, calls.count(), res.HTTPStatus)
	}
	if sleeps, _ := clk.recorded(); len(sleeps) != 1 {
		t.Errorf("sleeps %v, want one between the attempts", sleeps)
	}
	if !strings.Contains(e.Error(), "timed out after 50ms") {
		t.Errorf("message %q", e.Error())
	}
	assertNoKey(t, err)
}

func TestScoreSlowBodyTimesOut(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"risk":`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	c, _ := newTestClient(t, srv, func(cfg *Config) {
		cfg.Timeout = 50 * time.Millisecond
		cfg.MaxAttempts = 1
	})
	_, err := c.Score(context.Background(), mustEvent(t, specLogin))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRetryable || !e.Timeout || e.Status != 200 {
		t.Fatalf("err = %#v, want a retryable timeout after HTTP 200", err)
	}
}

func TestScoreCanceledWhileWaitingForAnswer(t *testing.T) {
	started := make(chan struct{})
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.Timeout = time.Minute })
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	begin := time.Now()
	res, err := c.Score(ctx, mustEvent(t, specLogin))
	if KindOf(err) != KindCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled wrapping context.Canceled", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("returned after %v, want promptly", took)
	}
	if res.Attempts != 1 || !strings.Contains(err.Error(), "canceled after 1 attempt") {
		t.Errorf("attempts %d, message %q", res.Attempts, err)
	}
	assertNoKey(t, err)
}

func TestScoreCanceledWhileBackingOff(t *testing.T) {
	srv, calls := serve(t, status(503, `{}`))
	c, err := New(Config{BaseURL: srv.URL, APIKey: testKey, BaseBackoff: time.Hour, MaxBackoff: time.Hour, Jitter: func(d time.Duration) time.Duration { return d }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Score(ctx, mustEvent(t, specLogin))
		done <- err
	}()
	waitFor(t, "the first attempt", func() bool { return calls.count() == 1 })
	cancel()
	select {
	case err := <-done:
		if KindOf(err) != KindCanceled || !strings.Contains(err.Error(), "waiting to retry") {
			t.Errorf("err = %v, want canceled while waiting to retry", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Score did not return after cancel")
	}
}

func TestScoreDeadlineAlreadyPassed(t *testing.T) {
	srv, calls := serve(t, status(200, `{"risk":1}`))
	c, _ := newTestClient(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := c.Score(ctx, mustEvent(t, specLogin))
	if KindOf(err) != KindCanceled || res.Attempts != 0 || calls.count() != 0 {
		t.Errorf("err %v attempts %d calls %d, want canceled before sending", err, res.Attempts, calls.count())
	}
}

func TestScoreConnectionError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, clk := newTestClient(t, srv, nil)
	res, err := c.Score(context.Background(), mustEvent(t, specLogin))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRetryable || e.Reason() != "network" || e.Status != 0 {
		t.Fatalf("err = %v, want retryable network error", err)
	}
	if res.Attempts != 3 || !strings.Contains(e.Error(), "connection error") {
		t.Errorf("attempts %d message %q", res.Attempts, e)
	}
	if sleeps, _ := clk.recorded(); len(sleeps) != 2 {
		t.Errorf("sleeps %v, want 2", sleeps)
	}
	assertNoKey(t, err)
}

func TestScoreBodyLimit(t *testing.T) {
	huge := `{"risk":1,"pad":"` + strings.Repeat("x", 2<<20) + `"}`
	t.Run("default limit", func(t *testing.T) {
		srv, _ := serve(t, status(200, huge))
		c, _ := newTestClient(t, srv, nil)
		res, err := c.Score(context.Background(), mustEvent(t, specLogin))
		if KindOf(err) != KindBadResponse || !res.Truncated || len(res.Body) != DefaultMaxResponseBytes {
			t.Errorf("err %v truncated %v body %d bytes", err, res.Truncated, len(res.Body))
		}
		if err != nil && !strings.Contains(err.Error(), "over 1048576 bytes") {
			t.Errorf("message %q", err)
		}
	})
	t.Run("exactly the limit", func(t *testing.T) {
		body := `{"risk":1,"pad":"` + strings.Repeat("x", 100) + `"}`
		srv, _ := serve(t, status(200, body))
		c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.MaxResponseBytes = int64(len(body)) })
		res, err := c.Score(context.Background(), mustEvent(t, specLogin))
		if err != nil || res.Truncated || string(res.Body) != body {
			t.Errorf("err %v truncated %v", err, res.Truncated)
		}
	})
	t.Run("error status keeps its kind", func(t *testing.T) {
		srv, _ := serve(t, status(422, huge))
		c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.MaxResponseBytes = 1024 })
		res, err := c.Score(context.Background(), mustEvent(t, specLogin))
		if KindOf(err) != KindBadEvent || !res.Truncated || len(res.Body) != 1024 {
			t.Errorf("err %v truncated %v body %d", err, res.Truncated, len(res.Body))
		}
	})
}

func TestScoreDoesNotFollowRedirects(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(true)
	}))
	t.Cleanup(other.Close)
	for _, code := range []int{301, 302, 307, 308} {
		srv, _ := serve(t, status(code, ``, "Location", other.URL+"/steal"))
		c, _ := newTestClient(t, srv, nil)
		_, err := c.Score(context.Background(), mustEvent(t, specLogin))
		if KindOf(err) != KindBadResponse {
			t.Errorf("%d: err = %v, want bad_response", code, err)
		}
	}
	if leaked.Load() {
		t.Error("a redirect was followed: the key went to another host")
	}
}

func TestScoreRejectsUnsendableEvents(t *testing.T) {
	srv, calls := serve(t, status(200, `{"risk":1}`))
	c, _ := newTestClient(t, srv, nil)
	for _, ev := range []Event{
		{},
		{Type: "$../admin", Raw: []byte(`{}`)},
		{Type: "", Raw: []byte(`{}`)},
	} {
		_, err := c.Score(context.Background(), ev)
		if KindOf(err) != KindBadEvent {
			t.Errorf("%+v: err = %v, want bad_event", ev, err)
		}
	}
	if calls.count() != 0 {
		t.Errorf("%d requests sent for unsendable events", calls.count())
	}
}

func TestForward(t *testing.T) {
	t.Run("passes the body and answer through", func(t *testing.T) {
		body := []byte(`{"type":"$login", "odd spacing" : true}`)
		var got []byte
		var path string
		srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
			got, _ = io.ReadAll(r.Body)
			path = r.URL.Path
			status(200, `{"risk":3,"policy":{"action":"allow"},"x":1}`, "X-Request-Id", "abc")(w, r)
		})
		c, _ := newTestClient(t, srv, nil)
		res, err := c.Forward(context.Background(), RouteFilter, "$login", body)
		if err != nil {
			t.Fatalf("Forward: %v", err)
		}
		if !bytes.Equal(got, body) || path != "/api/v1/filter/login" {
			t.Errorf("sent %q to %s", got, path)
		}
		if string(res.Body) != `{"risk":3,"policy":{"action":"allow"},"x":1}` || res.Header.Get("X-Request-Id") != "abc" {
			t.Errorf("body %q header %v", res.Body, res.Header)
		}
		if res.Response.Action != ActionAllow || res.Response.Risk != 3 {
			t.Errorf("parsed %+v", res.Response)
		}
	})
	t.Run("no retry, status and body unchanged", func(t *testing.T) {
		for _, code := range []int{422, 429, 503} {
			srv, calls := serve(t, status(code, `{"error":"nope"}`, "Retry-After", "7"))
			c, clk := newTestClient(t, srv, nil)
			res, err := c.Forward(context.Background(), RouteRisk, "login", []byte(`{"type":"$login"}`))
			if err == nil || res.HTTPStatus != code || string(res.Body) != `{"error":"nope"}` || res.Header.Get("Retry-After") != "7" {
				t.Errorf("%d: err %v status %d body %q", code, err, res.HTTPStatus, res.Body)
			}
			if sleeps, _ := clk.recorded(); calls.count() != 1 || res.Attempts != 1 || len(sleeps) != 0 {
				t.Errorf("%d: calls %d attempts %d sleeps %v, want exactly one attempt", code, calls.count(), res.Attempts, sleeps)
			}
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c, _ := newTestClient(t, srv, nil)
		res, err := c.Forward(context.Background(), RouteRisk, "login", []byte(`{}`))
		if KindOf(err) != KindRetryable || res.HTTPStatus != 0 || res.Attempts != 1 {
			t.Errorf("err %v status %d attempts %d", err, res.HTTPStatus, res.Attempts)
		}
	})
	t.Run("hostile names and routes", func(t *testing.T) {
		srv, calls := serve(t, status(200, `{}`))
		c, _ := newTestClient(t, srv, nil)
		for _, tt := range []struct {
			route Route
			event string
		}{
			{RouteRisk, "../admin"}, {RouteRisk, "login/x"}, {RouteRisk, "login%2f"}, {RouteRisk, ""},
			{"admin", "login"}, {"", "login"},
		} {
			if _, err := c.Forward(context.Background(), tt.route, tt.event, []byte(`{}`)); KindOf(err) != KindBadEvent {
				t.Errorf("%q %q: err = %v, want bad_event", tt.route, tt.event, err)
			}
		}
		if calls.count() != 0 {
			t.Errorf("%d requests sent", calls.count())
		}
	})
}

func TestConcurrencyBound(t *testing.T) {
	const limit, total = 3, 12
	var mu sync.Mutex
	inflight, peak := 0, 0
	release := make(chan struct{})
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		<-release
		mu.Lock()
		inflight--
		mu.Unlock()
		status(200, `{"risk":1}`)(w, r)
	})
	c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.Concurrency = limit })
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for range total {
		wg.Go(func() {
			_, err := c.Score(context.Background(), mustEvent(t, specLogin))
			errs <- err
		})
	}
	current := func() int { mu.Lock(); defer mu.Unlock(); return inflight }
	for left := total; left > 0; left-- {
		waitFor(t, "requests in flight", func() bool { return current() >= min(limit, left) })
		release <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Score: %v", err)
		}
	}
	if peak != limit {
		t.Errorf("peak concurrency %d, want %d", peak, limit)
	}
}

func TestRateLimit(t *testing.T) {
	const rps, n = 40.0, 9
	srv, calls := serve(t, status(200, `{"risk":1}`))
	c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.RateLimit = rps })
	begin := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := c.Score(context.Background(), mustEvent(t, specLogin)); err != nil {
				t.Errorf("Score: %v", err)
			}
		})
	}
	wg.Wait()
	// A burst of 1 lets the first request go at once and each other one
	// 1/rps after the previous.
	if took, least := time.Since(begin), time.Duration(float64(n-1)/rps*float64(time.Second)); took < least {
		t.Errorf("%d requests took %v, want at least %v at %v/s", calls.count(), took, least, rps)
	}
}

func TestRateLimitRespectsContext(t *testing.T) {
	srv, calls := serve(t, status(200, `{"risk":1}`))
	c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.RateLimit = 0.001 })
	if _, err := c.Score(context.Background(), mustEvent(t, specLogin)); err != nil {
		t.Fatalf("first Score: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Score(ctx, mustEvent(t, specLogin))
	if KindOf(err) != KindCanceled || calls.count() != 1 {
		t.Errorf("err %v calls %d, want canceled waiting for the rate limit", err, calls.count())
	}
}

// assertNoKey fails if the key shows up in any rendering of err.
func assertNoKey(t *testing.T, err error) {
	t.Helper()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if s := fmt.Sprintf(verb, err); strings.Contains(s, testKey) {
			t.Errorf("key in %s of the error: %s", verb, s)
		}
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), testKey) {
			t.Errorf("key in a wrapped error: %v", e)
		}
	}
}
