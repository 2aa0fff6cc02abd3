// Package api is the contract between a collector and what reads it: the
// Reader interface the dashboard and the CLI use, its query and wire types,
// the state constants, and both sides of it over HTTP. Every read (and
// write) is declared once, in the table of ops.go, and the HTTP handler
// (Handler, Register), the remote client (Remote) and the federated reader
// (Federation) are all built from that table, so a route cannot exist on
// one side only.
//
// The collector implements Reader in-process (collector.Reader); Remote is
// the same interface over HTTP, and Federation reads several collectors as
// one; the UI never knows which one it has.
package api

import (
	"context"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/policy"
)

// Reader is everything a dashboard reads. Every method may block on disk or
// network, so the UI calls them only from tea.Cmds. Results are copies owned
// by the caller. Errors wrap ErrInvalid, ErrNotFound or ErrUnavailable
// where those apply.
//
// Each method but Subscribe is an op of the table in ops.go; adding a
// method means adding its op there (TestEveryReaderMethodIsAnOp fails
// otherwise).
type Reader interface {
	// Latest returns up to q.N of the newest decisions matching q.Filter,
	// newest first in arrival order; with q.Before, those that arrived
	// before that decision (to page back).
	Latest(ctx context.Context, q LatestQuery) ([]decision.Decision, error)
	// Decision returns one decision by its ID; an unknown ID is ErrNotFound.
	Decision(ctx context.Context, id string) (decision.Decision, error)
	// Rates returns the per-minute counts over q's window, one entry per
	// minute including empty ones, oldest first.
	Rates(ctx context.Context, q RatesQuery) ([]decision.MinuteCounts, error)
	// Stats returns the totals over q's window and filter.
	Stats(ctx context.Context, q StatsQuery) (decision.Totals, error)
	// Health returns the collector's current state.
	Health(ctx context.Context) (Health, error)
	// Range pages through the decisions q selects, oldest first unless
	// q.Reverse; pass Page.Next back as q.Cursor to go on.
	Range(ctx context.Context, q RangeQuery) (Page, error)
	// Journey returns up to q.Limit of one user's decisions, newest first.
	Journey(ctx context.Context, q JourneyQuery) ([]decision.Decision, error)
	// Users lists users with their aggregates, sorted and searched as q says.
	Users(ctx context.Context, q UsersQuery) ([]decision.UserSummary, error)
	// SearchUsers lists users as Users does, except that q.Search matches
	// every email a user's stored decisions carry (not only the latest),
	// and the answer says how many users match in all, beyond q.Limit.
	SearchUsers(ctx context.Context, q UsersQuery) (UserList, error)
	// Histogram is the distribution of q.Score over q's window, split by
	// actual action, from rollups.
	Histogram(ctx context.Context, q HistogramQuery) (decision.Histogram, error)
	// WhatIf compares actual actions with those q.Thresholds would give
	// over q's window (zero From: all history), from rollups.
	WhatIf(ctx context.Context, q WhatIfQuery) (decision.WhatIf, error)
	// Flips lists up to q.Limit decisions, newest first, whose action
	// would change under q.Thresholds.
	Flips(ctx context.Context, q FlipsQuery) ([]decision.Decision, error)
	// Labels lists the labels in force as of q.AsOf, or with q.All the
	// whole ledger, oldest recorded first.
	Labels(ctx context.Context, q LabelsQuery) ([]decision.LabelEntry, error)
	// LabelHistory returns one subject's label in force and its entries.
	LabelHistory(ctx context.Context, q LabelHistoryQuery) (SubjectLabels, error)
	// LabelStats counts the labels in force by class and kind.
	LabelStats(ctx context.Context, q LabelStatsQuery) (decision.LabelStats, error)
	// LabelWhatIf counts q's decisions by label, score bucket and actual
	// action: the label x simulated matrix, metrics and curve at any
	// thresholds (decision.LabelWhatIf.Report).
	LabelWhatIf(ctx context.Context, q LabelWhatIfQuery) (decision.LabelWhatIf, error)
	// Explain says what drives q's window against its baseline (SPEC
	// section 11).
	Explain(ctx context.Context, q ExplainQuery) (Explanation, error)
	// ExplainCounts counts one round of an explanation (see RunExplain);
	// the counts of several collectors add up.
	ExplainCounts(ctx context.Context, q ExplainCountsQuery) (ExplainCounts, error)
	// Alerts returns the alert rules' state and their newest transitions.
	Alerts(ctx context.Context, q AlertsQuery) (Alerts, error)
	// Backtest replays alert rules over the stored history of q's window.
	Backtest(ctx context.Context, q BacktestQuery) (Backtest, error)
	// Links returns the users that share an IP, a network, an email domain
	// or a device with q.User within q.Window, grouped by what is shared; a
	// depth other than 1 or 2, or a cap outside 1..decision.MaxLinkCap, is
	// ErrInvalid.
	Links(ctx context.Context, q LinksQuery) (decision.Links, error)
	// Replay runs a policy file over the stored decisions in event-time
	// order (SPEC section 12); a policy that does not parse is ErrInvalid
	// with each problem as FILE:LINE:COL: message.
	Replay(ctx context.Context, q ReplayQuery) (policy.Report, error)
	// PolicyDiff runs two policy files over the stored decisions and
	// compares what they decide.
	PolicyDiff(ctx context.Context, q DiffQuery) (policy.DiffReport, error)
	// Subscribe delivers newly stored decisions in batches a few times a
	// second until ctx ends, then closes the channel. A subscriber that falls
	// behind receives a batch with Missed > 0 instead of blocking the pipeline.
	Subscribe(ctx context.Context) <-chan Batch
}

