package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

const testToken = "tok-never-shown"

// dial returns a Remote for url with test-sized timeouts.
func dial(t *testing.T, url string, opts RemoteOptions) *Remote {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = 5*time.Millisecond, 50*time.Millisecond
	}
	r, err := Dial(url, testToken, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestDialRefusesBadInput(t *testing.T) {
	cases := []struct{ url, token, want string }{
		{"ftp://host", "", "want http:// or https://"},
		{"http://", "", "no host"},
		{"http://user:" + testToken + "@host", "", "credentials in the URL"},
		{"http://host/?x=1", "", "no query or fragment"},
		{"http://host/#f", "", "no query or fragment"},
		{"http://host\x7f", "", "collector URL"},
		{"http://host", "a b", "the token contains a space"},
	}
	for _, tc := range cases {
		_, err := Dial(tc.url, tc.token, RemoteOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Dial(%q): %v, want %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), testToken) {
			t.Errorf("Dial(%q) shows the token: %v", tc.url, err)
		}
	}
	r, err := Dial("http://127.0.0.1:7676/", "", RemoteOptions{})
	if err != nil || r.URL() != "http://127.0.0.1:7676" {
		t.Errorf("Dial: %v, URL %q", err, r.URL())
	}
}

// recorder is a fake collector that records each request and answers
// with answer.
type recorder struct {
	mu     sync.Mutex
	reqs   []*http.Request
	answer func(w http.ResponseWriter, r *http.Request)
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, r)
	rc.mu.Unlock()
	rc.answer(w, r)
}

func (rc *recorder) last() *http.Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.reqs[len(rc.reqs)-1]
}

