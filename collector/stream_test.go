package collector

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// sseReader reads a raw stream as a browser's EventSource would.
type sseReader struct {
	sc         *bufio.Scanner
	heartbeats int
}

type rawEvent struct {
	id    string
	hasID bool
	batch api.WireBatch
}

func newSSEReader(body io.Reader) *sseReader {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	return &sseReader{sc: sc}
}

// next returns the next event with data or an id; io.EOF at the end.
func (r *sseReader) next() (rawEvent, error) {
	var ev rawEvent
	var data []byte
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "":
			if len(data) > 0 {
				if err := json.Unmarshal(data, &ev.batch); err != nil {
					return ev, fmt.Errorf("event data %.80q: %w", data, err)
				}
			}
			if len(data) > 0 || ev.hasID {
				return ev, nil
			}
		case strings.HasPrefix(line, ":"):
			r.heartbeats++
		case strings.HasPrefix(line, "id: "):
			ev.id, ev.hasID = strings.TrimPrefix(line, "id: "), true
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: ")...)
		case strings.HasPrefix(line, "retry: "):
		default:
			return ev, fmt.Errorf("unexpected stream line %q", line)
		}
	}
	if err := r.sc.Err(); err != nil {
		return ev, err
	}
	return ev, io.EOF
}

// start reads the stream's first event, which must announce the start
// position and carry no decisions.
func (r *sseReader) start(t *testing.T) string {
	t.Helper()
	ev, err := r.next()
	if err != nil {
		t.Fatalf("first event: %v", err)
	}
	if !ev.hasID || len(ev.batch.Decisions) != 0 {
		t.Fatalf("first event %+v: want only the start position", ev)
	}
	return ev.id
}

// ids reads events until n decisions arrived and returns their IDs,
// checking that each event's id is its last decision's.
func (r *sseReader) ids(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		ev, err := r.next()
		if err != nil {
			t.Fatalf("after %d of %d decisions: %v", len(out), n, err)
		}
		ds := ev.batch.Decisions
		if len(ds) == 0 {
			t.Fatalf("event without decisions after the first: %+v", ev)
		}
		if last := ds[len(ds)-1].ID; ev.id != last {
			t.Fatalf("event id %q, its last decision %q", ev.id, last)
		}
		for _, d := range ds {
			out = append(out, d.ID)
		}
	}
	return out
}

func TestStreamResumesAfterAPosition(t *testing.T) {
	emu := newEmulator(t)
	lc := startLiveCollector(t, filepath.Join(t.TempDir(), "rw.db"), "127.0.0.1:0", emu.URL, "")
	n := postEvents(t, lc.url, "", "mixed", 3, 300)
	waitScored(t, lc.db, uint64(n))
	ids := storedIDs(t, lc.db)

	cases := []struct {
		name   string
		query  string
		header http.Header
		start  string // the position the stream announces
		from   int    // index of the first decision expected
	}{
		{"Last-Event-ID", "", http.Header{"Last-Event-Id": {ids[99]}}, ids[99], 100},
		{"after=", "?after=" + ids[199], nil, ids[199], 200},
		{"the header wins over after=", "?after=" + ids[0], http.Header{"Last-Event-Id": {ids[249]}}, ids[249], 250},
		{"from the start", "?after=" + api.ZeroID, nil, api.ZeroID, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			resp := openStream(t, ctx, lc.url, "", tc.query, tc.header)
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			r := newSSEReader(resp.Body)
			if start := r.start(t); start != tc.start {
				t.Fatalf("start position %q, want %q", start, tc.start)
			}
			if got := r.ids(t, len(ids)-tc.from); !slices.Equal(got, ids[tc.from:]) {
				t.Fatalf("backlog: got %d decisions, want %d in store order", len(got), len(ids)-tc.from)
			}
		})
	}
}

