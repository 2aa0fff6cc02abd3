package collector

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// waitLimit bounds every wait in these tests; the conditions normally hold
// within milliseconds.
const waitLimit = 10 * time.Second

// decisions returns n decisions with IDs "p-000000" upwards from first.
func decisions(prefix string, first, n int) []decision.Decision {
	ds := make([]decision.Decision, n)
	for i := range ds {
		ds[i] = decision.Decision{ID: fmt.Sprintf("%s-%06d", prefix, first+i), Risk: float64((first + i) % 101)}
	}
	return ds
}

// received is what a subscriber got.
type received struct {
	batches []api.Batch
	ids     []string
	missed  int
}

// collect receives from ch until want decisions are accounted for
// (received plus missed) or the deadline passes.
func collect(t *testing.T, ch <-chan api.Batch, want int) received {
	t.Helper()
	var r received
	deadline := time.After(waitLimit)
	for len(r.ids)+r.missed < want {
		select {
		case b, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d decisions", len(r.ids)+r.missed, want)
			}
			r.batches = append(r.batches, b)
			r.missed += b.Missed
			for _, d := range b.Decisions {
				r.ids = append(r.ids, d.ID)
			}
		case <-deadline:
			t.Fatalf("got %d decisions and %d missed within %v, want %d in all", len(r.ids), r.missed, waitLimit, want)
		}
	}
	return r
}

// publishWithin fails the test when Publish does not return in time.
func publishWithin(t *testing.T, h *Hub, ds []decision.Decision, limit time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		h.Publish(ds)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("Publish of %d decisions blocked for %v", len(ds), limit)
	}
}

// waitClosed fails the test unless ch closes in time; batches still
// pending are drained.
func waitClosed(t *testing.T, ch <-chan api.Batch) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("channel still open after %v", waitLimit)
		}
	}
}

// closeWithin fails the test when Close does not return in time.
func closeWithin(t *testing.T, h *Hub) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		h.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatalf("Close did not return within %v", waitLimit)
	}
}

// subscriberCount counts the hub's subscriptions and Notify channels.
func subscriberCount(h *Hub) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) + len(h.wakers)
}

func TestHubFanOut(t *testing.T) {
	h := NewHub()
	defer h.Close()
	ctx := t.Context()
	opts := SubscribeOptions{Interval: 5 * time.Millisecond}
	subs := []<-chan api.Batch{h.Subscribe(ctx, opts), h.Subscribe(ctx, opts), h.Subscribe(ctx, opts)}

	const publishers, chunks, size = 4, 50, 10
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for c := range chunks {
				h.Publish(decisions(fmt.Sprintf("p%d", p), c*size, size))
			}
		})
	}
	const total = publishers * chunks * size
	var got []received
	for _, ch := range subs {
		got = append(got, collect(t, ch, total))
	}
	wg.Wait()

	for i, r := range got {
		if r.missed != 0 || len(r.ids) != total {
			t.Fatalf("subscriber %d: %d decisions, %d missed; want %d and 0", i, len(r.ids), r.missed, total)
		}
		if !slices.Equal(r.ids, got[0].ids) {
			t.Errorf("subscriber %d saw a different order than subscriber 0", i)
		}
		last := map[string]string{}
		for _, id := range r.ids {
			p, _, _ := strings.Cut(id, "-")
			if id <= last[p] {
				t.Fatalf("subscriber %d: %s after %s: a publisher's order is lost", i, id, last[p])
			}
			last[p] = id
		}
	}
}

func TestHubBatching(t *testing.T) {
	h := NewHub()
	defer h.Close()
	const interval = 50 * time.Millisecond
	ch := h.Subscribe(t.Context(), SubscribeOptions{Interval: interval})

	// A steady stream, one decision per millisecond, read as fast as it comes.
	const n = 200
	start := time.Now()
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := range n {
			<-tick.C
			h.Publish(decisions("d", i, 1))
		}
	}()
	r := collect(t, ch, n)
	elapsed := time.Since(start)

	if want := decisions("d", 0, n); !slices.EqualFunc(r.ids, want, func(id string, d decision.Decision) bool { return id == d.ID }) {
		t.Fatalf("decisions out of order or missing: got %d", len(r.ids))
	}
	// One batch at once, then at most one per interval.
	if limit := 1 + int(elapsed/interval); len(r.batches) > limit {
		t.Errorf("%d Publish calls in %v gave %d batches, want at most %d", n, elapsed, len(r.batches), limit)
	}
}

