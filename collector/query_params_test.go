package collector

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
)

// readServer is a server with a Reader over a test store holding a few
// decisions, driven through its Handler.
func readServer(tb testing.TB) *Server {
	tb.Helper()
	db := openTestStore(tb)
	hub := NewHub()
	tb.Cleanup(hub.Close)
	health := func(context.Context) api.Health { return api.Health{Mode: ModeEmulator, Pipeline: PipelineRunning} }
	srv, err := NewServer(ServerOptions{Proxy: srvEchoProxy, Health: health, Logger: slog.New(slog.DiscardHandler),
		Reader: &Reader{db: db, hub: hub, health: health, now: time.Now}})
	if err != nil {
		tb.Fatal(err)
	}
	completeN(tb, db, "p", 5)
	return srv
}

// serve runs one request through h.
func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", nil)
	u, err := url.ParseRequestURI(path)
	if err != nil {
		u = &url.URL{Path: path}
	}
	req.URL, req.RequestURI = u, path
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestQueryBadParameters(t *testing.T) {
	h := readServer(t).Handler()
	cases := []struct {
		path   string
		status int
		want   string
	}{
		{"/v1/decisions/latest?n=abc", 400, `n: want a whole number, got "abc"`},
		{"/v1/decisions/latest?n=1e3", 400, "n: want a whole number"},
		{"/v1/decisions?from=yesterday", 400, `from: want an RFC 3339 time such as 2026-11-25T10:00:00Z, got "yesterday"`},
		{"/v1/decisions?to=2026-13-01T00:00:00Z", 400, "to: want an RFC 3339 time"},
		{"/v1/decisions?reverse=maybe", 400, `reverse: want true or false, got "maybe"`},
		{"/v1/decisions?cursor=zz", 400, `bad cursor "zz": want the Next of a page or a decision ID`},
		{"/v1/decisions?limit=1&limit=2", 400, `parameter "limit" given 2 times`},
		{"/v1/decisions?bogus=1", 400, `unknown parameter "bogus" (/v1/decisions takes from, to, reverse, limit, cursor, filter, as_of)`},
		{"/v1/decisions?filter=%zz", 400, "bad query string"},
		{"/v1/stats?filter=" + url.QueryEscape("risk>=abc"), 400, `filter: `},
		{"/v1/stats?filter=" + url.QueryEscape("risk>=abc"), 400, `"abc" is not a number`},
		{"/v1/histogram", 400, "score: required"},
		{"/v1/histogram?score=karma", 400, `score: unknown score "karma"`},
		{"/v1/whatif?score=risk&challenge=NaN&deny=80", 400, `challenge: want a finite number such as 70, got "NaN"`},
		{"/v1/whatif?score=risk&challenge=50", 400, `deny: required`},
		{"/v1/flips?score=bot&challenge=1&deny=+Inf", 400, "deny: want a finite number"},
		{"/v1/users?sort=oldest", 400, `sort: unknown sort "oldest" (want last_seen, max_risk or denies)`},
		{"/v1/health?x=1", 400, `unknown parameter "x" (/v1/health takes no parameters)`},
		{"/v1/decisions/" + strings.Repeat("0", 32), 404, "not found"},
		{"/v1/decisions/%2E%2E", 404, "not found"},
		{"/v1/users/%2E%2E/journey?limit=5", 200, ""},
		{"/v1/users/a%2Fb/journey", 200, ""},
		{"/v1/nothing", 404, "GET /v1/decisions/latest, GET /v1/decisions/{id}, GET /v1/decisions,"},
	}
	for _, tc := range cases {
		rec := serve(h, http.MethodGet, tc.path)
		body := rec.Body.Bytes()
		if rec.Code != tc.status {
			t.Errorf("GET %s: status %d, want %d: %s", tc.path, rec.Code, tc.status, body)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: content type %q", tc.path, ct)
		}
		if tc.status == 200 {
			continue
		}
		var e api.WireError
		if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, tc.want) {
			t.Errorf("GET %s: error %q (%v), want it to contain %q", tc.path, e.Error, err, tc.want)
		}
		if tc.status == 404 && strings.HasPrefix(tc.path, "/v1/decisions/") && e.Code != api.CodeNotFound {
			t.Errorf("GET %s: code %q, want %q", tc.path, e.Code, api.CodeNotFound)
		}
	}
	rec := serve(h, http.MethodPost, "/v1/decisions/latest")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET" {
		t.Errorf("POST a read route: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestQueryRoutesAbsentWithoutReader(t *testing.T) {
	ts := startTestServer(t, nil)
	resp, body := ts.do(t, http.MethodGet, "/v1/decisions/latest", nil, nil)
	if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "read API") {
		t.Errorf("without a Reader: %d %s", resp.StatusCode, body)
	}
}

// FuzzQueryParams sends arbitrary query strings to the read routes that
// take parameters: every answer is 200 or a 400 with a JSON error, never a
// 500 or a panic.
func FuzzQueryParams(f *testing.F) {
	for _, seed := range []string{
		"", "n=5", "filter=action%3Adeny&n=3", "from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z",
		"reverse=1&limit=-4&cursor=" + strings.Repeat("a", 32), "score=ato&challenge=-1e308&deny=1e308",
		"sort=denies&search=%00&ip=::1&limit=99999999999999999999", "filter=%22", "a=1&a=2", "%",
		"from=0001-01-01T00:00:00Z", "to=9999-12-31T23:59:59.999999999Z", "filter=since%3A5m+user%3A..",
	} {
		for route := range 6 {
			f.Add(uint8(route), seed)
		}
	}
	h := readServer(f).Handler()
	routes := []string{"/v1/decisions", "/v1/decisions/latest", "/v1/whatif", "/v1/histogram", "/v1/stats", "/v1/users"}
	f.Fuzz(func(t *testing.T, route uint8, query string) {
		path := routes[int(route)%len(routes)]
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = &url.URL{Path: path, RawQuery: query}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest:
			var e api.WireError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("GET %s?%s: 400 without a JSON error: %q", path, query, rec.Body)
			}
		default:
			t.Fatalf("GET %s?%s: status %d: %s", path, query, rec.Code, rec.Body)
		}
	})
}
