package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/policy"
)

// The table: every read of the contract, declared once. Each op names the
// Reader method it serves, its route, how its query travels (the query
// struct's tags, see codec.go), how its result travels, and how the results
// of several collectors combine. The handler (Register) serves exactly
// these routes, Remote's methods call exactly these ops, and Federation's
// methods fan out through them; TestEveryReaderMethodIsAnOp checks that
// each Reader method has its op, that the handler serves it and that
// Remote asks it.
//
// To add a read: a method on Reader, its query struct in query.go, its op
// here (and in table), a one-line method on Remote and on Federation, and
// the implementations of Reader (collector.Reader, the dashboard's test
// fixture).
//
// Writes are ops too: method POST, the query struct is the JSON body (read
// with a size limit and no unknown fields), the same guard (the token rule
// of ingest) applies, and B is the interface that performs it (Writer).
// A write is not federated: Federation refuses it (see Federation.Label).
var (
	opLatest = newOp(op[Reader, LatestQuery, []decision.Decision]{
		name: "Latest", route: "latest", method: http.MethodGet, path: "/v1/decisions/latest",
		call:  Reader.Latest,
		wire:  decisionsWire,
		bound: func(q *LatestQuery) { q.N = min(q.N, maxList) },
		merge: func(q LatestQuery, parts []part[[]decision.Decision]) ([]decision.Decision, error) {
			return mergeLists(parts, q.N, byArrival, true), nil
		},
	})
	opDecision = newOp(op[Reader, decisionQuery, decision.Decision]{
		name: "Decision", route: "decision", method: http.MethodGet, path: "/v1/decisions/{id}",
		call: func(r Reader, ctx context.Context, q decisionQuery) (decision.Decision, error) {
			return r.Decision(ctx, q.ID)
		},
		wire: decisionWire,
		local: func(q decisionQuery) (decision.Decision, error) {
			return decision.Decision{}, NotFound(fmt.Errorf("decision %q: not found", q.ID))
		},
		merge: firstFound,
	})
	opRange = newOp(op[Reader, RangeQuery, Page]{
		name: "Range", route: "decisions", method: http.MethodGet, path: "/v1/decisions",
		call:     Reader.Range,
		wire:     pageWire,
		bound:    func(q *RangeQuery) { q.Limit = min(q.Limit, maxList) },
		federate: federateRange,
	})
	opJourney = newOp(op[Reader, JourneyQuery, []decision.Decision]{
		name: "Journey", route: "journey", method: http.MethodGet, path: "/v1/users/{id}/journey",
		call:  Reader.Journey,
		wire:  decisionsWire,
		bound: func(q *JourneyQuery) { q.Limit = listLimit(q.Limit) },
		local: func(JourneyQuery) ([]decision.Decision, error) { return nil, nil },
		merge: func(q JourneyQuery, parts []part[[]decision.Decision]) ([]decision.Decision, error) {
			return mergeLists(parts, q.Limit, byEventTime, true), nil
		},
	})
	opUsers = newOp(op[Reader, UsersQuery, []decision.UserSummary]{
		name: "Users", route: "users", method: http.MethodGet, path: "/v1/users",
		call:     Reader.Users,
		bound:    func(q *UsersQuery) { q.Limit = listLimit(q.Limit) },
		federate: federateUsers,
	})
	opSearchUsers = newOp(op[Reader, UsersQuery, UserList]{
		name: "SearchUsers", route: "search_users", method: http.MethodGet, path: "/v1/users/search",
		call:     Reader.SearchUsers,
		bound:    func(q *UsersQuery) { q.Limit = listLimit(q.Limit) },
		federate: federateSearchUsers,
	})
	opRates = newOp(op[Reader, RatesQuery, []decision.MinuteCounts]{
		name: "Rates", route: "rates", method: http.MethodGet, path: "/v1/rates",
		call:  Reader.Rates,
		merge: mergeRates,
	})
	opStats = newOp(op[Reader, StatsQuery, decision.Totals]{
		name: "Stats", route: "stats", method: http.MethodGet, path: "/v1/stats",
		call:  Reader.Stats,
		merge: mergeTotals,
	})
	opHistogram = newOp(op[Reader, HistogramQuery, decision.Histogram]{
		name: "Histogram", route: "histogram", method: http.MethodGet, path: "/v1/histogram",
		call:  Reader.Histogram,
		merge: mergeHistograms,
	})
	opWhatIf = newOp(op[Reader, WhatIfQuery, decision.WhatIf]{
		name: "WhatIf", route: "whatif", method: http.MethodGet, path: "/v1/whatif",
		call:  Reader.WhatIf,
		merge: mergeWhatIfs,
	})
	opFlips = newOp(op[Reader, FlipsQuery, []decision.Decision]{
		name: "Flips", route: "flips", method: http.MethodGet, path: "/v1/flips",
		call:  Reader.Flips,
		wire:  decisionsWire,
		bound: func(q *FlipsQuery) { q.Limit = min(q.Limit, maxList) },
		merge: func(q FlipsQuery, parts []part[[]decision.Decision]) ([]decision.Decision, error) {
			return mergeLists(parts, q.Limit, byEventTime, true), nil
		},
	})
	opLabels = newOp(op[Reader, LabelsQuery, []decision.LabelEntry]{
		name: "Labels", route: "labels", method: http.MethodGet, path: "/v1/labels",
		call:  Reader.Labels,
		bound: func(q *LabelsQuery) { q.Limit = listLimit(q.Limit) },
		merge: mergeLabelLists,
	})
	opLabelHistory = newOp(op[Reader, LabelHistoryQuery, SubjectLabels]{
		name: "LabelHistory", route: "label_history", method: http.MethodGet, path: "/v1/labels/history",
		call:  Reader.LabelHistory,
		merge: mergeSubjectLabels,
	})
	opLabelStats = newOp(op[Reader, LabelStatsQuery, decision.LabelStats]{
		name: "LabelStats", route: "label_stats", method: http.MethodGet, path: "/v1/labels/stats",
		call:  Reader.LabelStats,
		merge: mergeLabelStats,
	})
	opLabelWhatIf = newOp(op[Reader, LabelWhatIfQuery, decision.LabelWhatIf]{
		name: "LabelWhatIf", route: "whatif_labels", method: http.MethodGet, path: "/v1/whatif/labels",
		call:  Reader.LabelWhatIf,
		merge: mergeLabelWhatIfs,
	})
	opLabel = newOp(op[Writer, LabelWrite, LabelResult]{
		name: "Label", route: "label", method: http.MethodPost, path: "/v1/labels",
		call:    Writer.Label,
		maxBody: MaxLabelWriteBody,
	})
	opExplain = newOp(op[Reader, ExplainQuery, Explanation]{
		name: "Explain", route: "explain", method: http.MethodGet, path: "/v1/explain",
		call:     Reader.Explain,
		federate: federateExplain,
	})
	opExplainCounts = newOp(op[Reader, ExplainCountsQuery, ExplainCounts]{
		name: "ExplainCounts", route: "explain_counts", method: http.MethodGet, path: "/v1/explain/counts",
		call:  Reader.ExplainCounts,
		merge: mergeExplainCounts,
	})
	opAlerts = newOp(op[Reader, AlertsQuery, Alerts]{
		name: "Alerts", route: "alerts", method: http.MethodGet, path: "/v1/alerts",
		call:  Reader.Alerts,
		bound: func(q *AlertsQuery) { q.History = min(max(q.History, 0), maxAlertHistory) },
		merge: mergeAlerts,
	})
	opBacktest = newOp(op[Reader, BacktestQuery, Backtest]{
		name: "Backtest", route: "alerts_backtest", method: http.MethodGet, path: "/v1/alerts/backtest",
		call:  Reader.Backtest,
		merge: mergeBacktests,
	})
	opLinks = newOp(op[Reader, LinksQuery, decision.Links]{
		name: "Links", route: "links", method: http.MethodGet, path: "/v1/users/{id}/links",
		call: Reader.Links,
		local: func(q LinksQuery) (decision.Links, error) {
			return decision.Links{Links: []decision.Link{}}, nil
		},
		merge:    mergeLinks,
		federate: federateLinks,
	})
	// The policy ops are reads that carry a policy file's text, so they
	// are POSTs (its body); a federation of several collectors replays
	// their decisions merged in event-time order (policy.go).
	opReplay = newOp(op[Reader, ReplayQuery, policy.Report]{
		name: "Replay", route: "policy_replay", method: http.MethodPost, path: "/v1/policy/replay",
		call:     Reader.Replay,
		federate: federateReplay,
	})
	opPolicyDiff = newOp(op[Reader, DiffQuery, policy.DiffReport]{
		name: "PolicyDiff", route: "policy_diff", method: http.MethodPost, path: "/v1/policy/diff",
		call:     Reader.PolicyDiff,
		federate: federateDiff,
	})
	// A reload of the shadow policy is a write with an empty body.
	opReloadShadow = newOp(op[Writer, reloadQuery, ShadowReload]{
		name: "ReloadShadowPolicy", route: "policy_shadow_reload", method: http.MethodPost, path: "/v1/policy/shadow/reload",
		call: func(w Writer, ctx context.Context, _ reloadQuery) (ShadowReload, error) {
			return w.ReloadShadowPolicy(ctx)
		},
	})
	opHealth = newOp(op[Reader, healthQuery, Health]{
		name: "Health", route: "health", method: http.MethodGet, path: "/v1/health",
		call:  func(r Reader, ctx context.Context, _ healthQuery) (Health, error) { return r.Health(ctx) },
		merge: mergeHealth,
	})
)

