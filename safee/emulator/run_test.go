package emulator

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func newGen(t *testing.T, scenario string) *Generator {
	t.Helper()
	g, err := NewGenerator(scenario, 1, fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGenerateFast(t *testing.T) {
	var buf bytes.Buffer
	n, err := Generate(context.Background(), &buf, newGen(t, "mixed"), 2500, 0)
	if err != nil || n != 2500 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2500 || !strings.HasSuffix(buf.String(), "\n") {
		t.Fatalf("%d lines", len(lines))
	}
	// The same lines as calling Next directly.
	g := newGen(t, "mixed")
	for i, l := range lines {
		if want := string(g.Next()); l != want {
			t.Fatalf("line %d: %s, want %s", i, l, want)
		}
	}
}

func TestGeneratePaced(t *testing.T) {
	var buf bytes.Buffer
	start := time.Now()
	n, err := Generate(context.Background(), &buf, newGen(t, "normal"), 30, 200)
	if err != nil || n != 30 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	// 30 events at 200/s: the first at once, the rest over ~145 ms.
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("30 events at 200/s took %v", el)
	}
}

func TestGenerateStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	n, err := Generate(ctx, &buf, newGen(t, "normal"), 0, 50)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Count(buf.String(), "\n"); n == 0 || got != n {
		t.Fatalf("reported %d, wrote %d lines", n, got)
	}
	// Unpaced and unbounded: stops too.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := Generate(ctx2, &discard{}, newGen(t, "normal"), 0, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unpaced err = %v", err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestGenerateWriteError(t *testing.T) {
	_, err := Generate(context.Background(), &failingWriter{after: 1}, newGen(t, "normal"), 100_000, 0)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
}

// collector is a stub of the collector's ingest route.
type collector struct {
	mu       sync.Mutex
	events   []string
	batches  int
	throttle int    // answer 429 to this many requests first
	fail     int    // then this status, if set
	reject   bool   // reject the first event of each batch
	auth     string // the expected Authorization header
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.URL.Path != "/v1/events" || r.Method != http.MethodPost {
		http.Error(w, "not found", 404)
		return
	}
	if r.Header.Get("Authorization") != c.auth {
		http.Error(w, `{"error":"bad token"}`, 401)
		return
	}
	if r.Header.Get("Content-Type") != "application/x-ndjson" {
		http.Error(w, "content type", 415)
		return
	}
	if c.throttle > 0 {
		c.throttle--
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(429)
		return
	}
	if c.fail != 0 {
		http.Error(w, "{\"error\":\"inbox\nbroken\"}", c.fail)
		return
	}
	sc := bufio.NewScanner(r.Body)
	n := 0
	for sc.Scan() {
		c.events = append(c.events, sc.Text())
		n++
	}
	c.batches++
	w.WriteHeader(202)
	if c.reject {
		fmt.Fprintf(w, `{"accepted":%d,"ids":[],"rejected":[{"index":0,"error":"no type"}]}`, n-1)
		return
	}
	fmt.Fprintf(w, `{"accepted":%d,"ids":[]}`, n)
}

func TestPost(t *testing.T) {
	c := &collector{auth: "Bearer s3cret", throttle: 2}
	srv := httptest.NewServer(c)
	defer srv.Close()
	n, err := Post(context.Background(), srv.Client(), srv.URL, "s3cret", newGen(t, "bots"), 250, 0, 100)
	if err != nil || n != 250 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if len(c.events) != 250 || c.batches != 3 {
		t.Fatalf("collector got %d events in %d batches", len(c.events), c.batches)
	}
	g := newGen(t, "bots")
	for i, l := range c.events {
		if l != string(g.Next()) {
			t.Fatalf("event %d differs", i)
		}
	}
}

func TestPostPaced(t *testing.T) {
	c := &collector{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	start := time.Now()
	n, err := Post(context.Background(), nil, srv.URL+"/v1/events", "", newGen(t, "normal"), 40, 100, 0)
	if err != nil || n != 40 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("40 events at 100/s took %v", el)
	}
	if c.batches < 3 {
		t.Fatalf("paced events went out in %d batches", c.batches)
	}
}

func TestPostErrors(t *testing.T) {
	tests := []struct {
		name  string
		c     *collector
		token string
		want  []string
	}{
		{"bad token", &collector{auth: "Bearer right"}, "wrong", []string{"401", "ingest token"}},
		{"server error", &collector{fail: 503}, "", []string{"503", `inbox broken`}},
		{"rejected", &collector{reject: true}, "", []string{"rejected 1 of 10", "no type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.c)
			defer srv.Close()
			_, err := Post(context.Background(), srv.Client(), srv.URL, tt.token, newGen(t, "normal"), 10, 0, 10)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
	for _, bad := range []string{"ftp://x", "127.0.0.1:7676", "http://", "://"} {
		if _, err := Post(context.Background(), nil, bad, "", newGen(t, "normal"), 1, 0, 1); err == nil {
			t.Errorf("Post to %q: no error", bad)
		}
	}
}

func TestPostStopsDuringThrottle(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Post(ctx, srv.Client(), srv.URL, "", newGen(t, "normal"), 5, 0, 5)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              time.Second,
		"3":                             3 * time.Second,
		"0":                             100 * time.Millisecond,
		"-5":                            100 * time.Millisecond,
		"99999999999999":                time.Minute,
		"soon":                          time.Second,
		"Thu, 01 Jan 2026 00:00:07 GMT": 7 * time.Second,
		"Wed, 31 Dec 2025 00:00:00 GMT": 100 * time.Millisecond,
	}
	for in, want := range tests {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestEventsURL(t *testing.T) {
	tests := map[string]string{
		"http://127.0.0.1:7676":       "http://127.0.0.1:7676/v1/events",
		"http://127.0.0.1:7676/":      "http://127.0.0.1:7676/v1/events",
		"https://c.example/v1/events": "https://c.example/v1/events",
		"http://h:1/custom/path?x=1":  "http://h:1/custom/path?x=1",
	}
	for in, want := range tests {
		got, err := eventsURL(in)
		if err != nil || got != want {
			t.Errorf("eventsURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := eventsURL("ftp://user:pw@h/")
	if err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("err = %v", err)
	}
}

func TestRejectsUnusableRates(t *testing.T) {
	for _, rate := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := Generate(context.Background(), &discard{}, newGen(t, "normal"), 1, rate); err == nil {
			t.Errorf("Generate at rate %v: no error", rate)
		}
		if _, err := Post(context.Background(), nil, "http://127.0.0.1:1", "", newGen(t, "normal"), 1, rate, 1); err == nil || !strings.Contains(err.Error(), "rate") {
			t.Errorf("Post at rate %v: %v", rate, err)
		}
	}
}
