package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func srvGzip(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIngestAcceptsFormats(t *testing.T) {
	ndjson := srvEvent("n1") + "\n\n" + srvEvent("") + "\r\n" + srvEvent("n3") + "\n"
	tests := []struct {
		name    string
		header  http.Header
		body    []byte
		wantIDs []string
	}{
		{"object", nil, []byte(srvEvent("o1")), []string{"o1"}},
		{"object without event_id", nil, []byte(srvEvent("")), []string{"gen-1"}},
		{"pretty object", srvHeader("Content-Type", "application/json"),
			[]byte("{\n  \"type\": \"$login\",\n  \"event_id\": \"p1\"\n}\n"), []string{"p1"}},
		{"array", nil, []byte("[" + srvEvent("a1") + ", " + srvEvent("") + ",\n" + srvEvent("a3") + "]"),
			[]string{"a1", "gen-1", "a3"}},
		{"ndjson sniffed", nil, []byte(ndjson), []string{"n1", "gen-1", "n3"}},
		{"ndjson declared", srvHeader("Content-Type", "application/x-ndjson; charset=utf-8"), []byte(ndjson),
			[]string{"n1", "gen-1", "n3"}},
		{"single ndjson line declared", srvHeader("Content-Type", "application/x-ndjson"), []byte(srvEvent("l1")),
			[]string{"l1"}},
		{"gzip array", srvHeader("Content-Encoding", "gzip"),
			srvGzip(t, []byte("["+srvEvent("g1")+","+srvEvent("g2")+"]")), []string{"g1", "g2"}},
		{"gzip ndjson", srvHeader("Content-Encoding", "gzip", "Content-Type", "application/x-ndjson"),
			srvGzip(t, []byte(ndjson)), []string{"n1", "gen-1", "n3"}},
		{"byte order mark", nil, []byte("\xef\xbb\xbf" + srvEvent("b1")), []string{"b1"}},
		{"numeric event_id", nil, []byte(`{"type":"$login","event_id":12345}`), []string{"12345"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startTestServer(t, nil)
			resp, ir := ts.post(t, tt.header, tt.body)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d, want 202: %+v", resp.StatusCode, ir)
			}
			if ir.Accepted != len(tt.wantIDs) || !slices.Equal(ir.IDs, tt.wantIDs) || len(ir.Rejected) != 0 || ir.Duplicates != 0 {
				t.Fatalf("answer %+v, want accepted %d ids %v", ir, len(tt.wantIDs), tt.wantIDs)
			}
			want := slices.Clone(tt.wantIDs)
			sort.Strings(want)
			if got := ts.inboxIDs(t); !slices.Equal(got, want) {
				t.Fatalf("inbox holds %v, want %v", got, want)
			}
			if ts.notified.Load() != 1 {
				t.Errorf("Notify called %d times, want 1", ts.notified.Load())
			}
			if got := testutil.ToFloat64(ts.metrics.EventsAccepted.WithLabelValues("http")); got != float64(len(want)) {
				t.Errorf("events_accepted_total{http} = %v, want %d", got, len(want))
			}
		})
	}
}

func TestIngestStoresEventsUnchanged(t *testing.T) {
	ts := startTestServer(t, nil)
	body := `{"type":"$login", "event_id":"keep", "extra":{"nested":[1,2,3]},"unicode":"é✓"}`
	if resp, ir := ts.post(t, nil, []byte("[ "+body+" ]")); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %+v", resp.StatusCode, ir)
	}
	items, err := ts.db.InboxNext(context.Background(), 0, 10)
	if err != nil || len(items) != 1 {
		t.Fatalf("InboxNext: %v, %d items", err, len(items))
	}
	it := items[0]
	if string(it.Body) != body || it.Source != "http" || !it.ReceivedAt.Equal(srvNow) {
		t.Fatalf("stored %q from %q at %v; want the item bytes unchanged, source http, received %v",
			it.Body, it.Source, it.ReceivedAt, srvNow)
	}
}

