package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/store"
)

// Forwarder is the part of the Safe-e client the proxy uses.
type Forwarder interface {
	Forward(ctx context.Context, route safee.Route, event string, body []byte) (safee.Result, error)
}

// proxy implements the Safe-e-compatible routes: one call to Safe-e with the
// collector's key, the decision stored before the answer goes back, and
// Safe-e's status, body and relevant headers returned unchanged. When no
// whole answer arrived, or the decision cannot be stored, the application
// gets a 503 with a JSON error instead, and retries (its event_id keeps the
// retry idempotent).
type proxy struct {
	fwd      Forwarder
	db       *store.DB
	hub      *Hub
	pipeline *Pipeline
	metrics  *Metrics
	shadow   *Shadow
	logger   *slog.Logger
	now      func() time.Time
	newID    func() string
}

func (p *proxy) serve(ctx context.Context, route safee.Route, event string, body []byte) ProxyAnswer {
	in := store.InboxEvent{Source: "proxy", ReceivedAt: p.now(), Body: body}
	ev, perr := safee.ParseEvent(body)
	if perr == nil && ev.EventID != "" {
		in.EventID = ev.EventID
	} else {
		in.EventID = p.newID()
	}
	if perr != nil {
		// Safe-e judges the body; we still record what was asked.
		ev = safee.Event{Type: "$" + event}
	}
	res, err := p.fwd.Forward(ctx, route, event, body)
	if p.pipeline != nil {
		p.pipeline.ObserveProxy(res, err)
	}
	d := newDecision(in, ev, res, err)
	if msg := unusableAnswer(res, err); msg != "" {
		d.Action, d.Error = decision.ActionError, msg
		if serr := p.record(ctx, d); serr != nil {
			msg += "; and the error could not be recorded: " + serr.Error()
		}
		return jsonError(http.StatusServiceUnavailable, msg)
	}
	if serr := p.record(ctx, d); serr != nil {
		return jsonError(http.StatusServiceUnavailable, "the decision could not be stored, so it is not returned: "+
			serr.Error()+"; retry the request (the same event_id is stored once)")
	}
	return ProxyAnswer{Status: res.HTTPStatus, Header: passHeaders(res.Header), Body: res.Body}
}

// unusableAnswer says why Safe-e's answer cannot be passed on, or "" when
// it can: none arrived, or its body could not be read whole (a half body
// would reach the application as if it were Safe-e's).
func unusableAnswer(res safee.Result, err error) string {
	detail := ""
	if err != nil {
		detail = ": " + err.Error()
	}
	switch {
	case res.HTTPStatus == 0:
		return "Safe-e could not be reached" + detail
	case res.Incomplete:
		return fmt.Sprintf("Safe-e's answer (HTTP %d) could not be read whole%s", res.HTTPStatus, detail)
	case res.Truncated:
		return fmt.Sprintf("Safe-e's answer (HTTP %d) is larger than the collector accepts%s", res.HTTPStatus, detail)
	}
	return ""
}

// record decides the decision's shadow action (with a shadow policy) and
// stores it before the answer is returned, and says whether it could.
func (p *proxy) record(ctx context.Context, d decision.Decision) error {
	rs := []store.Result{{Decision: d}}
	p.shadow.Apply(context.WithoutCancel(ctx), rs)
	if _, err := complete(context.WithoutCancel(ctx), p.db, p.metrics, p.hub, rs); err != nil {
		p.logger.Error("store proxied decision", "event_id", d.EventID, "err", err)
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// jsonError is the proxy's own answer: status and {"error": msg}.
func jsonError(status int, msg string) ProxyAnswer {
	body, _ := json.Marshal(map[string]string{"error": msg})
	return ProxyAnswer{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

// passedHeaders are Safe-e's response headers the application gets: what
// describes the body, and what tells a client when to retry, how much it
// may still send and how to refer to the request. Hop-by-hop headers,
// cookies, Content-Length (the server sets it) and the like stay behind.
var passedHeaders = []string{
	"Content-Type", "Content-Encoding", "Content-Language",
	"Retry-After", "Cache-Control", "Expires", "Warning", "Www-Authenticate",
	"Ratelimit", "Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset", "Ratelimit-Policy",
	"X-Request-Id", "Request-Id", "X-Correlation-Id", "Traceparent",
}

// passedPrefixes pass every header that starts with them (canonical form).
var passedPrefixes = []string{"X-Ratelimit-", "X-Rate-Limit-"}

// passedHeader reports whether the header named k (canonical) is passed.
func passedHeader(k string) bool {
	for _, p := range passedHeaders {
		if k == p {
			return true
		}
	}
	for _, p := range passedPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// passHeaders returns the headers of h the application gets.
func passHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, vs := range h {
		if k = http.CanonicalHeaderKey(k); passedHeader(k) {
			out[k] = append([]string(nil), vs...)
		}
	}
	return out
}
