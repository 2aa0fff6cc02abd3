package alert

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// fastRetries retry within milliseconds so that tests run fast.
var fastRetries = NotifyOptions{MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, RetryFor: time.Minute}

// note returns the i-th notification of alert "deny spike", alternating
// firing and resolved a minute apart.
func note(i int) Notification {
	state := StateFiring
	if i%2 == 1 {
		state = StateResolved
	}
	return Notification{Event: Event{
		Alert: "deny spike", State: state, At: minute(i), Kind: KindRate,
		Value: float64(i), Threshold: 100, Peak: float64(i), Filter: "action:deny",
		Window: Window{minute(i - 1), minute(i)},
	}}
}

// hook is a webhook receiver that records the notifications it accepted.
type hook struct {
	mu   sync.Mutex
	got  []payload
	seen int // requests, accepted or not
	// answer returns the status for the n-th request (from 1); nil: 200.
	answer func(n int, p payload) int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p payload
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &p); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen++
	code := http.StatusOK
	if h.answer != nil {
		code = h.answer(h.seen, p)
	}
	if code == http.StatusOK {
		h.got = append(h.got, p)
	}
	w.WriteHeader(code)
}

func (h *hook) received() []payload {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]payload(nil), h.got...)
}

// serve starts an HTTP server for h on ln.
func serve(ln net.Listener, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	return srv
}

// A webhook whose server goes away (connection refused), comes back
// answering 503 for a while, then recovers, delivers every notification
// exactly once and in order; Health shows the outage and the recovery and
// never the URL's secret path.
func TestWebhookOutageLosesNothingInOrder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	h := &hook{}
	srv := serve(ln, h)
	wh, err := NewWebhook("http://"+addr+"/hook/s3cret", fastRetries)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close(t.Context())
	for i := 1; i <= 3; i++ {
		wh.Notify(note(i))
	}
	waitFor(t, "the first three", func() bool { return wh.Health().Sent == 3 })

	srv.Close() // down: connections are refused
	for i := 4; i <= 10; i++ {
		wh.Notify(note(i))
	}
	waitFor(t, "failed attempts while down", func() bool { return wh.Health().Retries >= 3 })
	if hl := wh.Health(); hl.Sent != 3 || hl.LastError == "" || hl.Queued != 6 {
		t.Fatalf("health while down %+v, want 3 sent, 6 queued, an error", hl)
	}

	ln, err = net.Listen("tcp", addr) // back, failing at first
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	h.answer = func(n int, _ payload) int {
		if n <= 3+3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	srv = serve(ln, h)
	defer srv.Close()
	waitFor(t, "all ten", func() bool { return wh.Health().Sent == 10 })

	for i, p := range h.received() {
		if want := note(i + 1); p.At != want.At || p.State != want.State || p.Value != want.Value {
			t.Errorf("notification %d is %s at %s, want %s at %s", i+1, p.State, p.At, want.State, want.At)
		}
	}
	hl := wh.Health()
	if hl.Sent != 10 || hl.Failed != 0 || hl.Dropped != 0 || hl.LastSuccess.IsZero() || !strings.Contains(hl.LastError, "HTTP 503") {
		t.Errorf("health %+v", hl)
	}
	if hl.Target != "webhook:http://"+addr+"/…" || strings.Contains(hl.LastError, "s3cret") {
		t.Errorf("health shows the secret: %+v", hl)
	}
}

// While the webhook hangs, Notify still returns at once: the queue keeps
// the newest QueueSize notifications and counts the rest dropped. Once
// the server answers, what was kept is delivered, in order.
func TestWebhookHangingNeverBlocksNotify(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	h := &hook{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	opt := fastRetries
	opt.QueueSize, opt.AttemptTimeout = 4, time.Hour
	wh, err := NewWebhook(srv.URL, opt)
	if err != nil {
		t.Fatal(err)
	}
	wh.Notify(note(0))
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first notification never reached the server")
	}

	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		for i := 1; i <= 100; i++ {
			wh.Notify(note(i))
		}
		done <- time.Since(start)
	}()
	select {
	case d := <-done:
		t.Logf("100 notifications queued in %s while the server hangs", d)
	case <-time.After(10 * time.Second):
		t.Fatal("Notify blocked while the webhook hangs")
	}
	if hl := wh.Health(); hl.Queued != 4 || hl.Dropped != 96 || hl.Sent != 0 {
		t.Errorf("health while hanging %+v, want 4 queued, 96 dropped", hl)
	}

	close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := wh.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var ats []float64
	for _, p := range h.received() {
		ats = append(ats, p.Value)
	}
	if want := []float64{0, 97, 98, 99, 100}; !equalFloats(ats, want) {
		t.Errorf("delivered %v, want %v", ats, want)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An attempt without an answer within AttemptTimeout is abandoned and
// retried.
func TestWebhookAttemptTimeout(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the client leave
			<-r.Context().Done()               // hang until the client gives up
		}
	}))
	defer srv.Close()
	opt := fastRetries
	opt.AttemptTimeout = 50 * time.Millisecond
	wh, err := NewWebhook(srv.URL, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close(t.Context())
	wh.Notify(note(1))
	waitFor(t, "delivery after a timeout", func() bool { return wh.Health().Sent == 1 })
	if hl := wh.Health(); hl.Retries != 1 || hl.LastError != "no answer within 50ms" {
		t.Errorf("health %+v", hl)
	}
}

