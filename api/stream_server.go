package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync"
	"time"
)

// streamInfo is the stream's route: Reader.Subscribe over HTTP.
var streamInfo = RouteInfo{Name: "Subscribe", Route: "stream", Method: http.MethodGet, Path: "/v1/stream",
	Result: reflect.TypeFor[Batch]()}

// streamQuery is the stream's one parameter: the position to start after.
type streamQuery struct {
	After string `query:"after"`
}

var streamCodec = newCodec(reflect.TypeFor[streamQuery](), false)

// streamPage is the most decisions one stream event carries: a stream
// holds at most one page (and its JSON) at a time.
const streamPage = 100

// streamRetry is the reconnection delay the stream suggests to browsers'
// EventSource (Remote has its own backoff).
const streamRetry = time.Second

// streamServer serves GET /v1/stream: server-sent events, each a WireBatch
// of the decisions stored after the previous event's, oldest first, with
// id: the ID of its last decision (IDs sort in arrival order).
//
// The stream starts after the position in the Last-Event-ID header, else
// in ?after=, else after the newest stored decision; its first event
// carries only id: that position, so a client that drops before any
// decision arrives can still resume without a gap (ZeroID when nothing is
// stored). Decisions come from Backend.After, read from the position on,
// so none is skipped or sent twice whatever order they are published in;
// Subscribe only says when there is something new. A request replays at
// most StreamBacklog stored decisions before it is live; a client further
// behind is sent that many, then the stream ends and the client resumes
// with a new request. A comment every StreamHeartbeat keeps an idle stream
// alive.
//
// Memory per client is bounded: a stream queues no decisions (wake-ups
// coalesce, see Notifier), it holds one encoded page of at most
// streamPage decisions while writing it, and pages are read and encoded a
// few at a time across all streams. A slow client is not buffered for: it
// reads from the store at its own pace, and one that takes longer than
// QueryTimeout to accept a page is disconnected (it resumes with
// Last-Event-ID). The stream ends when the client leaves, Shutdown closes or the
// subscription ends.
type streamServer struct {
	b Backend
	o HandlerOptions
	// pages bounds the pages being read and encoded at once across all
	// streams; a page's JSON is then written outside it, so a slow client
	// holds only its own encoded page.
	pages chan struct{}
}

// streamBuffers recycles the encoded pages of the streams.
var streamBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledPage is the largest encoded page kept for reuse.
const maxPooledPage = 4 << 20

