package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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

// handleIngest serves POST /v1/events through the intake Run was given:
// it answers 202 only after the accepted events and the rejected records
// are committed in one transaction, 429 while the inbox is at its limit,
// and 503 when there is no intake (only Serve runs) or the commit failed.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	in := s.ingest.Load()
	if in == nil {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterBusy))
		writeError(w, http.StatusServiceUnavailable, "event ingest is not running on this server")
		return
	}
	if full, depth, limit := in.Full(); full {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterBacklog))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf(
			"inbox backlog: %d events are waiting to be scored (limit %d); retry later", depth, limit))
		return
	}
	release, ok := s.acquire(w, s.slots, "ingest")
	if !ok {
		return
	}
	defer release()
	body, herr := s.readBody(w, r)
	if herr != nil {
		writeError(w, herr.code, herr.msg)
		return
	}
	parsed, err := parseIngestBody(body, isNDJSON(r.Header.Get("Content-Type")), s.opts.MaxItems, s.opts.NewID)
	switch {
	case errors.Is(err, errTooManyItems):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	b := in.Batch()
	b.Grow(len(parsed.Accepted))
	for _, a := range parsed.Accepted {
		b.AcceptEvent(a.ID, a.Event)
	}
	for _, rj := range parsed.Rejected {
		b.Reject(rj.Position, rj.Err, rj.Head)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.WriteTimeout)
	defer cancel()
	fresh, err := in.Commit(ctx, b)
	if err != nil {
		s.log.Error("collector server: storing posted events", "events", len(parsed.Accepted), "rejected", len(parsed.Rejected), "error", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterBusy))
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("could not store the events, retry: %v", err))
		return
	}
	answerIngest(w, parsed, fresh)
}

// acquire takes one of the slots (the ingest's or the proxy's), or answers
// 429.
func (s *Server) acquire(w http.ResponseWriter, slots chan struct{}, what string) (release func(), ok bool) {
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, true
	default:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterBusy))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf(
			"too many %s requests in progress (%d); retry shortly", what, cap(slots)))
		return nil, false
	}
}

// answerIngest answers 202, or 400 when no item was usable. fresh holds the
// intake's flags for the accepted items in order: an item that was not
// stored (its ID already stored, or repeated earlier in the body) is a
// duplicate.
func answerIngest(w http.ResponseWriter, b ingestBatch, fresh []bool) {
	resp := ingestResponse{
		Accepted: len(b.Accepted),
		IDs:      make([]string, len(b.Accepted)),
		Rejected: make([]rejectedItem, len(b.Rejected)),
	}
	for i, a := range b.Accepted {
		resp.IDs[i] = a.ID
		if !fresh[i] {
			resp.Duplicates++
		}
	}
	for i, rj := range b.Rejected {
		resp.Rejected[i] = rejectedItem{Index: rj.Index, Error: rj.Position + ": " + rj.Err.Error()}
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
