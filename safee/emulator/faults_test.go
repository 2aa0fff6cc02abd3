package emulator

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFaultRates(t *testing.T) {
	e, srv := serve(t, Options{Seed: 11, ErrorRate: 0.10, ThrottleRate: 0.05, RetryAfter: 1500 * time.Millisecond, Now: fixedClock})
	const n = 2000
	for range n {
		status, h, body := post(t, srv.Client(), srv.URL+"/risk/login", "", []byte(validLogin))
		switch status {
		case 429:
			if h.Get("Retry-After") != "2" {
				t.Fatalf("429 with Retry-After %q, want 2 (1.5 s rounded up)", h.Get("Retry-After"))
			}
		case 502:
			if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("502 Bad Gateway")) {
				t.Fatalf("502 should be a gateway's HTML page: %q %s", h.Get("Content-Type"), body)
			}
		}
	}
	st := e.Stats()
	errs := st.ByStatus[500] + st.ByStatus[502] + st.ByStatus[503]
	// Binomial bounds, about five standard deviations wide.
	if errs < 130 || errs > 270 {
		t.Errorf("%d errors in %d requests at rate 0.10", errs, n)
	}
	for _, code := range []int{500, 502, 503} {
		if st.ByStatus[code] < 30 {
			t.Errorf("only %d answers of %d", st.ByStatus[code], code)
		}
	}
	if th := st.ByStatus[429]; th < 50 || th > 150 {
		t.Errorf("%d throttles in %d requests at rate 0.05", th, n)
	}
	if ok := st.ByStatus[200]; ok+errs+st.ByStatus[429] != n {
		t.Errorf("stats do not add up: %+v", st)
	}
}

func TestTimeoutStallsUntilClientGivesUp(t *testing.T) {
	e, srv := serve(t, Options{TimeoutRate: 1, TimeoutDelay: time.Minute, Now: fixedClock})
	client := srv.Client()
	client.Timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := client.Post(srv.URL+"/risk/login", "application/json", strings.NewReader(validLogin))
	if err == nil {
		t.Fatal("a stalled request answered")
	}
	var uerr interface{ Timeout() bool }
	if !errors.As(err, &uerr) || !uerr.Timeout() {
		t.Fatalf("want a client timeout, got %v", err)
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("gave up after %v", el)
	}
	// The stall ends with the client, long before TimeoutDelay.
	waitFor(t, "the stalled handler to finish", func() bool { return e.Stats().ByStatus[504] == 1 })
}

func TestTimeoutDelayThen504(t *testing.T) {
	_, srv := serve(t, Options{TimeoutRate: 1, TimeoutDelay: 50 * time.Millisecond, Now: fixedClock})
	start := time.Now()
	status, _, body := post(t, srv.Client(), srv.URL+"/risk/login", "", []byte(validLogin))
	if status != 504 || !bytes.Contains(body, []byte("gateway_timeout")) {
		t.Fatalf("status %d %s", status, body)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("answered after %v, before TimeoutDelay", el)
	}
}

func TestLatency(t *testing.T) {
	e, srv := serve(t, Options{Latency: 40 * time.Millisecond, Now: fixedClock})
	start := time.Now()
	for range 3 {
		if status, _, _ := post(t, srv.Client(), srv.URL+"/risk/login", "", []byte(validLogin)); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	if el := time.Since(start); el < 3*20*time.Millisecond {
		t.Fatalf("three requests with 40 ms latency took %v", el)
	}
	// A client that leaves during the latency is counted, not scored. It
	// leaves once the emulator has its request (a fixed client timeout
	// could expire before the request arrives on a loaded machine), and
	// the latency is long enough that it cannot be answered first.
	e, srv = serve(t, Options{Latency: time.Minute, Now: fixedClock})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/risk/login", strings.NewReader(validLogin))
	done := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, "the request to reach the emulator", func() bool { return e.Stats().Requests == 1 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("request outlived its context")
	}
	waitFor(t, "the abandoned request to be counted", func() bool { return e.Stats().ByStatus[StatusClientGone] == 1 })
}

// TestFaultsDoNotChangeAnswers retries every event through faults and
// compares the eventual answers with a fault-free emulator's.
func TestFaultsDoNotChangeAnswers(t *testing.T) {
	_, faulty := serve(t, Options{Seed: 4, ErrorRate: 0.3, ThrottleRate: 0.1, RetryAfter: time.Millisecond, Now: fixedClock})
	_, clean := serve(t, Options{Seed: 4, Now: fixedClock})
	g, err := NewGenerator("ato", 9, fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	retries := 0
	for range 600 {
		line := g.Next()
		path := pathFor(t, line)
		_, _, want := post(t, clean.Client(), clean.URL+path, "", line)
		for {
			status, _, got := post(t, faulty.Client(), faulty.URL+path, "", line)
			if status == 200 {
				if !bytes.Equal(got, want) {
					t.Fatalf("after %d retries: %s, want %s", retries, got, want)
				}
				break
			}
			retries++
		}
	}
	if retries < 100 {
		t.Fatalf("only %d faults injected", retries)
	}
}

func TestClampRate(t *testing.T) {
	tests := map[float64]float64{-1: 0, 0: 0, 0.25: 0.25, 1: 1, 7: 1}
	for in, want := range tests {
		if got := clampRate(in); got != want {
			t.Errorf("clampRate(%v) = %v", in, got)
		}
	}
}

// TestStallEndsWithBaseContext shows the shutdown recipe of the package
// doc: cancelling the server's BaseContext ends a stall at once.
func TestStallEndsWithBaseContext(t *testing.T) {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewUnstartedServer(New(Options{TimeoutRate: 1, TimeoutDelay: time.Minute, Now: fixedClock}))
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.Start()
	defer srv.Close()

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := srv.Client().Post(srv.URL+"/risk/login", "application/json", strings.NewReader(validLogin))
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	select {
	case r := <-done:
		t.Fatalf("answered before the cancel: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case r := <-done:
		if r.err == nil && r.status != http.StatusGatewayTimeout {
			t.Fatalf("status %d", r.status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stall outlived the server's base context")
	}
}