// A 4xx answer (other than 408, 425, 429) or a redirect fails the
// notification at once, without retries, and the next one goes on.
func TestWebhookPermanentErrorsAreNotRetried(t *testing.T) {
	h := &hook{answer: func(_ int, p payload) int {
		switch p.Value {
		case 1:
			return http.StatusBadRequest
		case 2:
			return http.StatusFound
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	wh, err := NewWebhook(srv.URL, fastRetries)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close(t.Context())
	for i := 1; i <= 3; i++ {
		wh.Notify(note(i))
	}
	waitFor(t, "all three attempted", func() bool { hl := wh.Health(); return hl.Sent+hl.Failed == 3 })
	hl := wh.Health()
	if hl.Sent != 1 || hl.Failed != 2 || hl.Retries != 0 || h.seen != 3 {
		t.Errorf("health %+v after %d requests, want 1 sent, 2 failed, no retries", hl, h.seen)
	}
}

// Close with a deadline abandons a hanging delivery and the queue, says so,
// and a Notify after Close is counted dropped without blocking.
func TestWebhookCloseAbandonsAfterItsDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the client leave
		<-r.Context().Done()
	}))
	defer srv.Close()
	opt := fastRetries
	opt.AttemptTimeout = time.Hour
	wh, err := NewWebhook(srv.URL, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		wh.Notify(note(i))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err = wh.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "closed with 2 notifications undelivered") {
		t.Errorf("Close = %v", err)
	}
	wh.Notify(note(4))
	if hl := wh.Health(); hl.Failed != 1 || hl.Dropped != 3 || hl.Queued != 0 {
		t.Errorf("health %+v, want 1 failed in flight, 3 dropped", hl)
	}
}

// The payload carries SPEC section 13's fields, a Slack text, and drivers
// with a ratio over an empty baseline as null.
func TestPayload(t *testing.T) {
	n := note(0)
	n.Value, n.Peak = 240, 240
	n.Drivers = []Driver{
		{Dimension: "ip24", Value: "203.0.113.0/24", Window: 200, Baseline: 0, Ratio: math.Inf(1), Excess: 180},
		{Dimension: "signal", Value: "proxy_ip", Window: 150, Baseline: 30, Ratio: 12.5, Excess: 138},
	}
	b, err := n.Payload()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"alert":"deny spike","state":"firing","at":"2026-11-02T00:00:00Z","kind":"rate","value":240,` +
		`"threshold":100,"peak":240,"filter":"action:deny",` +
		`"window":{"from":"2026-11-01T23:59:00Z","to":"2026-11-02T00:00:00Z"},"drivers":[` +
		`{"dimension":"ip24","value":"203.0.113.0/24","window":200,"baseline":0,"ratio":null,"excess":180},` +
		`{"dimension":"signal","value":"proxy_ip","window":150,"baseline":30,"ratio":12.5,"excess":138}],` +
		`"text":"[FIRING] deny spike: 240/min \u003e 100/min (action:deny, window 23:59-00:00 UTC); ` +
		`drivers: ip24=203.0.113.0/24 ×+Inf (+180), signal=proxy_ip ×12.5 (+138)"}`
	if string(b) != want {
		t.Errorf("payload\n%s\nwant\n%s", b, want)
	}
	r := Notification{Event: Event{Alert: "risk shift", State: StateResolved, Kind: KindShift, Score: "risk",
		Value: 0.04, Threshold: 0.25, Peak: 1.5}}
	if got, want := r.Text(), "[RESOLVED] risk shift: PSI 0.040, peak PSI 1.500 (threshold PSI 0.250, risk of all decisions)"; got != want {
		t.Errorf("text %q\nwant %q", got, want)
	}
}

// The bell keeps the last BellSize messages for dashboards to poll.
func TestBellKeepsTheLatestForDashboards(t *testing.T) {
	b := NewBell(3)
	for i := 1; i <= 5; i++ {
		b.Notify(note(i))
	}
	got := b.Since(0)
	if len(got) != 3 || got[0].Seq != 3 || got[1].Seq != 4 || got[2].Seq != 5 {
		t.Fatalf("Since(0) = %+v, want seq 3..5", got)
	}
	if m := got[1]; m.Title != "riskwatch: deny spike firing" || !strings.HasPrefix(m.Body, "[FIRING] deny spike: 4/min") {
		t.Errorf("message %+v", m)
	}
	if got := b.Since(4); len(got) != 1 || got[0].Seq != 5 {
		t.Errorf("Since(4) = %+v", got)
	}
	if b.Since(5) != nil {
		t.Error("Since(5) is not empty")
	}
	if hl := b.Health(); hl.Sent != 5 || hl.Dropped != 2 || hl.Target != "bell" {
		t.Errorf("health %+v", hl)
	}
}

// Rules that list the same target share one notifier; a notification
// reaches the targets of its own rule only.
func TestNotifiersRouteByRule(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	rules := mustRules(t, `
[[alert]]
name = "a"
filter = "action:deny"
kind = "rate"
above = 1
notify = ["webhook:`+srv.URL+`", "bell"]
[[alert]]
name = "b"
filter = "action:deny"
kind = "rate"
above = 2
notify = ["webhook:`+srv.URL+`"]
[[alert]]
name = "c"
filter = "action:deny"
kind = "rate"
above = 3
`)
	ns, err := NewNotifiers(rules, fastRetries)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		n := note(1)
		n.Alert = name
		ns.Notify(n)
	}
	if err := ns.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range h.received() {
		names = append(names, p.Alert)
	}
	if strings.Join(names, ",") != "a,b" {
		t.Errorf("webhook got %v, want a, b", names)
	}
	if m := ns.Bell().Since(0); len(m) != 1 || m[0].Alert != "a" {
		t.Errorf("bell got %+v, want a", m)
	}
	if hs := ns.Health(); len(hs) != 2 || hs[0].Sent != 2 || hs[1].Target != "bell" {
		t.Errorf("health %+v", hs)
	}
}
