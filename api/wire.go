package api

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// The wire format of the collector's read API (GET /v1/...). Both ends live
// in this module: the collector's server encodes with these types and Remote
// decodes with them, so the two cannot drift apart.
//
// Everything else travels as the JSON of its own type (decision.Totals,
// decision.Histogram, decision.WhatIf, decision.UserSummary, decision.MinuteCounts,
// Health). Times are RFC 3339 with nanoseconds, in UTC.

// WireDecision is a decision.Decision as the read API carries it: the JSON of
// decision.Decision, plus latency_ns (decision.Decision leaves its latency out of
// JSON), with the raw request and response base64-encoded so that they
// arrive byte for byte even when they are not valid JSON (an HTML error
// page from a proxy in front of Safe-e, say).
type WireDecision struct {
	wireFields
	LatencyNS int64  `json:"latency_ns"`
	Request   []byte `json:"request"`
	Response  []byte `json:"response"`
}

// wireFields carries decision.Decision's fields without its methods, so that a
// method added to decision.Decision later cannot change the wire format. Its
// Request and Response are shadowed by WireDecision's.
type wireFields decision.Decision

// ToWire converts a decision to its wire form.
func ToWire(d decision.Decision) WireDecision {
	w := WireDecision{wireFields: wireFields(d), LatencyNS: int64(d.Latency), Request: d.Request, Response: d.Response}
	w.wireFields.Request, w.wireFields.Response = nil, nil
	return w
}

// Decision converts the wire form back; ToWire then Decision is the identity.
func (w WireDecision) Decision() decision.Decision {
	d := decision.Decision(w.wireFields)
	d.Latency = time.Duration(w.LatencyNS)
	d.Request, d.Response = json.RawMessage(w.Request), json.RawMessage(w.Response)
	return d
}

// WireDecisions converts a list; nil stays nil, so an empty answer and no
// answer look the same at both ends.
func WireDecisions(ds []decision.Decision) []WireDecision {
	if ds == nil {
		return nil
	}
	out := make([]WireDecision, len(ds))
	for i := range ds {
		out[i] = ToWire(ds[i])
	}
	return out
}

// fromWire is the inverse of WireDecisions.
func fromWire(ws []WireDecision) []decision.Decision {
	if ws == nil {
		return nil
	}
	out := make([]decision.Decision, len(ws))
	for i := range ws {
		out[i] = ws[i].Decision()
	}
	return out
}

// WirePage is a Page on the wire (GET /v1/decisions).
type WirePage struct {
	Decisions []WireDecision `json:"decisions"`
	Next      string         `json:"next,omitempty"`
}

// WireBatch is the data of one event of GET /v1/stream: the decisions
// stored after the previous event's, oldest first.
type WireBatch struct {
	Decisions []WireDecision `json:"decisions"`
	Missed    int            `json:"missed,omitempty"`
}

// WireError is the body of every error answer of the collector. Code is
// set when a client should tell the error apart: CodeNotFound.
type WireError struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

// CodeNotFound marks an answer to a decision that is not stored (rather
// than a route that does not exist); Remote turns it into an error
// wrapping ErrNotFound.
const CodeNotFound = "not_found"

// ZeroID is the resume position before every decision: a stream started
// after it replays the whole store. The collector sends it as the first
// event ID of a stream over an empty store.
const ZeroID = "00000000000000000000000000000000"

// The names of decision.UserSort in the sort= parameter of GET /v1/users.
var userSortNames = map[decision.UserSort]string{
	decision.SortLastSeen: "last_seen",
	decision.SortMaxRisk:  "max_risk",
	decision.SortDenies:   "denies",
}

// UserSortName returns the wire name of s.
func UserSortName(s decision.UserSort) (string, error) {
	if n, ok := userSortNames[s]; ok {
		return n, nil
	}
	return "", fmt.Errorf("unknown user sort %d", int(s))
}

// ParseUserSort reads a wire name: last_seen, max_risk or denies.
func ParseUserSort(name string) (decision.UserSort, error) {
	for s, n := range userSortNames {
		if n == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown sort %q (want last_seen, max_risk or denies)", name)
}
