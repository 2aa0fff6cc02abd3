package collector

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
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
// Safe-e's status and body returned unchanged.
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

func (p *proxy) serve(ctx context.Context, route safee.Route, event string, body []byte) (int, string, []byte) {
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
	if res.HTTPStatus == 0 {
		msg := "Safe-e could not be reached"
		if err != nil {
			msg += ": " + err.Error()
		}
		d.Error = msg
		body, _ := json.Marshal(map[string]string{"error": msg})
		p.record(ctx, d)
		return http.StatusServiceUnavailable, "application/json", body
	}
	p.record(ctx, d)
	ct := ""
	if res.Header != nil {
		ct = res.Header.Get("Content-Type")
	}
	return res.HTTPStatus, ct, res.Body
}

// record stores the decision before the answer is returned. A failure to
// store is logged and counted but does not withhold Safe-e's answer from
// the application, which is waiting on it synchronously.
func (p *proxy) record(ctx context.Context, d decision.Decision) {
	rs := []store.Result{{Decision: d}}
	p.shadow.Apply(context.WithoutCancel(ctx), rs)
	if _, err := complete(context.WithoutCancel(ctx), p.db, p.metrics, p.hub, rs); err != nil {
		p.logger.Error("store proxied decision", "event_id", d.EventID, "err", err)
	}
}