func TestIngestRejectsItems(t *testing.T) {
	ts := startTestServer(t, nil)
	body := "[" + strings.Join([]string{
		srvEvent("ok1"),
		`{"status":"$succeeded"}`,
		`"just a string"`,
		"{\"type\":\"$login\",\"x\":\"\xff\"}",
		`{"type":"$log in"}`,
		srvEvent("ok2"),
		`{"type":"$login","event_id":"` + strings.Repeat("x", 300) + `"}`,
	}, ",") + "]"
	resp, ir := ts.post(t, nil, []byte(body))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %+v", resp.StatusCode, ir)
	}
	if ir.Accepted != 2 || !slices.Equal(ir.IDs, []string{"ok1", "ok2"}) {
		t.Fatalf("accepted %d %v, want ok1 and ok2", ir.Accepted, ir.IDs)
	}
	st := ts.srv.Stats()
	if st.LinesRead != 7 || st.Rejected != 5 || len(st.LastRejects) != 5 || st.LastRejects[0] != "item 6: bad field: event_id longer than 256 bytes" {
		t.Errorf("ingest stats for health = %+v", st)
	}
	want := []rejectedItem{
		{1, "item 1: missing or empty type"},
		{2, "item 2: not a JSON object"},
		{3, "item 3: invalid UTF-8"},
		{4, "item 4: bad type"},
		{6, "item 6: bad field: event_id longer than 256 bytes"},
	}
	if len(ir.Rejected) != len(want) {
		t.Fatalf("rejected %+v, want %d items", ir.Rejected, len(want))
	}
	for i, w := range want {
		if g := ir.Rejected[i]; g.Index != w.Index || !strings.HasPrefix(g.Error, w.Error) {
			t.Errorf("rejected[%d] = %+v, want index %d and an error starting %q", i, g, w.Index, w.Error)
		}
	}
	recs := ts.rejected(t)
	if len(recs) != len(want) {
		t.Fatalf("store holds %d rejected records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		pos := strings.SplitN(want[i].Error, ":", 2)[0]
		if r.Source != "http" || r.Position != pos || r.Reason == "" || !r.Time.Equal(srvNow) || len(r.Head) == 0 || len(r.Head) > rejectHeadLen {
			t.Errorf("record %d = %+v, want source http, position %q, a reason and a head", i, r, pos)
		}
	}
	if got := string(recs[0].Head); got != `{"status":"$succeeded"}` {
		t.Errorf("head of the first record = %q", got)
	}
	if got := len(recs[4].Head); got != rejectHeadLen {
		t.Errorf("head of a 300-byte item has %d bytes, want %d", got, rejectHeadLen)
	}
	if got := testutil.ToFloat64(ts.metrics.EventsRejected.WithLabelValues("http", "missing_type")); got != 1 {
		t.Errorf("events_rejected_total{http,missing_type} = %v, want 1", got)
	}
}

func TestIngestNDJSONLinePositions(t *testing.T) {
	ts := startTestServer(t, nil)
	lines := []string{srvEvent("a"), "", srvEvent("b"), "not json", srvEvent("c"), "", "{\"type\":\"$login\"\x00}", srvEvent("d")}
	resp, ir := ts.post(t, nil, []byte(strings.Join(lines, "\n")))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %+v", resp.StatusCode, ir)
	}
	if !slices.Equal(ir.IDs, []string{"a", "b", "c", "d"}) {
		t.Fatalf("ids %v", ir.IDs)
	}
	want := []rejectedItem{{2, "line 4: not JSON"}, {4, "line 7: not JSON"}}
	if len(ir.Rejected) != 2 {
		t.Fatalf("rejected %+v, want %+v", ir.Rejected, want)
	}
	for i, w := range want {
		if g := ir.Rejected[i]; g.Index != w.Index || !strings.HasPrefix(g.Error, w.Error) {
			t.Errorf("rejected[%d] = %+v, want %+v", i, g, w)
		}
	}
}

func TestIngestNothingUsable(t *testing.T) {
	ts := startTestServer(t, nil)
	resp, ir := ts.post(t, nil, []byte(`[{"type":""},{"type":"$login","timestamp":"yesterday"}]`))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	if ir.Accepted != 0 || len(ir.IDs) != 0 || len(ir.Rejected) != 2 ||
		!strings.Contains(ir.Error, "item 0: missing or empty type") || !strings.Contains(ir.Error, "1 more") {
		t.Fatalf("answer %+v", ir)
	}
	if n := len(ts.rejected(t)); n != 2 {
		t.Errorf("store holds %d rejected records, want 2 (kept even when nothing was usable)", n)
	}
	if ts.notified.Load() != 0 {
		t.Errorf("Notify called without new events")
	}
}