// table lists the ops the handler serves, in the order the collector
// names them. The stream (GET /v1/stream, Reader.Subscribe) is served
// beside them (stream_server.go).
var table = []route{opLatest, opDecision, opRange, opJourney, opUsers, opSearchUsers, opRates, opStats, opHistogram, opWhatIf, opFlips,
	opExplain, opExplainCounts, opAlerts, opBacktest, opLinks, opLabels, opLabelHistory, opLabelStats, opLabelWhatIf, opLabel,
	opReplay, opPolicyDiff, opReloadShadow, opHealth}

// maxList caps the decisions or users one answer carries. A Range page is
// capped too and says where to go on; Latest, Journey, Flips and Users
// answer at most this many (the dashboard asks for far fewer).
const maxList = 10_000

// listLimit is the limit of a list whose zero limit means "all": at most
// maxList.
func listLimit(n int) int {
	if n <= 0 || n > maxList {
		return maxList
	}
	return n
}

// op is one read or write of the contract: B is the interface that answers
// it (Reader for the reads), Q its query, R its result.
type op[B, Q, R any] struct {
	// name is the method of B the op serves ("Latest").
	name string
	// route names the route in metrics and logs ("latest").
	route  string
	method string
	// path is the route's pattern; its {name} segments are the path values
	// of Q.
	path string
	// call asks b; a method expression (Reader.Latest) where the method
	// takes Q.
	call func(b B, ctx context.Context, q Q) (R, error)
	// wire is how R travels; the zero wire is R's own JSON.
	wire wire[R]
	// bound, if set, caps a query the handler received before b sees it.
	bound func(q *Q)
	// local, if set, answers a query with an empty path value, which no
	// route can carry, without asking.
	local func(q Q) (R, error)
	// merge combines the answers several collectors gave to q, in member
	// order; failed members are there with their error, and at least one
	// succeeded. Federation uses it unless federate is set.
	merge func(q Q, parts []part[R]) (R, error)
	// federate, if set, answers q over a federation on its own (Range,
	// whose cursor holds one position per member).
	federate func(ctx context.Context, f *Federation, q Q) (R, error)
	// maxBody, if above HandlerOptions.MaxWriteBody, is a write's own
	// body limit (a label import is larger than most writes).
	maxBody int64

	codec *codec
}