func TestRemoteRequestsOnTheWire(t *testing.T) {
	rc := &recorder{answer: func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/journey"), strings.HasSuffix(r.URL.Path, "/latest"),
			r.URL.Path == "/base/v1/flips", r.URL.Path == "/base/v1/users", r.URL.Path == "/base/v1/rates":
			fmt.Fprint(w, "[]")
		case r.URL.Path == "/base/v1/decisions":
			fmt.Fprint(w, `{"decisions":[]}`)
		default:
			fmt.Fprint(w, "{}")
		}
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	r := dial(t, srv.URL+"/base", RemoteOptions{})
	ctx := context.Background()
	from := time.Date(2026, 11, 25, 10, 0, 0, 5, time.FixedZone("X", 3600))
	to := from.Add(time.Hour)
	thAbuse := decision.Thresholds{Score: decision.ScoreAbuse, Challenge: 49.5, Deny: 80}
	thBot := thAbuse
	thBot.Score = decision.ScoreBot

	cases := []struct {
		name     string
		call     func() error
		path     string // escaped
		query    url.Values
		unsentOK bool // the call answers without a request
	}{
		{"Latest", func() error {
			_, err := r.Latest(ctx, LatestQuery{Filter: "action:deny ip:10.0.0.0/8", N: 7, Before: id(9)})
			return err
		}, "/base/v1/decisions/latest", url.Values{"n": {"7"}, "filter": {"action:deny ip:10.0.0.0/8"}, "before": {id(9)}}, false},
		{"Latest default", func() error { _, err := r.Latest(ctx, LatestQuery{N: 100}); return err },
			"/base/v1/decisions/latest", url.Values{}, false},
		{"Latest none", func() error { _, err := r.Latest(ctx, LatestQuery{}); return err },
			"/base/v1/decisions/latest", url.Values{"n": {"0"}}, false},
		{"Decision", func() error { _, err := r.Decision(ctx, "../../x y"); return err },
			"/base/v1/decisions/%2E%2E%2F%2E%2E%2Fx%20y", url.Values{}, false},
		{"Range", func() error {
			_, err := r.Range(ctx, RangeQuery{From: from, To: to, Reverse: true, Limit: 3, Cursor: "c", Filter: "f"})
			return err
		}, "/base/v1/decisions", url.Values{"from": {"2026-11-25T09:00:00.000000005Z"}, "to": {"2026-11-25T10:00:00.000000005Z"},
			"reverse": {"true"}, "limit": {"3"}, "cursor": {"c"}, "filter": {"f"}}, false},
		{"Range zero", func() error { _, err := r.Range(ctx, RangeQuery{}); return err }, "/base/v1/decisions", url.Values{}, false},
		{"Journey", func() error { _, err := r.Journey(ctx, JourneyQuery{User: "a/b?c#d.", Limit: 3}); return err },
			"/base/v1/users/a%2Fb%3Fc%23d%2E/journey", url.Values{"limit": {"3"}}, false},
		{"Users", func() error {
			_, err := r.Users(ctx, UsersQuery{Sort: decision.SortMaxRisk, Search: "x&y", IP: "::1", Limit: 5})
			return err
		}, "/base/v1/users", url.Values{"sort": {"max_risk"}, "search": {"x&y"}, "ip": {"::1"}, "limit": {"5"}}, false},
		{"SearchUsers", func() error {
			_, err := r.SearchUsers(ctx, UsersQuery{Sort: decision.SortDenies, Search: "a@b.c", Limit: 1000})
			return err
		}, "/base/v1/users/search", url.Values{"sort": {"denies"}, "search": {"a@b.c"}, "limit": {"1000"}}, false},
		{"Rates", func() error { _, err := r.Rates(ctx, RatesQuery{From: from}); return err },
			"/base/v1/rates", url.Values{"from": {"2026-11-25T09:00:00.000000005Z"}}, false},
		{"Stats", func() error { _, err := r.Stats(ctx, StatsQuery{To: to, Filter: "-bot>=5"}); return err },
			"/base/v1/stats", url.Values{"to": {"2026-11-25T10:00:00.000000005Z"}, "filter": {"-bot>=5"}}, false},
		{"Histogram", func() error { _, err := r.Histogram(ctx, HistogramQuery{Score: decision.ScoreATO, To: to}); return err },
			"/base/v1/histogram", url.Values{"score": {"ato"}, "to": {"2026-11-25T10:00:00.000000005Z"}}, false},
		{"Histogram risk", func() error { _, err := r.Histogram(ctx, HistogramQuery{}); return err },
			"/base/v1/histogram", url.Values{"score": {"risk"}}, false},
		{"WhatIf", func() error { _, err := r.WhatIf(ctx, WhatIfQuery{Thresholds: thAbuse}); return err },
			"/base/v1/whatif", url.Values{"score": {"abuse"}, "challenge": {"49.5"}, "deny": {"80"}}, false},
		{"Flips", func() error {
			_, err := r.Flips(ctx, FlipsQuery{Thresholds: thBot, From: from, To: to, Limit: 9})
			return err
		},
			"/base/v1/flips", url.Values{"score": {"bot"}, "challenge": {"49.5"}, "deny": {"80"}, "limit": {"9"},
				"from": {"2026-11-25T09:00:00.000000005Z"}, "to": {"2026-11-25T10:00:00.000000005Z"}}, false},
		{"Health", func() error { _, err := r.Health(ctx); return err }, "/base/v1/health", url.Values{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			req := rc.last()
			if req.Method != http.MethodGet || req.URL.EscapedPath() != tc.path {
				t.Errorf("%s %s, want GET %s", req.Method, req.URL.EscapedPath(), tc.path)
			}
			if got := req.URL.Query(); !reflect.DeepEqual(got, tc.query) {
				t.Errorf("query %v, want %v", got, tc.query)
			}
			if got := req.Header.Get("Authorization"); got != "Bearer "+testToken {
				t.Errorf("Authorization %q", got)
			}
		})
	}
	n := len(rc.reqs)
	if ds, err := r.Journey(ctx, JourneyQuery{Limit: 5}); ds != nil || err != nil {
		t.Errorf("Journey of no user: %v, %v", ds, err)
	}
	if _, err := r.Decision(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Decision(\"\"): %v", err)
	}
	if _, err := r.Users(ctx, UsersQuery{Sort: 7}); err == nil || !strings.Contains(err.Error(), "unknown user sort 7") || !errors.Is(err, ErrInvalid) {
		t.Errorf("Users with an unknown sort: %v", err)
	}
	if _, err := r.Histogram(ctx, HistogramQuery{Score: 9}); err == nil || !strings.Contains(err.Error(), "score: unknown score 9") {
		t.Errorf("Histogram of an unknown score: %v", err)
	}
	if len(rc.reqs) != n {
		t.Errorf("calls that need no answer sent %d requests", len(rc.reqs)-n)
	}
}

