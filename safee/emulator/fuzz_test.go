package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzEmulator sends hostile paths and bodies: the emulator must never
// panic, must answer only 2xx or 4xx (no faults are configured), and must
// always answer JSON.
func FuzzEmulator(f *testing.F) {
	g, err := NewGenerator("mixed", 1, fixedClock)
	if err != nil {
		f.Fatal(err)
	}
	for range 6 {
		line := g.Next()
		var ev struct{ Type string }
		if err := json.Unmarshal(line, &ev); err != nil {
			f.Fatal(err)
		}
		f.Add("/risk/"+strings.TrimPrefix(ev.Type, "$"), line)
	}
	seeds := []struct{ path, body string }{
		{"/risk/login", validLogin},
		{"/filter/login", `{"type":"$login","status":"$failed","user":{"user_email":"x@mailinator.com","user_ip":"::ffff:192.0.2.1"}}`},
		{"/risk/login", ``},
		{"/risk/login", `null`},
		{"/risk/login", `{"type":"$login","user":{"user_id":"u","user_ip":"fe80::1%eth0"},"timestamp":"0000-01-01T00:00:00Z"}`},
		{"/risk/login", `{"type":"$login","user":{"user_id":"u"},"timestamp":"9999-12-31T23:59:59+14:00"}`},
		{"/risk/login", `{"type":"$login","user":{"user_id":"u","user_ip":"1.2.3.4"},"user_headers":{"user_agent":null}}`},
		{"/risk/login", `{"type":"$login","user":{"user_id":"u"},"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`},
		{"/risk/login", `{"type":"$login","type":"$other","user":{"user_id":"u"}}`},
		{"/risk/login", "{\"type\":\"$login\",\"user\":{\"user_id\":\"\\ud800\"}}"},
		{"/risk/login", `{"TYPE":"$login","USER":{"USER_ID":"u"}}`},
		{"/risk/login", `{"type":"$login","user":{"user_id":"u"},"n":1e999}`},
		{"/risk//login", `{}`},
		{"/filter/%00", `{}`},
		{"/risk/" + strings.Repeat("a", 65), `{}`},
	}
	for _, s := range seeds {
		f.Add(s.path, []byte(s.body))
	}
	e := New(Options{Seed: 1, MaxBody: 16 << 10, MaxEntries: 64, Now: fixedClock})
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		req.URL.Path = path
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code >= 500 || (rec.Code >= 300 && rec.Code < 400) {
			t.Fatalf("status %d for %q %q", rec.Code, path, body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", rec.Body.Bytes())
		}
		if rec.Code == http.StatusOK {
			var r response
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			for _, v := range []int{r.Risk, r.AccountAbuse, r.AccountTakeover, r.Bot} {
				if v < 0 || v > 100 {
					t.Fatalf("score %d out of range: %s", v, rec.Body.Bytes())
				}
			}
			if r.Signals == nil || len(r.IPCountry) != 2 {
				t.Fatalf("shape: %s", rec.Body.Bytes())
			}
			switch r.Policy.Action {
			case "Allow", "Challenge", "Deny":
			default:
				t.Fatalf("action %q", r.Policy.Action)
			}
		}
	})
}
