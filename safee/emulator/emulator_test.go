package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

const validLogin = `{"type":"$login","status":"$succeeded","user_headers":{"user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0","host":"shop.example.com","accept_language":"en-US","accept_encoding":"gzip","accept":"*/*"},"product":"web","user":{"user_id":"u1","user_email":"ann.lee@gmail.com","user_ip":"198.18.0.10"},"extra":{"kept":true}}`

func TestStatuses(t *testing.T) {
	_, srv := serve(t, Options{Key: "k3y", MaxBody: 1024, Now: fixedClock})
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		body   string
		want   int
		errStr string
	}{
		{"valid", "POST", "/risk/login", "k3y", validLogin, 200, ""},
		{"no key", "POST", "/risk/login", "", validLogin, 401, "unauthorized"},
		{"wrong key", "POST", "/risk/login", "k3y!", validLogin, 401, "unauthorized"},
		{"key prefix", "POST", "/risk/login", "k3", validLogin, 401, "unauthorized"},
		{"GET", "GET", "/risk/login", "k3y", "", 405, "method_not_allowed"},
		{"PUT", "PUT", "/filter/login", "k3y", validLogin, 405, "method_not_allowed"},
		{"unknown route", "POST", "/score/login", "k3y", validLogin, 404, "not_found"},
		{"no event", "POST", "/risk/", "k3y", validLogin, 404, "not_found"},
		{"bad event name", "POST", "/risk/Lo%2Fgin", "k3y", validLogin, 404, "not_found"},
		{"extra segment", "POST", "/risk/login/x", "k3y", validLogin, 404, "not_found"},
		{"empty body", "POST", "/risk/login", "k3y", "", 400, "bad_request"},
		{"not JSON", "POST", "/risk/login", "k3y", "type=$login", 400, "bad_request"},
		{"array", "POST", "/risk/login", "k3y", `[` + validLogin + `]`, 400, "bad_request"},
		{"string", "POST", "/risk/login", "k3y", `"$login"`, 400, "bad_request"},
		{"trailing data", "POST", "/risk/login", "k3y", validLogin + ` {}`, 400, "bad_request"},
		{"truncated", "POST", "/risk/login", "k3y", validLogin[:40], 400, "bad_request"},
		{"invalid UTF-8", "POST", "/risk/login", "k3y", `{"type":"$login","user":{"user_id":"\xff"}}`, 400, "bad_request"},
		{"too large", "POST", "/risk/login", "k3y", `{"type":"$login","pad":"` + strings.Repeat("x", 2000) + `"}`, 413, "body_too_large"},
		{"missing type", "POST", "/risk/login", "k3y", `{"user":{"user_id":"u1"}}`, 422, "invalid_event"},
		{"type without $", "POST", "/risk/login", "k3y", `{"type":"login","user":{"user_id":"u1"}}`, 422, "invalid_event"},
		{"type of another route", "POST", "/risk/login", "k3y", `{"type":"$transaction","user":{"user_id":"u1"}}`, 422, "invalid_event"},
		{"type is a number", "POST", "/risk/login", "k3y", `{"type":7,"user":{"user_id":"u1"}}`, 422, "invalid_event"},
		{"status without $", "POST", "/risk/login", "k3y", `{"type":"$login","status":"ok","user":{"user_id":"u1"}}`, 422, "invalid_event"},
		{"missing user", "POST", "/risk/login", "k3y", `{"type":"$login"}`, 422, "invalid_event"},
		{"null user", "POST", "/risk/login", "k3y", `{"type":"$login","user":null}`, 422, "invalid_event"},
		{"user is a string", "POST", "/risk/login", "k3y", `{"type":"$login","user":"u1"}`, 422, "invalid_event"},
		{"missing user_id", "POST", "/risk/login", "k3y", `{"type":"$login","user":{"user_email":"a@b.c"}}`, 422, "invalid_event"},
		{"numeric user_id", "POST", "/risk/login", "k3y", `{"type":"$login","user":{"user_id":42}}`, 422, "invalid_event"},
		{"bad IP", "POST", "/risk/login", "k3y", `{"type":"$login","user":{"user_id":"u1","user_ip":"999.1.1.1"}}`, 422, "invalid_event"},
		{"headers not an object", "POST", "/risk/login", "k3y", `{"type":"$login","user_headers":[],"user":{"user_id":"u1"}}`, 422, "invalid_event"},
		{"filter by email", "POST", "/filter/login", "k3y", `{"type":"$login","status":"$failed","user":{"user_email":"a@b.c"}}`, 200, ""},
		{"filter without user", "POST", "/filter/login", "k3y", `{"type":"$login","status":"$failed","user":{}}`, 422, "invalid_event"},
		{"type case differs", "POST", "/risk/login", "k3y", `{"type":"$Login","user":{"user_id":"u1"}}`, 200, ""},
		{"minimal", "POST", "/risk/custom", "k3y", `{"type":"$custom","user":{"user_id":"u1"}}`, 200, ""},
		{"bad timestamp ignored", "POST", "/risk/login", "k3y", `{"type":"$login","timestamp":12,"user":{"user_id":"u1"}}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.key != "" {
				req.Header.Set("Authorization-API", tt.key)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.want == 405 && resp.Header.Get("Allow") != "POST" {
				t.Errorf("405 without Allow: POST")
			}
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if tt.errStr != "" {
				if body["error"] != tt.errStr || body["message"] == "" {
					t.Errorf("error body %v, want error %q and a message", body, tt.errStr)
				}
			} else if _, ok := body["risk"]; !ok {
				t.Errorf("200 without risk: %v", body)
			}
		})
	}
}

func TestResponseShape(t *testing.T) {
	_, srv := serve(t, Options{Now: fixedClock})
	status, _, body := post(t, srv.Client(), srv.URL+"/risk/login", "", []byte(validLogin))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"account_abuse", "account_takeover", "bot", "ip_country", "policy", "risk", "signals"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	if string(raw["signals"]) != "[]" {
		t.Errorf("first login of a residential user: signals %s, want []", raw["signals"])
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.IPCountry != "US" || r.Policy.Name != PolicyName || r.Policy.Action != "Allow" {
		t.Errorf("got %+v", r)
	}
	for name, v := range map[string]int{"risk": r.Risk, "abuse": r.AccountAbuse, "ato": r.AccountTakeover, "bot": r.Bot} {
		if v < 0 || v > 100 {
			t.Errorf("%s = %d out of 0-100", name, v)
		}
	}
}

func TestHandlerPrefix(t *testing.T) {
	e := New(Options{Now: fixedClock})
	for _, prefix := range []string{"/api/v1", "api/v1/", "/api/v1/"} {
		srv := httptest.NewServer(e.Handler(prefix))
		status, _, body := post(t, srv.Client(), srv.URL+"/api/v1/risk/login", "", []byte(validLogin))
		if status != 200 {
			t.Errorf("prefix %q: status %d: %s", prefix, status, body)
		}
		for _, path := range []string{"/risk/login", "/api/v1risk/login", "/api/risk/login"} {
			if status, _, _ := post(t, srv.Client(), srv.URL+path, "", []byte(validLogin)); status != 404 {
				t.Errorf("prefix %q: %s got %d, want 404", prefix, path, status)
			}
		}
		srv.Close()
	}
	if e.Handler("") != http.Handler(e) || e.Handler("/") != http.Handler(e) {
		t.Error("an empty prefix should serve the emulator itself")
	}
}

func TestStatsCounts(t *testing.T) {
	e, srv := serve(t, Options{Key: "k", Now: fixedClock})
	post(t, srv.Client(), srv.URL+"/risk/login", "k", []byte(validLogin))
	post(t, srv.Client(), srv.URL+"/risk/login", "k", []byte(validLogin))
	post(t, srv.Client(), srv.URL+"/risk/login", "", []byte(validLogin))
	post(t, srv.Client(), srv.URL+"/risk/login", "k", []byte(`[]`))
	st := e.Stats()
	if st.Requests != 4 || st.ByStatus[200] != 2 || st.ByStatus[401] != 1 || st.ByStatus[400] != 1 {
		t.Fatalf("stats %+v", st)
	}
	st.ByStatus[200] = 99
	if e.Stats().ByStatus[200] != 2 {
		t.Error("Stats returned the live map")
	}
}

func TestRefusedRequestsLeaveStateAlone(t *testing.T) {
	// A rejected request (wrong key) for a user must not teach the emulator
	// the user: the next valid event is still the user's first.
	_, srv := serve(t, Options{Key: "k", Now: fixedClock})
	ev := testEvent{typ: "$login", status: "$succeeded", user: "u9", ip: "198.18.0.20", agent: "Mozilla/5.0 A"}
	post(t, srv.Client(), srv.URL+"/risk/login", "wrong", ev.line())
	ev.agent = "Mozilla/5.0 B"
	status, _, body := post(t, srv.Client(), srv.URL+"/risk/login", "k", ev.line())
	if status != 200 || !bytes.Contains(body, []byte(`"signals":[]`)) {
		t.Fatalf("status %d body %s, want a first-time answer without signals", status, body)
	}
}

func TestConcurrentRequests(t *testing.T) {
	e, srv := serve(t, Options{Seed: 2, ErrorRate: 0.1})
	g, err := NewGenerator("mixed", 2, fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	lines := make([][]byte, 400)
	for i := range lines {
		lines[i] = g.Next()
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(lines); i += 4 {
				req, err := http.NewRequest(http.MethodPost, srv.URL+pathFor(t, lines[i]), bytes.NewReader(lines[i]))
				if err != nil {
					t.Error(err)
					return
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode < 500 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	st := e.Stats()
	var answered uint64
	for _, n := range st.ByStatus {
		answered += n
	}
	if st.Requests != 400 || answered != 400 {
		t.Fatalf("stats %+v", st)
	}
}