func TestIngestDuplicates(t *testing.T) {
	ts := startTestServer(t, nil)
	body := []byte("[" + srvEvent("d1") + "," + srvEvent("d2") + "]")
	if resp, ir := ts.post(t, nil, body); resp.StatusCode != http.StatusAccepted || ir.Duplicates != 0 {
		t.Fatalf("first post: %d %+v", resp.StatusCode, ir)
	}
	resp, ir := ts.post(t, nil, body)
	if resp.StatusCode != http.StatusAccepted || ir.Accepted != 2 || ir.Duplicates != 2 || !slices.Equal(ir.IDs, []string{"d1", "d2"}) {
		t.Fatalf("retry: %d %+v, want 202, accepted 2, duplicates 2", resp.StatusCode, ir)
	}
	resp, ir = ts.post(t, nil, []byte("["+srvEvent("d3")+","+srvEvent("d3")+"]"))
	if resp.StatusCode != http.StatusAccepted || ir.Accepted != 2 || ir.Duplicates != 1 {
		t.Fatalf("repeat inside one body: %d %+v, want accepted 2, duplicates 1", resp.StatusCode, ir)
	}
	if got := ts.inboxIDs(t); !slices.Equal(got, []string{"d1", "d2", "d3"}) {
		t.Fatalf("inbox %v", got)
	}
	if n := ts.notified.Load(); n != 2 {
		t.Errorf("Notify called %d times, want 2 (not for the pure retry)", n)
	}
	if got := testutil.ToFloat64(ts.metrics.EventsDuplicate.WithLabelValues("http")); got != 3 {
		t.Errorf("events_duplicate_total{http} = %v, want 3", got)
	}
}

func TestIngestBodyErrors(t *testing.T) {
	const maxBody = 256 << 10
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	deepObject := strings.Repeat(`{"a":`, 20_000) + "1" + strings.Repeat("}", 20_000)
	truncated := srvGzip(t, []byte("["+srvEvent("t1")+"]"))
	truncated = truncated[:len(truncated)-6]
	tests := []struct {
		name    string
		header  http.Header
		body    []byte
		code    int
		wantErr string
	}{
		{"empty", nil, nil, 400, "empty body"},
		{"blank", nil, []byte(" \n\t\r\n"), 400, "empty body"},
		{"empty array", nil, []byte("[ ]"), 400, "empty array"},
		{"too many items", nil, []byte("[" + strings.Repeat(`{"type":"$a"},`, 5) + `{"type":"$a"}]`), 413, "too many events"},
		{"too many lines", nil, []byte(strings.Repeat(`{"type":"$a"}`+"\n", 6)), 413, "too many events"},
		{"over max body", nil, bytes.Repeat([]byte(" "), maxBody+1), 413, "larger than 262144 bytes"},
		{"unsupported encoding", srvHeader("Content-Encoding", "br"), []byte(srvEvent("")), 415, `"br"`},
		{"double gzip", srvHeader("Content-Encoding", "gzip, gzip"), []byte(srvEvent("")), 415, "more than once"},
		{"not gzip", srvHeader("Content-Encoding", "gzip"), []byte(srvEvent("")), 400, "not valid gzip"},
		{"empty gzip", srvHeader("Content-Encoding", "gzip"), nil, 400, "empty gzip stream"},
		{"truncated gzip", srvHeader("Content-Encoding", "gzip"), truncated, 400, "truncated"},
		{"deep array", nil, []byte(deep), 400, "item 0: not JSON"},
		{"deep object", nil, []byte(deepObject), 400, "item 0: not JSON"},
		{"nested arrays", nil, []byte("[[[" + srvEvent("") + "]]]"), 400, "item 0: not a JSON object"},
		{"not json", nil, []byte("hello"), 400, "item 0: not JSON"},
		{"nul bytes", nil, []byte("\x00\x00\x00"), 400, "item 0: not JSON"},
		{"invalid utf-8", nil, []byte("{\"type\":\"$login\xc3\x28\"}"), 400, "item 0: invalid UTF-8"},
		{"scalar", nil, []byte("42"), 400, "item 0: not a JSON object"},
	}
	ts := startTestServer(t, func(o *ServerOptions) { o.MaxBody = maxBody; o.MaxItems = 5 })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := ts.do(t, http.MethodPost, "/v1/events", tt.header, tt.body)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.code, b)
			}
			if msg := srvErrorOf(t, resp, b); !strings.Contains(msg, tt.wantErr) {
				t.Fatalf("error %q does not mention %q", msg, tt.wantErr)
			}
		})
	}
	if got := ts.inboxIDs(t); len(got) != 0 {
		t.Errorf("inbox holds %v after refused bodies", got)
	}
}