// wire converts a result to and from what travels.
type wire[R any] struct {
	enc func(R) any
	dec func(data []byte) (R, error)
}

// part is one member's answer in a federation.
type part[R any] struct {
	member string
	v      R
	err    error
}

// newOp completes o: its codec, its default wire. It panics on a query type
// the codec cannot carry, when the package loads.
func newOp[B, Q, R any](o op[B, Q, R]) *op[B, Q, R] {
	o.codec = newCodec(reflect.TypeFor[Q](), o.method != http.MethodGet)
	if o.wire.enc == nil {
		o.wire = wire[R]{
			enc: func(r R) any { return r },
			dec: func(data []byte) (R, error) {
				var r R
				err := json.Unmarshal(data, &r)
				return r, err
			},
		}
	}
	return &o
}

var decisionsWire = wire[[]decision.Decision]{
	enc: func(ds []decision.Decision) any { return WireDecisions(ds) },
	dec: func(data []byte) ([]decision.Decision, error) {
		var ws []WireDecision
		err := json.Unmarshal(data, &ws)
		return fromWire(ws), err
	},
}

var decisionWire = wire[decision.Decision]{
	enc: func(d decision.Decision) any { return ToWire(d) },
	dec: func(data []byte) (decision.Decision, error) {
		var w WireDecision
		err := json.Unmarshal(data, &w)
		return w.Decision(), err
	},
}

var pageWire = wire[Page]{
	enc: func(p Page) any { return WirePage{Decisions: WireDecisions(p.Decisions), Next: p.Next} },
	dec: func(data []byte) (Page, error) {
		var w WirePage
		err := json.Unmarshal(data, &w)
		return Page{Decisions: fromWire(w.Decisions), Next: w.Next}, err
	},
}

// RouteInfo describes one route of the contract.
type RouteInfo struct {
	// Name is the method that serves it: Reader.Latest is "Latest".
	Name string
	// Route names it in metrics and logs.
	Route        string
	Method, Path string
	// Query and Result are the types that travel (Query is nil for the
	// stream).
	Query, Result reflect.Type
}

// Routes lists every route the handler serves, the ops of the table and
// the stream, in order.
func Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(table)+1)
	for _, rt := range table {
		out = append(out, rt.info())
	}
	return append(out, streamInfo)
}

// route is an op of any type, as the handler sees it.
type route interface {
	info() RouteInfo
	// handler serves the op from backend, which must implement B.
	handler(backend any, o *HandlerOptions) http.Handler
}

func (o *op[B, Q, R]) info() RouteInfo {
	return RouteInfo{Name: o.name, Route: o.route, Method: o.method, Path: o.path,
		Query: reflect.TypeFor[Q](), Result: reflect.TypeFor[R]()}
}
