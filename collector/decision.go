package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/store"
)

// countryField is the response member the emulator (and, we expect, Safe-e)
// uses for the country of user.user_ip. It is read when present and kept in
// the raw response either way.
const countryField = "ip_country"

// newDecision builds the decision for one event and the outcome of its
// Safe-e call. callErr is the call's error; when it is nil the response was
// parsed. A response without a recognised policy action becomes an error
// decision: export promises actions are allow, challenge, deny or error, and
// the raw response keeps what Safe-e said.
func newDecision(in store.InboxEvent, ev safee.Event, res safee.Result, callErr error) decision.Decision {
	d := decision.Decision{
		EventID:    in.EventID,
		ReceivedAt: in.ReceivedAt,
		Source:     in.Source,
		Type:       ev.Type,
		Status:     ev.Status,
		UserID:     ev.UserID,
		Email:      ev.Email,
		IP:         ev.IP,
		UserAgent:  ev.UserAgent,
		HTTPStatus: res.HTTPStatus,
		Latency:    res.Latency,
		Attempts:   res.Attempts,
		Request:    in.Body,
		Response:   res.Body,
	}
	if res.Request != nil {
		// The client's copy: the same bytes, with any secret replaced.
		d.Request = res.Request
	}
	d.EventTime, d.ClockSkew = decision.EventTimeOf(ev.Timestamp, in.ReceivedAt)
	if callErr != nil {
		d.Action = decision.ActionError
		d.Error = callErr.Error()
		return d
	}
	r := res.Response
	d.Risk, d.AccountAbuse, d.AccountTakeover, d.Bot = r.Risk, r.AccountAbuse, r.AccountTakeover, r.Bot
	d.Signals = r.Signals
	d.Policy = r.Policy.Name
	if raw, ok := r.Extra[countryField]; ok {
		if c, ok := jsonString(raw); ok && len(c) <= 8 {
			d.Country = c
		}
	}
	switch r.Action {
	case safee.ActionAllow:
		d.Action = decision.ActionAllow
	case safee.ActionChallenge:
		d.Action = decision.ActionChallenge
	case safee.ActionDeny:
		d.Action = decision.ActionDeny
	default:
		d.Action = decision.ActionError
		d.Error = fmt.Sprintf("Safe-e answered without a recognised policy action (policy %q, action %q)", r.Policy.Name, r.Policy.Action)
	}
	return d
}

// jsonString decodes raw, a JSON value, if it is a string. A plain string
// (no escapes, valid UTF-8, as a country code is) is read without
// encoding/json's reflection.
func jsonString(raw []byte) (string, bool) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		body := raw[1 : len(raw)-1]
		if !bytes.ContainsAny(body, "\\\"") && utf8.Valid(body) && !slices.ContainsFunc(body, func(c byte) bool { return c < 0x20 }) {
			return string(body), true
		}
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// unparseableDecision records an inbox item whose body no longer parses as
// an event (it was validated on intake, so this means a bug or a store
// written by another version); it is never sent.
func unparseableDecision(in store.InboxEvent, err error) decision.Decision {
	return decision.Decision{
		EventID:    in.EventID,
		ReceivedAt: in.ReceivedAt,
		EventTime:  in.ReceivedAt,
		Source:     in.Source,
		Action:     decision.ActionError,
		Error:      fmt.Sprintf("stored event is not a valid Safe-e event: %v", err),
		Request:    in.Body,
	}
}

// complete stores results in one transaction and announces what it newly
// stored: the commit's latency and the decisions by action in m, and the
// decisions to h. m and h may be nil. Both the pipeline and the proxy
// complete through here, so their decisions are counted and published alike.
func complete(ctx context.Context, db *store.DB, m *Metrics, h *Hub, results []store.Result) ([]decision.Decision, error) {
	start := time.Now()
	stored, err := db.Complete(ctx, results)
	if m != nil {
		m.ObserveCommit("complete", time.Since(start))
	}
	if err != nil {
		return nil, err
	}
	// An event decided before (a retried proxy call with the same
	// event_id) returns its earlier decision; announce only new ones.
	fresh := stored
	if slices.ContainsFunc(results, func(r store.Result) bool { return r.Existed }) {
		fresh = make([]decision.Decision, 0, len(stored))
		for i, d := range stored {
			if !results[i].Existed {
				fresh = append(fresh, d)
			}
		}
	}
	if m != nil {
		for i := range fresh {
			m.CountDecision(&fresh[i])
		}
	}
	if h != nil && len(fresh) > 0 {
		h.Publish(fresh)
	}
	return stored, nil
}