// TestIngestBodyLimitWithoutLength checks the limit on a chunked body,
// whose size is not declared up front.
func TestIngestBodyLimitWithoutLength(t *testing.T) {
	ts := startTestServer(t, func(o *ServerOptions) { o.MaxBody = 1024 })
	req, err := http.NewRequest(http.MethodPost, ts.url+"/v1/events",
		io.MultiReader(strings.NewReader("["+srvEvent("x")), strings.NewReader(strings.Repeat(" ", 4096)+"]")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if req.ContentLength != 0 || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d (content length %d), want 413: %s", resp.StatusCode, req.ContentLength, b)
	}
}

// TestIngestGzipBomb posts a few kilobytes that inflate to 16 MiB: the
// server must answer 413 having allocated about MaxBody, not the whole
// inflated size.
func TestIngestGzipBomb(t *testing.T) {
	const maxBody = 64 << 10
	// Sixteen gzip members of 1 MiB of zeros each: a reader inflates them
	// one after the other, as it must for concatenated gzip files.
	member := srvGzip(t, make([]byte, 1<<20))
	bomb := bytes.Repeat(member, 16)
	if len(bomb) > 32<<10 {
		t.Fatalf("bomb is %d bytes, want a few KB", len(bomb))
	}
	ts := startTestServer(t, func(o *ServerOptions) { o.MaxBody = maxBody })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, b := ts.do(t, http.MethodPost, "/v1/events", srvHeader("Content-Encoding", "gzip"), bomb)
	runtime.ReadMemStats(&after)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", resp.StatusCode, b)
	}
	if msg := srvErrorOf(t, resp, b); !strings.Contains(msg, "after gzip decompression") {
		t.Errorf("error %q does not say the limit applies after decompression", msg)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("the request allocated %d bytes; a bounded read of a %d-byte limit needs far less than the 16 MiB bomb", alloc, maxBody)
	}
}

func TestIngestBacklog(t *testing.T) {
	ts := startTestServer(t, nil, func(o *IntakeOptions) { o.InboxLimit = 2 })
	if resp, ir := ts.post(t, nil, []byte("["+srvEvent("b1")+","+srvEvent("b2")+"]")); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first post: %d %+v", resp.StatusCode, ir)
	}
	resp, b := ts.do(t, http.MethodPost, "/v1/events", nil, []byte(srvEvent("b3")))
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d with a full inbox, want 429: %s", resp.StatusCode, b)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "5" {
		t.Errorf("Retry-After %q, want 5", ra)
	}
	if msg := srvErrorOf(t, resp, b); !strings.Contains(msg, "2 events are waiting") {
		t.Errorf("error %q does not give the backlog", msg)
	}
	// The body of a refused request is not read.
	body := &srvReadSpy{r: strings.NewReader(srvEvent("b4"))}
	req := httptest.NewRequest(http.MethodPost, "/v1/events", body)
	rec := httptest.NewRecorder()
	ts.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests || body.read {
		t.Errorf("status %d, body read %v; want 429 before reading", rec.Code, body.read)
	}
}

type srvReadSpy struct {
	r    io.Reader
	read bool
}

func (s *srvReadSpy) Read(p []byte) (int, error) {
	s.read = true
	return s.r.Read(p)
}

func TestIngestMethodNotAllowed(t *testing.T) {
	ts := startTestServer(t, nil)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		resp, b := ts.do(t, m, "/v1/events", nil, nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("%s: status %d Allow %q, want 405 and POST", m, resp.StatusCode, resp.Header.Get("Allow"))
			continue
		}
		if msg := srvErrorOf(t, resp, b); !strings.Contains(msg, "method not allowed") {
			t.Errorf("%s: error %q", m, msg)
		}
	}
}
