package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// fakeStream is a collector whose n-th stream request is served by
// script[n] (the last one serves any further requests); it records the
// Last-Event-ID of each.
type fakeStream struct {
	mu      sync.Mutex
	resumes []string
	script  []func(w http.ResponseWriter, r *http.Request)
}

func (f *fakeStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/stream" || r.Header.Get("Authorization") != "Bearer "+testToken {
		http.Error(w, "unexpected request", http.StatusTeapot)
		return
	}
	f.mu.Lock()
	n := len(f.resumes)
	f.resumes = append(f.resumes, r.Header.Get("Last-Event-ID"))
	f.mu.Unlock()
	serve := f.script[min(n, len(f.script)-1)]
	serve(w, r)
}

func (f *fakeStream) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.resumes)
}

func id(n int) string { return fmt.Sprintf("%032x", n) }

// sendEvent writes one event with decisions first..last and flushes.
func sendEvent(w http.ResponseWriter, first, last int) {
	var b WireBatch
	for i := first; i <= last; i++ {
		b.Decisions = append(b.Decisions, ToWire(decision.Decision{ID: id(i), Action: decision.ActionAllow}))
	}
	data, _ := json.Marshal(b)
	fmt.Fprintf(w, "id: %s\ndata: %s\n\n", id(last), data)
	w.(http.Flusher).Flush()
}

func sendStart(w http.ResponseWriter, pos string) {
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "retry: 1000\nid: %s\n\n", pos)
	w.(http.Flusher).Flush()
}

// collectIDs reads batches until n decisions arrived.
func collectIDs(t *testing.T, ch <-chan Batch, n int) ([]string, []Batch) {
	t.Helper()
	var ids []string
	var batches []Batch
	timeout := time.After(10 * time.Second)
	for len(ids) < n {
		select {
		case b, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d decisions", len(ids), n)
			}
			batches = append(batches, b)
			for _, d := range b.Decisions {
				ids = append(ids, d.ID)
			}
		case <-timeout:
			t.Fatalf("got %d of %d decisions", len(ids), n)
		}
	}
	return ids, batches
}

