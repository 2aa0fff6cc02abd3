package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// streamPage is the most decisions one stream event carries.
const streamPage = 500

// streamRetry is the reconnection delay the stream suggests to browsers'
// EventSource (api.Remote has its own backoff).
const streamRetry = time.Second

// handleStream serves GET /v1/stream: server-sent events, each an
// api.WireBatch of the decisions stored after the previous event's, oldest
// first, with id: the ID of its last decision (IDs sort in store order).
//
// The stream starts after the position in the Last-Event-ID header, else
// in ?after=, else after the newest stored decision; its first event
// carries only id: that position, so a client that drops before any
// decision arrives can still resume without a gap (api.ZeroID when the
// store is empty). Decisions come from the store, read by cursor from the
// position on, so none is skipped or sent twice whatever order the hub
// publishes them in; the hub only says when there is something new. A
// request replays at most StreamBacklog stored decisions before it is live;
// a client further behind is sent that many, then the stream ends and the
// client resumes with a new request. A comment every StreamHeartbeat keeps
// an idle stream alive. The stream ends when the client leaves, the server
// shuts down or the hub closes.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(r, s.opts.Now(), []string{"after"})
	if err != nil {
		s.readError(w, r, err)
		return
	}
	after := p.decisionID("after")
	if h := r.Header.Get("Last-Event-ID"); h != "" {
		after = p.checkID("Last-Event-ID", h)
	}
	if p.err != nil {
		s.readError(w, r, p.err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Subscribe before reading the store: a decision committed from now on
	// is either read by the first catch-up or wakes the stream after it.
	wake := s.opts.Reader.Subscribe(ctx)
	if after == "" {
		latest, err := s.opts.Reader.Latest(ctx, "", 1)
		if err != nil {
			s.readError(w, r, err)
			return
		}
		after = api.ZeroID
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
	st := &sseWriter{w: w, rc: rc, timeout: s.opts.WriteTimeout, last: after}
	if err := st.write(fmt.Sprintf("retry: %d\nid: %s\n\n", streamRetry.Milliseconds(), after)); err != nil {
		return
	}

	hb := time.NewTicker(s.opts.StreamHeartbeat)
	defer hb.Stop()
	for {
		live, err := st.catchUp(ctx, s.opts.Reader, s.opts.StreamBacklog)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("collector server: stream ended", "after", st.last, "err", err)
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
		case <-s.shutdown:
			return
		}
	}
}

// sseWriter writes one stream's events, each flushed, each with a write
// deadline.
type sseWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
	// last is the ID of the last decision sent (or the start position).
	last string
}

// arrivalReader reads decisions in arrival order; the in-process Reader
// does. (Range follows event time: a backfilled decision would land before
// the stream's position and never be sent.)
type arrivalReader interface {
	After(ctx context.Context, after string, n int) ([]decision.Decision, error)
}

// catchUp sends every stored decision after st.last, a page per event. It
// returns live=false when it sent backlog decisions and more remain.
func (st *sseWriter) catchUp(ctx context.Context, rd api.Reader, backlog int) (live bool, err error) {
	sent := 0
	for {
		var page store.Page
		if ar, ok := rd.(arrivalReader); ok {
			page.Decisions, err = ar.After(ctx, st.last, streamPage+1)
			if len(page.Decisions) > streamPage {
				page.Decisions, page.Next = page.Decisions[:streamPage], "more"
			}
		} else {
			page, err = rd.Range(ctx, api.RangeQuery{Cursor: st.last, Limit: streamPage})
		}
		if err != nil {
			return false, fmt.Errorf("read the decisions after %s: %w", st.last, err)
		}
		if n := len(page.Decisions); n > 0 {
			data, err := json.Marshal(api.WireBatch{Decisions: api.WireDecisions(page.Decisions)})
			if err != nil {
				return false, fmt.Errorf("encode the decisions after %s: %w", st.last, err)
			}
			last := page.Decisions[n-1].ID
			if err := st.write("id: " + last + "\ndata: " + string(data) + "\n\n"); err != nil {
				return false, err
			}
			st.last = last
			sent += n
		}
		if page.Next == "" {
			return true, nil
		}
		if sent >= backlog {
			return false, nil
		}
	}
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