func (s *streamServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var q streamQuery
	if err := streamCodec.decode(r, reflect.ValueOf(&q).Elem()); err != nil {
		s.o.answerError(w, r, err)
		return
	}
	after, name := q.After, "after"
	if h := r.Header.Get("Last-Event-ID"); h != "" {
		after, name = h, "Last-Event-ID"
	}
	if after != "" && !IsDecisionID(after) {
		s.o.answerError(w, r, Invalid(fmt.Errorf("%s: want a decision ID (32 hex digits), got %q", name, after)))
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Subscribe before reading the store: a decision committed from now on
	// is either read by the first catch-up or wakes the stream after it.
	wake := notify(ctx, s.b)
	if after == "" {
		latest, err := s.b.Latest(ctx, LatestQuery{N: 1})
		if err != nil {
			s.o.answerError(w, r, err)
			return
		}
		after = ZeroID
		if len(latest) == 1 {
			after = latest[0].ID
		}
	}

	rc := http.NewResponseController(w)
	// The server's read timeout would cancel the request once it passed;
	// the client sends nothing more, so lift it. Writes get a deadline each.
	// ErrNotSupported (a test recorder) only leaves the defaults.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	st := &sseWriter{w: w, rc: rc, timeout: s.o.QueryTimeout, last: after, pages: s.pages}
	if err := st.write(fmt.Sprintf("retry: %d\nid: %s\n\n", streamRetry.Milliseconds(), after)); err != nil {
		return
	}

	hb := time.NewTicker(s.o.StreamHeartbeat)
	defer hb.Stop()
	for {
		live, err := st.catchUp(ctx, s.b, s.o.StreamBacklog)
		if err != nil {
			if ctx.Err() == nil {
				s.o.Logger.Warn("collector server: stream ended", "after", st.last, "err", err)
			}
			return
		}
		if !live {
			return
		}
		select {
		case _, ok := <-wake:
			if !ok {
				return
			}
		case <-hb.C:
			if err := st.write(": heartbeat\n\n"); err != nil {
				return
			}
		case <-ctx.Done():
			return
		case <-s.o.Shutdown:
			return
		}
	}
}

// notify is the stream's wake-up: the backend's Notifier, or its
// Subscribe with the batches dropped (a goroutine that ends with ctx or
// the subscription). Either way a stream holds no decisions but the page
// it is sending: a slow client costs one page, never a growing queue.
func notify(ctx context.Context, b Backend) <-chan struct{} {
	if n, ok := b.(Notifier); ok {
		return n.Notify(ctx)
	}
	batches := b.Subscribe(ctx)
	wake := make(chan struct{}, 1)
	go func() {
		defer close(wake)
		for range batches {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}()
	return wake
}

// IsDecisionID reports whether s has the form of a decision ID (32 hex
// digits), the stream's positions.
func IsDecisionID(s string) bool {
	if len(s) != len(ZeroID) {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// sseWriter writes one stream's events, each flushed, each with a write
// deadline.
type sseWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
	// last is the ID of the last decision sent (or the start position).
	last string
	// pages is the streamServer's bound on pages read and encoded at once.
	pages chan struct{}
}

// catchUp sends every stored decision after st.last, a page per event. It
// returns live=false when it sent backlog decisions and more remain.
func (st *sseWriter) catchUp(ctx context.Context, b Backend, backlog int) (live bool, err error) {
	sent := 0
	for {
		buf, last, n, err := st.page(ctx, b)
		if err != nil {
			return false, err
		}
		if n > 0 {
			err = st.send(buf.Bytes())
		}
		if buf.Cap() <= maxPooledPage {
			streamBuffers.Put(buf)
		}
		if err != nil {
			return false, err
		}
		if n > 0 {
			st.last = last
			sent += n
		}
		if n < streamPage {
			return true, nil
		}
		if sent >= backlog {
			return false, nil
		}
	}
}

// page reads the decisions after st.last (at most streamPage) and encodes
// them as one event into a buffer from streamBuffers, holding one of the
// pages slots meanwhile. It returns the buffer, the page's last ID and
// its length.
func (st *sseWriter) page(ctx context.Context, b Backend) (*bytes.Buffer, string, int, error) {
	select {
	case st.pages <- struct{}{}:
	case <-ctx.Done():
		return nil, "", 0, ctx.Err()
	}
	defer func() { <-st.pages }()
	ds, err := b.After(ctx, st.last, streamPage)
	if err != nil {
		return nil, "", 0, fmt.Errorf("read the decisions after %s: %w", st.last, err)
	}
	buf := streamBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	n := len(ds)
	if n == 0 {
		return buf, "", 0, nil
	}
	last := ds[n-1].ID
	buf.WriteString("id: " + last + "\ndata: ")
	// Encode ends the value with "\n"; one more ends the event.
	if err := json.NewEncoder(buf).Encode(WireBatch{Decisions: WireDecisions(ds)}); err != nil {
		streamBuffers.Put(buf)
		return nil, "", 0, fmt.Errorf("encode the decisions after %s: %w", st.last, err)
	}
	buf.WriteByte('\n')
	return buf, last, n, nil
}

// send writes p and flushes it; an error means the client is gone or too
// slow.
func (st *sseWriter) send(p []byte) error {
	_ = st.rc.SetWriteDeadline(time.Now().Add(st.timeout))
	if _, err := st.w.Write(p); err != nil {
		return err
	}
	return st.rc.Flush()
}

// write sends text and flushes it; an error means the client is gone or
// too slow.
func (st *sseWriter) write(text string) error {
	// ErrNotSupported only leaves the server's own write timeout.
	_ = st.rc.SetWriteDeadline(time.Now().Add(st.timeout))
	if _, err := io.WriteString(st.w, text); err != nil {
		return err
	}
	return st.rc.Flush()
}