func TestStreamGoesLiveWithoutGapOrDuplicate(t *testing.T) {
	emu := newEmulator(t)
	lc := startLiveCollector(t, filepath.Join(t.TempDir(), "rw.db"), "127.0.0.1:0", emu.URL, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// An empty store starts at the zero position.
	resp := openStream(t, ctx, lc.url, "", "", nil)
	defer resp.Body.Close()
	r := newSSEReader(resp.Body)
	if start := r.start(t); start != api.ZeroID {
		t.Fatalf("empty store: start %q, want %q", start, api.ZeroID)
	}
	n := postEvents(t, lc.url, "", "mixed", 4, 200)
	waitScored(t, lc.db, uint64(n))
	if got, want := r.ids(t, n), storedIDs(t, lc.db); !slices.Equal(got, want) {
		t.Fatalf("live: got %d decisions, want the %d stored, in order", len(got), len(want))
	}

	// Without a position a stream starts after the newest decision.
	resp2 := openStream(t, ctx, lc.url, "", "", nil)
	defer resp2.Body.Close()
	r2 := newSSEReader(resp2.Body)
	before := storedIDs(t, lc.db)
	if start := r2.start(t); start != before[len(before)-1] {
		t.Fatalf("start %q, want the newest decision %q", start, before[len(before)-1])
	}
	m := postEvents(t, lc.url, "", "stuffing", 5, 150)
	waitScored(t, lc.db, uint64(n+m))
	want := storedIDs(t, lc.db)[len(before):]
	if got := r2.ids(t, len(want)); !slices.Equal(got, want) {
		t.Fatalf("second stream: got %d decisions, want the %d new ones", len(got), len(want))
	}
	if got := r.ids(t, len(want)); !slices.Equal(got, want) {
		t.Fatalf("first stream: got %d decisions, want the %d new ones", len(got), len(want))
	}
}

// streamServer is a server with a Reader over its own store and hub, a
// short heartbeat and a small backlog bound.
func streamServer(t *testing.T) (*srvFixture, *Hub) {
	t.Helper()
	hub := NewHub()
	t.Cleanup(hub.Close)
	db := openTestStore(t)
	ts := startTestServerOn(t, db, func(o *ServerOptions) {
		o.Reader = &Reader{db: db, hub: hub, health: o.Health, now: time.Now}
		o.StreamHeartbeat = 20 * time.Millisecond
		o.StreamBacklog = 600
	})
	return ts, hub
}

// completeN stores n decisions directly and returns them.
func completeN(t testing.TB, db *store.DB, prefix string, n int) []decision.Decision {
	t.Helper()
	rs := make([]store.Result, n)
	for i := range rs {
		rs[i] = store.Result{Decision: decision.Decision{EventID: fmt.Sprintf("%s-%d", prefix, i), Source: "test",
			Type: "$login", UserID: fmt.Sprintf("u%d", i%7), Action: decision.ActionAllow, Risk: float64(i % 100)}}
	}
	ds, err := db.Complete(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestStreamHeartbeatAndDisconnect(t *testing.T) {
	ts, hub := streamServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp := openStream(t, ctx, ts.url, "", "", nil)
	r := newSSEReader(resp.Body)
	r.start(t)
	waitFor(t, "the stream's hub subscription", 10*time.Second, func() bool { return subscriberCount(hub) == 1 })
	// Nothing is stored: only heartbeat comments arrive.
	for r.heartbeats < 3 {
		if !r.sc.Scan() {
			t.Fatalf("stream ended after %d heartbeats: %v", r.heartbeats, r.sc.Err())
		}
		if line := r.sc.Text(); strings.HasPrefix(line, ":") {
			r.heartbeats++
		} else if line != "" {
			t.Fatalf("idle stream sent %q", line)
		}
	}
	resp.Body.Close()
	waitFor(t, "the stream to end after the client left", 10*time.Second, func() bool { return subscriberCount(hub) == 0 })
}

func TestStreamBoundsTheBacklogOfOneRequest(t *testing.T) {
	ts, hub := streamServer(t)
	stored := completeN(t, ts.db, "b", 1150)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	resp := openStream(t, ctx, ts.url, "", "?after="+api.ZeroID, nil)
	defer resp.Body.Close()
	r := newSSEReader(resp.Body)
	r.start(t)
	// 600 allowed, sent in pages of 100: the request ends after 600.
	first := r.ids(t, 600)
	if ev, err := r.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the bound: %+v, %v; want the end of the stream", ev, err)
	}

	resp2 := openStream(t, ctx, ts.url, "", "", http.Header{"Last-Event-Id": {first[len(first)-1]}})
	defer resp2.Body.Close()
	r2 := newSSEReader(resp2.Body)
	r2.start(t)
	rest := r2.ids(t, 550)
	var want []string
	for _, d := range stored {
		want = append(want, d.ID)
	}
	if got := append(first, rest...); !slices.Equal(got, want) {
		t.Fatalf("got %d decisions over two requests, want the %d stored in order", len(got), len(want))
	}
	// The second request is live: a published decision arrives.
	waitFor(t, "the stream's hub subscription", 10*time.Second, func() bool { return subscriberCount(hub) == 1 })
	live := completeN(t, ts.db, "live", 1)
	hub.Publish(live)
	if got := r2.ids(t, 1); got[0] != live[0].ID {
		t.Fatalf("live decision %s, want %s", got[0], live[0].ID)
	}
}

func TestStreamRejectsBadPositions(t *testing.T) {
	ts, _ := streamServer(t)
	cases := []struct {
		name   string
		query  string
		header http.Header
		want   string
	}{
		{"short after", "?after=abc", nil, `after: want a decision ID (32 hex digits), got "abc"`},
		{"not hex", "?after=" + strings.Repeat("z", 32), nil, "after: want a decision ID"},
		{"path in the header", "", http.Header{"Last-Event-Id": {"../../etc/passwd"}}, "Last-Event-ID: want a decision ID"},
		{"twice", "?after=" + api.ZeroID + "&after=" + api.ZeroID, nil, `parameter "after" given 2 times`},
		{"unknown parameter", "?since=1h", nil, `unknown parameter "since" (/v1/stream takes after)`},
		{"bad escape", "?after=%zz", nil, "bad query string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := openStream(t, context.Background(), ts.url, "", tc.query, tc.header)
			defer resp.Body.Close()
			var body api.WireError
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("status %d, body not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body.Error, tc.want) {
				t.Errorf("status %d, error %q; want 400 with %q", resp.StatusCode, body.Error, tc.want)
			}
		})
	}
	resp, _ := ts.do(t, http.MethodPost, "/v1/stream", nil, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST /v1/stream: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestStreamDoesNotHoldUpShutdown(t *testing.T) {
	emu := newEmulator(t)
	lc := startLiveCollector(t, filepath.Join(t.TempDir(), "rw.db"), "127.0.0.1:0", emu.URL, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp := openStream(t, ctx, lc.url, "", "", nil)
	defer resp.Body.Close()
	r := newSSEReader(resp.Body)
	r.start(t)
	start := time.Now()
	lc.stop()
	// The graceful shutdown waits up to DefaultShutdownTimeout for
	// requests in progress; an open stream must not be one of them.
	if d := time.Since(start); d >= DefaultShutdownTimeout/2 {
		t.Errorf("stopping the collector took %s with a stream open", d)
	}
	if _, err := r.next(); err == nil {
		t.Error("the stream did not end with the collector")
	}
}