func TestSubscribeResumesAcrossDrops(t *testing.T) {
	fs := &fakeStream{script: []func(http.ResponseWriter, *http.Request){
		// A clean end after decisions: resume at once.
		func(w http.ResponseWriter, r *http.Request) { sendStart(w, id(0)); sendEvent(w, 1, 2) },
		// An event cut off by the end of the stream is dropped.
		func(w http.ResponseWriter, r *http.Request) {
			sendStart(w, r.Header.Get("Last-Event-ID"))
			sendEvent(w, 3, 3)
			fmt.Fprint(w, "id: "+id(4)+"\ndata: {\"decisions\":[")
		},
		// Silence past the stall timeout.
		func(w http.ResponseWriter, r *http.Request) {
			sendStart(w, r.Header.Get("Last-Event-ID"))
			<-r.Context().Done()
		},
		// Data that is not a batch.
		func(w http.ResponseWriter, r *http.Request) {
			sendStart(w, r.Header.Get("Last-Event-ID"))
			fmt.Fprint(w, "data: [1,2\n\n")
		},
		// Not the collector's answer.
		func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		},
		// Healthy.
		func(w http.ResponseWriter, r *http.Request) {
			sendStart(w, r.Header.Get("Last-Event-ID"))
			sendEvent(w, 4, 5)
			<-r.Context().Done()
		},
	}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	r := dial(t, srv.URL, RemoteOptions{StallTimeout: 150 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	ch := r.Subscribe(ctx)
	ids, _ := collectIDs(t, ch, 5)
	if want := []string{id(1), id(2), id(3), id(4), id(5)}; !slices.Equal(ids, want) {
		t.Errorf("got %v, want %v", ids, want)
	}
	if want := []string{"", id(2), id(3), id(3), id(3), id(3)}; !slices.Equal(fs.seen(), want) {
		t.Errorf("resumed from %v, want %v", fs.seen(), want)
	}
	if ok, _, err := r.Connection(); !ok || err != nil {
		t.Errorf("Connection() = %v, %v on a healthy stream", ok, err)
	}
	cancel()
	for b := range ch {
		t.Errorf("batch after cancel: %+v", b)
	}
}

func TestSubscribeReportsAStall(t *testing.T) {
	fs := &fakeStream{script: []func(http.ResponseWriter, *http.Request){
		func(w http.ResponseWriter, r *http.Request) { sendStart(w, id(7)); <-r.Context().Done() },
	}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	r := dial(t, srv.URL, RemoteOptions{StallTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Subscribe(ctx)
	waitUntil(t, "a stall to be reported", func() bool {
		ok, _, err := r.Connection()
		return !ok && err != nil && strings.Contains(err.Error(), "the stream was silent for 50ms")
	})
	waitUntil(t, "a resumed request", func() bool { s := fs.seen(); return len(s) >= 2 && s[1] == id(7) })
}

func TestSubscribeDialsAgainWhenTheCollectorIsBack(t *testing.T) {
	var mu sync.Mutex
	up := false
	fs := &fakeStream{script: []func(http.ResponseWriter, *http.Request){
		func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			ok := up
			mu.Unlock()
			if !ok {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			sendStart(w, id(1))
			<-r.Context().Done()
		},
	}}
	mux := http.NewServeMux()
	mux.Handle("/v1/stream", fs)
	mux.HandleFunc("/v1/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "{}") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// The first retry waits at least 5 s.
	r := dial(t, srv.URL, RemoteOptions{MinBackoff: 10 * time.Second, MaxBackoff: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Subscribe(ctx)
	waitUntil(t, "the first refusal", func() bool { ok, _, err := r.Connection(); return !ok && err != nil })
	mu.Lock()
	up = true
	mu.Unlock()
	start := time.Now()
	if _, err := r.Health(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the stream to be dialled again", func() bool { return len(fs.seen()) >= 2 })
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the stream waited %s for its backoff although the collector answered", d)
	}
}

func TestSubscribeBoundsWhatItHoldsForASlowReader(t *testing.T) {
	const events = 200
	wrote := make(chan struct{})
	fs := &fakeStream{script: []func(http.ResponseWriter, *http.Request){
		func(w http.ResponseWriter, r *http.Request) {
			sendStart(w, id(0))
			for i := 1; i <= events; i++ {
				sendEvent(w, i, i)
			}
			close(wrote)
			<-r.Context().Done()
		},
	}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	r := dial(t, srv.URL, RemoteOptions{Buffer: 5})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := r.Subscribe(ctx)
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("the collector could not write its events")
	}
	ids, batches := collectIDs(t, ch, events)
	for i, got := range ids {
		if got != id(i+1) {
			t.Fatalf("decision %d is %s, want %s", i, got, id(i+1))
		}
	}
	for _, b := range batches {
		if len(b.Decisions) > 5 {
			t.Fatalf("a batch of %d decisions, over the buffer of 5", len(b.Decisions))
		}
	}
}

func TestSubscribeEndsWithItsContext(t *testing.T) {
	r := dial(t, "http://127.0.0.1:1", RemoteOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := r.Subscribe(ctx)
	waitUntil(t, "a failed dial", func() bool { _, _, err := r.Connection(); return err != nil })
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("a batch from nowhere")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the channel did not close after cancel")
	}
}

// FuzzReadSSE feeds arbitrary bytes to the stream parser (it must not
// panic, and fails only on an over-long line), and checks that an event
// built from the input survives encoding and parsing unchanged.
func FuzzReadSSE(f *testing.F) {
	for _, s := range []string{
		"", "\n", ":\n\n", "id: 1\n\n", "data: x\n\n", "data:x\r\ndata: y\r\n\r\n", "id\ndata\n\n",
		"retry: 10\nevent: e\nid: a\x00b\ndata: {}\n\n", "data: " + strings.Repeat("z", 300) + "\n\n", "\r\r\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		err := readSSE(iotest.OneByteReader(bytes.NewReader(in)), 256, func() {}, func(sseEvent) bool { return true })
		if err != nil && !strings.Contains(err.Error(), "longer than 256") {
			t.Fatalf("readSSE: %v", err)
		}

		clean := strings.NewReplacer("\r", "", "\x00", "").Replace(string(in))
		want := sseEvent{id: strings.ReplaceAll(clean, "\n", ""), hasID: true, data: []byte(clean)}
		var enc strings.Builder
		enc.WriteString("id: " + want.id + "\n")
		for line := range strings.SplitSeq(clean, "\n") {
			enc.WriteString("data: " + line + "\n")
		}
		enc.WriteString("\n: heartbeat\n\n")
		var got []sseEvent
		err = readSSE(strings.NewReader(enc.String()), 1<<20, func() {},
			func(ev sseEvent) bool { got = append(got, ev); return true })
		if err != nil || len(got) != 1 || got[0].id != want.id || !got[0].hasID || !bytes.Equal(got[0].data, want.data) {
			t.Fatalf("encoded %q, parsed %+v, %v", enc.String(), got, err)
		}
	})
}