func TestHubSlowSubscriber(t *testing.T) {
	h := NewHub()
	defer h.Close()
	opts := SubscribeOptions{Interval: time.Millisecond, Buffer: 100}
	fast := h.Subscribe(t.Context(), opts)
	slow := h.Subscribe(t.Context(), opts)

	const rounds, size = 10, 100
	var fastIDs []string
	for i := range rounds {
		publishWithin(t, h, decisions("d", i*size, size), time.Second)
		r := collect(t, fast, size)
		if r.missed != 0 {
			t.Fatalf("round %d: fast subscriber missed %d", i, r.missed)
		}
		fastIDs = append(fastIDs, r.ids...)
	}
	if len(fastIDs) != rounds*size {
		t.Fatalf("fast subscriber got %d decisions, want %d", len(fastIDs), rounds*size)
	}

	// The slow subscriber has not received anything yet: at most one batch
	// is waiting to be sent and at most Buffer decisions are queued.
	r := collect(t, slow, rounds*size)
	if len(r.ids)+r.missed != rounds*size {
		t.Fatalf("slow subscriber: %d received + %d missed, want %d", len(r.ids), r.missed, rounds*size)
	}
	if r.missed == 0 {
		t.Fatalf("slow subscriber missed nothing; batches %d", len(r.batches))
	}
	if len(r.ids) > 2*opts.Buffer {
		t.Errorf("slow subscriber got %d decisions, want at most %d (one batch in flight plus the buffer)", len(r.ids), 2*opts.Buffer)
	}
	if !slices.IsSorted(r.ids) {
		t.Errorf("slow subscriber's decisions are out of order")
	}
	if last := r.ids[len(r.ids)-1]; last != fastIDs[len(fastIDs)-1] {
		t.Errorf("slow subscriber's newest decision is %s, want %s (the oldest are dropped)", last, fastIDs[len(fastIDs)-1])
	}
	for _, b := range r.batches {
		if len(b.Decisions) > opts.Buffer {
			t.Errorf("batch of %d decisions exceeds the buffer of %d", len(b.Decisions), opts.Buffer)
		}
	}
}

func TestSubscriberQueueLimit(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		chunks []int // sizes published in turn
		n      int
		missed int
		first  string // oldest decision kept
	}{
		{"under", 10, []int{3, 4}, 7, 0, "d-000000"},
		{"exact", 10, []int{5, 5}, 10, 0, "d-000000"},
		{"drops a whole chunk", 10, []int{4, 6, 4}, 10, 4, "d-000004"},
		{"trims the oldest chunk", 10, []int{6, 6}, 10, 2, "d-000002"},
		{"one huge chunk", 10, []int{3, 25}, 10, 18, "d-000018"},
		{"limit one", 1, []int{1, 1, 1}, 1, 2, "d-000002"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &subscriber{limit: tc.limit}
			next := 0
			for _, size := range tc.chunks {
				s.add(decisions("d", next, size))
				next += size
			}
			var kept []decision.Decision
			for _, c := range s.chunks {
				kept = append(kept, c...)
			}
			if s.n != tc.n || len(kept) != tc.n || s.missed != tc.missed {
				t.Fatalf("n=%d kept=%d missed=%d, want %d, %d, %d", s.n, len(kept), s.missed, tc.n, tc.n, tc.missed)
			}
			if kept[0].ID != tc.first || kept[len(kept)-1].ID != fmt.Sprintf("d-%06d", next-1) {
				t.Errorf("kept %s..%s, want %s..d-%06d", kept[0].ID, kept[len(kept)-1].ID, tc.first, next-1)
			}
		})
	}
}

func TestHubPublishCopies(t *testing.T) {
	h := NewHub()
	defer h.Close()
	ch := h.Subscribe(t.Context(), SubscribeOptions{Interval: time.Millisecond})
	ds := decisions("d", 0, 3)
	h.Publish(ds)
	ds[0].ID = "changed"
	r := collect(t, ch, 3)
	if r.ids[0] != "d-000000" {
		t.Errorf("subscriber saw the caller's later change: %s", r.ids[0])
	}
}