// ReadWriter reads and writes: what a dashboard that labels needs.
// Remote and Federation (which refuses writes) implement it.
type ReadWriter interface {
	Reader
	Writer
}

// Backend is what the HTTP handler serves: a Reader and a Writer, plus
// the arrival-order reading its stream (GET /v1/stream) resumes with.
type Backend interface {
	Reader
	Writer
	// After returns up to n decisions stored after the decision with ID
	// after (ZeroID: from the first), oldest first in arrival order.
	After(ctx context.Context, after string, n int) ([]decision.Decision, error)
}

// Notifier is what a Backend may offer the stream besides Subscribe: a
// signal that something new was stored, without the decisions. The
// stream reads the decisions from the store at its client's pace, so a
// wake-up is all it needs; without a Notifier it subscribes and drops the
// batches it receives.
type Notifier interface {
	// Notify returns a channel that receives a value after decisions were
	// stored (wake-ups coalesce: many stores while nobody reads make one)
	// and closes when ctx ends or no more will come.
	Notify(ctx context.Context) <-chan struct{}
}

// UserList is an answer of SearchUsers: the first users in the order
// asked, and how many users match in all.
type UserList struct {
	Users []decision.UserSummary `json:"users"`
	Total int                    `json:"total"`
	// Bounded is set by a federation whose top users are not proven
	// exact: it reached its bound on round trips (federation_users.go)
	// before it could rule out every user it did not list, or a
	// collector's whole list was longer than one answer carries. Users
	// is then its best list, each summary exact.
	Bounded bool `json:"bounded,omitempty"`
}

// Page is one page of a Range: its decisions and the cursor of the next
// page, "" after the last one. Cursors are opaque.
type Page struct {
	Decisions []decision.Decision
	Next      string
}

// Batch is a group of decisions delivered to a subscriber, oldest first.
type Batch struct {
	Decisions []decision.Decision `json:"decisions"`
	// Missed counts decisions dropped for this subscriber since the last batch
	// because it was slow; they are in the store.
	Missed int `json:"missed,omitempty"`
}

