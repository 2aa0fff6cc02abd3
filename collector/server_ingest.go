package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/riskwatch/riskwatch/store"
)

// httpSource is the Source of events and rejects posted to /v1/events.
const httpSource = "http"

// Retry-After values, in seconds: the inbox drains at Safe-e's pace, a busy
// server or a failed commit clears quickly.
const (
	retryAfterBacklog = 5
	retryAfterBusy    = 1
)

// ingestResponse is the answer of POST /v1/events. IDs lists the event ID
// of every accepted item in item order (the items not in Rejected);
// Duplicates counts the accepted items whose ID was already stored or
// repeated earlier in the body, which were not stored again.
type ingestResponse struct {
	Error      string         `json:"error,omitempty"`
	Accepted   int            `json:"accepted"`
	Duplicates int            `json:"duplicates"`
	IDs        []string       `json:"ids"`
	Rejected   []rejectedItem `json:"rejected"`
}

type rejectedItem struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// handleIngest serves POST /v1/events: it answers 202 only after the
// accepted events and the rejected records are committed in one
// transaction.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	if depth := s.opts.DB.InboxDepth(); depth >= s.opts.InboxLimit {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterBacklog))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf(
			"inbox backlog: %d events are waiting to be scored (limit %d); retry later", depth, s.opts.InboxLimit))
		return
	}
	release, ok := s.acquire(w)
	if !ok {
		return
	}
	defer release()
	body, herr := s.readBody(w, r)
	if herr != nil {
		writeError(w, herr.code, herr.msg)
		return
	}
	batch, err := parseIngestBody(body, isNDJSON(r.Header.Get("Content-Type")), s.opts.MaxItems, s.opts.NewID)
	switch {
	case errors.Is(err, errTooManyItems):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	events, rejects := s.records(batch)
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.WriteTimeout)
	defer cancel()
	start := time.Now()
	fresh, err := s.opts.DB.Enqueue(ctx, events, rejects, nil)
	s.opts.Metrics.ObserveCommit("enqueue", time.Since(start))
	if err != nil {
		s.log.Error("collector server: storing posted events", "events", len(events), "rejected", len(rejects), "error", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterBusy))
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("could not store the events, retry: %v", err))
		return
	}
	s.answerIngest(w, batch, fresh)
}

// acquire takes one of the MaxConcurrent body-reading slots, or answers 429.
func (s *Server) acquire(w http.ResponseWriter) (release func(), ok bool) {
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, true
	default:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterBusy))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf(
			"too many requests in progress (%d); retry shortly", s.opts.MaxConcurrent))
		return nil, false
	}
}

// records turns a parsed batch into what the store takes: the events to
// enqueue (without in-body duplicates) and the rejected records.
func (s *Server) records(b ingestBatch) ([]store.InboxEvent, []store.Rejected) {
	now := s.opts.Now()
	var events []store.InboxEvent
	for _, a := range b.Accepted {
		if a.Event != nil {
			events = append(events, store.InboxEvent{
				EventID: a.ID, Source: httpSource, ReceivedAt: now, Body: a.Event.Raw,
			})
		}
	}
	rejects := make([]store.Rejected, len(b.Rejected))
	for i, rj := range b.Rejected {
		rejects[i] = store.Rejected{
			Time: now, Source: httpSource, Position: rj.Position, Reason: rj.Err.Error(), Head: rj.Head,
		}
	}
	return events, rejects
}

// answerIngest counts the outcome, wakes the pipeline if anything new was
// stored, and answers 202, or 400 when no item was usable. fresh holds the
// store's flags for the batch's events in order.
func (s *Server) answerIngest(w http.ResponseWriter, b ingestBatch, fresh []bool) {
	resp := ingestResponse{
		Accepted: len(b.Accepted),
		IDs:      make([]string, len(b.Accepted)),
		Rejected: make([]rejectedItem, len(b.Rejected)),
	}
	stored, k := 0, 0
	for i, a := range b.Accepted {
		resp.IDs[i] = a.ID
		switch {
		case a.Event == nil:
			resp.Duplicates++
		case k < len(fresh) && fresh[k]:
			stored++
			k++
		default:
			resp.Duplicates++
			k++
		}
	}
	m := s.opts.Metrics
	for i, rj := range b.Rejected {
		resp.Rejected[i] = rejectedItem{Index: rj.Index, Error: rj.Position + ": " + rj.Err.Error()}
		m.EventsRejected.WithLabelValues(httpSource, RejectClass(rj.Err)).Inc()
	}
	s.countIngest(len(b.Accepted)+len(b.Rejected), resp.Rejected)
	m.EventsAccepted.WithLabelValues(httpSource).Add(float64(stored))
	m.EventsDuplicate.WithLabelValues(httpSource).Add(float64(resp.Duplicates))
	if stored > 0 && s.opts.Notify != nil {
		s.opts.Notify()
	}
	if resp.Accepted == 0 {
		resp.Error = "no usable event in the body: " + resp.Rejected[0].Error
		if n := len(resp.Rejected) - 1; n > 0 {
			resp.Error += fmt.Sprintf(" (and %d more rejected)", n)
		}
		writeJSON(w, http.StatusBadRequest, resp)
		return
	}
	writeJSON(w, http.StatusAccepted, resp)
}