func TestHubUnsubscribe(t *testing.T) {
	h := NewHub()
	defer h.Close()
	ctx, cancel := context.WithCancel(t.Context())
	opts := SubscribeOptions{Interval: time.Millisecond}
	gone := h.Subscribe(ctx, opts)
	stays := h.Subscribe(t.Context(), opts)

	h.Publish(decisions("d", 0, 5)) // left unread on gone: its goroutine blocks sending
	collect(t, stays, 5)
	cancel()
	waitClosed(t, gone)
	deadline := time.Now().Add(waitLimit)
	for subscriberCount(h) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers after one unsubscribed, want 1", subscriberCount(h))
		}
		runtime.Gosched()
	}

	h.Publish(decisions("d", 5, 5))
	if r := collect(t, stays, 5); r.ids[0] != "d-000005" {
		t.Errorf("remaining subscriber got %v, want d-000005 first", r.ids)
	}
}

func TestHubCancelledContext(t *testing.T) {
	h := NewHub()
	defer h.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	waitClosed(t, h.Subscribe(ctx, SubscribeOptions{}))
}

func TestHubClose(t *testing.T) {
	h := NewHub()
	opts := SubscribeOptions{Interval: time.Millisecond}
	blocked := h.Subscribe(context.Background(), opts)
	idle := h.Subscribe(context.Background(), opts)
	h.Publish(decisions("d", 0, 5)) // nobody reads: both goroutines block sending

	closeWithin(t, h)
	waitClosed(t, blocked)
	waitClosed(t, idle)
	if n := subscriberCount(h); n != 0 {
		t.Errorf("%d subscribers left after Close", n)
	}

	h.Publish(decisions("d", 5, 5))
	if _, ok := <-h.Subscribe(context.Background(), opts); ok {
		t.Error("Subscribe after Close delivered a batch")
	}
	h.Close()
}

func TestHubDefaults(t *testing.T) {
	h := NewHub()
	defer h.Close()
	h.Subscribe(t.Context(), SubscribeOptions{Interval: -1, Buffer: -5})
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.interval != DefaultInterval || s.limit != DefaultBuffer {
			t.Errorf("interval %v buffer %d, want %v and %d", s.interval, s.limit, DefaultInterval, DefaultBuffer)
		}
	}
}

func TestHubNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	h := NewHub()
	var readers sync.WaitGroup
	for i := range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		ch := h.Subscribe(ctx, SubscribeOptions{Interval: time.Millisecond, Buffer: 50})
		switch i % 3 {
		case 0: // cancelled before Close
			cancel()
		case 1: // read until closed
			readers.Go(func() {
				for range ch {
				}
			})
			defer cancel()
		default: // never read
			defer cancel()
		}
	}
	for i := range 10 {
		h.Publish(decisions("d", i*100, 100))
	}
	closeWithin(t, h)
	readers.Wait()

	deadline := time.Now().Add(waitLimit)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func BenchmarkHubPublish(b *testing.B) {
	h := NewHub()
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	for range 3 {
		ch := h.Subscribe(ctx, SubscribeOptions{})
		readers.Go(func() {
			for range ch {
			}
		})
	}
	ds := decisions("d", 0, 100)
	b.ReportAllocs()
	for b.Loop() {
		h.Publish(ds)
	}
	b.ReportMetric(float64(b.N*len(ds))/b.Elapsed().Seconds(), "decisions/s")
	cancel()
	h.Close()
	readers.Wait()
}

// TestHubNotifyCoalescesAndHoldsNothing: Notify's channel holds one
// wake-up however many publishes it misses (no decisions are queued for a
// slow stream client), and closes with its context or the hub.
func TestHubNotifyCoalescesAndHoldsNothing(t *testing.T) {
	h := NewHub()
	ctx, cancel := context.WithCancel(context.Background())
	w := h.Notify(ctx)
	for i := range 100 {
		h.Publish([]decision.Decision{{EventID: fmt.Sprint(i)}})
	}
	if n := len(w); n != 1 {
		t.Fatalf("%d wake-ups waiting after 100 publishes, want 1", n)
	}
	<-w
	cancel()
	waitFor(t, "the channel to close with its context", 5*time.Second, func() bool {
		select {
		case _, ok := <-w:
			return !ok
		default:
			return false
		}
	})
	if subscriberCount(h) != 0 {
		t.Errorf("%d subscriptions left", subscriberCount(h))
	}
	w2 := h.Notify(context.Background())
	h.Close()
	if _, ok := <-w2; ok {
		t.Error("a Notify channel is still open after Close")
	}
	if _, ok := <-h.Notify(context.Background()); ok {
		t.Error("Notify after Close returned an open channel")
	}
}