// Health is a snapshot of the collector for the Health view and /healthz.
type Health struct {
	// Mode is ModeSafee, ModeEmulator or ModeReadOnly.
	Mode string `json:"mode"`
	// SafeeURL is the base URL scored against (never the key).
	SafeeURL string   `json:"safee_url"`
	Sources  []Source `json:"sources"`
	// Pipeline is PipelineRunning, PipelinePaused or PipelineStalled (the
	// reason is in PauseReason) or PipelineStopped.
	Pipeline    string `json:"pipeline"`
	PauseReason string `json:"pause_reason,omitempty"`
	Inbox       uint64 `json:"inbox"`
	InFlight    int    `json:"in_flight"`
	Retries     uint64 `json:"retries"`
	// Redactions counts the secrets (the API key, a password of the
	// Safe-e URL) removed from Safe-e's answers and the stored requests
	// before they were stored or proxied: Safe-e echoed them.
	Redactions uint64 `json:"redactions"`
	// CommitFailures counts failed attempts to commit scored decisions
	// (each retried); while they go on, Pipeline is PipelineStalled.
	CommitFailures uint64 `json:"commit_failures"`
	// Errors counts failed Safe-e calls by kind: unauthorized, bad_event,
	// retryable, timeout, network.
	Errors map[string]uint64 `json:"errors"`
	// Breaker is BreakerClosed, BreakerHalfOpen or BreakerOpen.
	Breaker string `json:"breaker"`
	// SafeeReachable is false after the last call failed to reach Safe-e.
	SafeeReachable bool `json:"safee_reachable"`
	// StatusCodes counts Safe-e responses by HTTP status.
	StatusCodes map[int]uint64 `json:"status_codes"`
	LatencyP50  time.Duration  `json:"latency_p50"`
	LatencyP99  time.Duration  `json:"latency_p99"`
	// StorePath is the database file the collector writes (or that a
	// dashboard reads alone).
	StorePath string `json:"store_path,omitempty"`
	StoreSize int64  `json:"store_size"`
	Decisions uint64 `json:"decisions"`
	Rejected  uint64 `json:"rejected"`
	// Rejects are the newest inputs the collector could not use, newest
	// first, as the store keeps them (they outlive a restart).
	Rejects []Reject `json:"rejects,omitempty"`
	// LastEvent is when the newest decision was stored, zero if none.
	LastEvent time.Time `json:"last_event,omitzero"`
	// StoreError is set once the database file was deleted, replaced or
	// truncated under the running collector: it then refuses events
	// (ingest 503, Pipeline paused with this reason) until restarted.
	StoreError string `json:"store_error,omitempty"`
	// Notifiers are the alert notifiers (SPEC section 13); AlertError is
	// the last alert evaluation's error, "" when it went well.
	Notifiers  []NotifierHealth `json:"notifiers,omitempty"`
	AlertError string           `json:"alert_error,omitempty"`
	// Shadow is the shadow policy's state, nil when none is set.
	Shadow *ShadowHealth `json:"shadow,omitempty"`
	// Members is set by a Federation: each collector's own health, or why
	// it did not answer. The fields above then add up the members that
	// answered.
	Members []MemberHealth `json:"members,omitempty"`
}

// Reject is an input the collector could not use: when, where it came
// from, where in its source, and why.
type Reject struct {
	Time   time.Time `json:"time"`
	Source string    `json:"source"`
	// Position locates the input in its source: "offset 1234" (a file),
	// "line 17" or "item 3" (a request body).
	Position string `json:"position"`
	Reason   string `json:"reason"`
}

// ShadowHealth is the state of a collector's shadow policy: the file,
// its rules and when it was loaded, and the last reload that failed (the
// previous policy then stays in force).
type ShadowHealth struct {
	File     string    `json:"file"`
	Rules    int       `json:"rules"`
	LoadedAt time.Time `json:"loaded_at"`
	// Error is why the last reload failed, "" when it did not; ErrorAt is
	// when it failed.
	Error   string    `json:"error,omitempty"`
	ErrorAt time.Time `json:"error_at,omitzero"`
}

// MemberHealth is one collector's health in a federation.
type MemberHealth struct {
	// Name is the collector's URL.
	Name string `json:"name"`
	// Health is its answer; nil when it did not answer.
	Health *Health `json:"health,omitempty"`
	// Error says why it did not answer.
	Error string `json:"error,omitempty"`
}

// Source is one input's counters.
type Source struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	LinesRead uint64 `json:"lines_read"`
	Rejected  uint64 `json:"rejected"`
	// LastRejects holds the most recent rejection reasons, newest first.
	LastRejects []string `json:"last_rejects,omitempty"`
	// LagBytes is how far the reader is behind the end of the file.
	LagBytes int64 `json:"lag_bytes"`
	// Partitions are a Kafka source's assigned partitions, by number.
	Partitions []Partition `json:"partitions,omitempty"`
}

// Partition is one Kafka partition a collector consumes.
type Partition struct {
	Partition int32 `json:"partition"`
	// Offset is the offset after the last record stored.
	Offset int64 `json:"offset"`
	// HighWatermark is the partition's end at the last fetch, -1 before
	// the first fetch.
	HighWatermark int64 `json:"high_watermark"`
	// Lag is how many records the collector is behind the high watermark.
	Lag int64 `json:"lag"`
}