func TestRemoteErrors(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/decisions/gone":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"decision gone: not found","code":"not_found"}`)
		case "/v1/decisions/latest":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"filter: risk>=abc: \"abc\" is not a number"}`)
		case "/v1/health":
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>\n  <h1>Bad   Gateway</h1> "+r.Header.Get("Authorization")+"\n</html>")
		case "/v1/stats":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid bearer token"}`)
		case "/v1/rates":
			fmt.Fprint(w, `{"not": "a list"}`)
		case "/v1/users":
			select {
			case <-block:
			case <-r.Context().Done():
			}
		default:
			fmt.Fprint(w, "{}")
		}
	}))
	defer srv.Close()
	r := dial(t, srv.URL, RemoteOptions{Timeout: 100 * time.Millisecond})
	ctx := context.Background()

	if ok, since, err := r.Connection(); ok || since.IsZero() || err != nil {
		t.Errorf("before any call: %v %v %v", ok, since, err)
	}
	_, err := r.Decision(ctx, "gone")
	var ae *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.Status != 404 || err.Error() != "decision gone: not found" {
		t.Errorf("404: %v", err)
	}
	if ok, _, _ := r.Connection(); !ok {
		t.Error("an error answer is still a connection")
	}
	_, err = r.Latest(ctx, LatestQuery{Filter: "risk>=abc", N: 1})
	if err == nil || err.Error() != `filter: risk>=abc: "abc" is not a number` || errors.Is(err, ErrNotFound) || !errors.Is(err, ErrInvalid) {
		t.Errorf("400: %v", err)
	}
	_, err = r.Health(ctx)
	if err == nil || err.Error() != "collector answered 502 Bad Gateway: <html> <h1>Bad Gateway</h1> Bearer [token] </html>" {
		t.Errorf("502: %v", err)
	}
	if ok, _, cerr := r.Connection(); ok || cerr == nil {
		t.Errorf("after a 502: %v %v", ok, cerr)
	}
	_, err = r.Stats(ctx, StatsQuery{})
	if !errors.As(err, &ae) || !ae.Unauthorized() {
		t.Errorf("401: %v", err)
	}
	if _, err = r.Rates(ctx, RatesQuery{}); err == nil || !strings.Contains(err.Error(), "decode the answer") {
		t.Errorf("undecodable answer: %v", err)
	}
	_, err = r.Users(ctx, UsersQuery{})
	if err == nil || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Errorf("timeout: %v", err)
	}
	if ok, _, cerr := r.Connection(); ok || cerr == nil || !strings.Contains(cerr.Error(), "no answer") {
		t.Errorf("after a timeout: %v %v", ok, cerr)
	}
	// A caller that gives up does not make the collector unreachable.
	if _, err := r.Histogram(ctx, HistogramQuery{}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Users(cctx, UsersQuery{}); err == nil {
		t.Error("a cancelled call succeeded")
	}
	if ok, _, _ := r.Connection(); !ok {
		t.Error("a cancelled call marked the collector unreachable")
	}

	srv.Close()
	_, err = r.Latest(ctx, LatestQuery{N: 1})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("closed server: %v", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error shows the token: %v", err)
	}
}

func TestWireDecisionRoundTrip(t *testing.T) {
	ds := []decision.Decision{
		{ID: "01", EventID: "e", Time: time.Unix(1, 5).UTC(), ReceivedAt: time.Unix(2, 0).UTC(), Type: "$login", UserID: "u",
			Risk: 12.25, Signals: []string{"a", "b"}, Action: decision.ActionDeny, Latency: 1500 * time.Microsecond,
			Request: json.RawMessage(`{"a": 1}` + "\n"), Response: json.RawMessage("<html>\xff\x00</html>")},
		{ID: "02", Signals: []string{}, Request: json.RawMessage{}, Action: decision.ActionError, Error: "boom"},
		{ID: "03"},
	}
	b, err := json.Marshal(WireDecisions(ds))
	if err != nil {
		t.Fatal(err)
	}
	var back []WireDecision
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := fromWire(back); !reflect.DeepEqual(got, ds) {
		t.Errorf("round trip:\n got  %#v\n want %#v", got, ds)
	}
	if WireDecisions(nil) != nil || fromWire(nil) != nil {
		t.Error("nil lists do not stay nil")
	}
	if !strings.Contains(string(b), `"latency_ns":1500000`) || !strings.Contains(string(b), `"user_id":"u"`) {
		t.Errorf("wire form %s", b)
	}
}

func TestUserSortNames(t *testing.T) {
	for _, s := range []decision.UserSort{decision.SortLastSeen, decision.SortMaxRisk, decision.SortDenies} {
		name, err := UserSortName(s)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParseUserSort(name); err != nil || back != s {
			t.Errorf("%d -> %q -> %d, %v", s, name, back, err)
		}
	}
	if _, err := ParseUserSort("LAST_SEEN"); err == nil {
		t.Error("sort names are exact")
	}
}

// TestRemoteIDsArriveIntact sends hostile IDs through a real ServeMux: each
// must arrive as one path segment, byte for byte.
func TestRemoteIDsArriveIntact(t *testing.T) {
	var mu sync.Mutex
	var got []string
	mux := http.NewServeMux()
	record := func(answer string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = append(got, r.PathValue("id"))
			mu.Unlock()
			fmt.Fprint(w, answer)
		}
	}
	mux.Handle("GET /v1/decisions/{id}", record("{}"))
	mux.Handle("GET /v1/users/{id}/journey", record("[]"))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	r := dial(t, srv.URL, RemoteOptions{})
	ids := []string{"..", ".", "../../v1/health", "a/b", "%2F", "?q=1#f", "a;b,c:d@e=f&g+h$i", "x y\tz", "é\x00\xff", "~-_."}
	for _, id := range ids {
		if _, err := r.Journey(context.Background(), JourneyQuery{User: id, Limit: 1}); err != nil {
			t.Fatalf("Journey(%q): %v", id, err)
		}
		if _, err := r.Decision(context.Background(), id); err != nil {
			t.Fatalf("Decision(%q): %v", id, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2*len(ids) {
		t.Fatalf("the server saw %d of %d requests: %q", len(got), 2*len(ids), got)
	}
	for i, id := range ids {
		if got[2*i] != id || got[2*i+1] != id {
			t.Errorf("sent %q, the server saw %q and %q", id, got[2*i], got[2*i+1])
		}
	}
}
