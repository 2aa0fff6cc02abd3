// Package api is the read interface between a collector and the dashboards
// that watch it. The collector implements Reader in-process; a remote
// implementation over HTTP satisfies the same interface, so the UI never
// knows which one it has.
package api

import (
	"context"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// Reader is everything a dashboard reads. Every method may block on disk or
// network, so the UI calls them only from tea.Cmds. Results are copies owned
// by the caller.
type Reader interface {
	// Latest returns up to n of the newest decisions matching filter (the
	// filter language of SPEC section 5; empty matches all), newest first.
	Latest(ctx context.Context, filter string, n int) ([]decision.Decision, error)
	// Decision returns one decision by its ID.
	Decision(ctx context.Context, id string) (decision.Decision, error)
	// Rates returns the per-minute rollup from `from` to `to`, one entry per
	// minute including empty ones, oldest first.
	Rates(ctx context.Context, from, to time.Time) ([]decision.MinuteCounts, error)
	// Stats returns the totals, optionally over a window and filter.
	Stats(ctx context.Context, q StatsQuery) (decision.Totals, error)
	// Health returns the collector's current state.
	Health(ctx context.Context) (Health, error)
	// Range pages through decisions between From and To (zero: unbounded),
	// oldest first unless Reverse; pass Page.Next back as Cursor to go on.
	Range(ctx context.Context, q RangeQuery) (store.Page, error)
	// Journey returns up to limit of one user's decisions, newest first.
	Journey(ctx context.Context, userID string, limit int) ([]decision.Decision, error)
	// Users lists users with their aggregates, sorted and searched as q says.
	Users(ctx context.Context, q store.UsersQuery) ([]decision.UserSummary, error)
	// Histogram is the distribution of one score over [from, to), split by
	// actual action, from rollups.
	Histogram(ctx context.Context, s decision.Score, from, to time.Time) (decision.Histogram, error)
	// WhatIf compares actual actions with those the thresholds would give,
	// over [from, to) (zero from: all history), from rollups.
	WhatIf(ctx context.Context, th decision.Thresholds, from, to time.Time) (decision.WhatIf, error)
	// Flips lists up to limit decisions, newest first, whose action would
	// change under the thresholds.
	Flips(ctx context.Context, th decision.Thresholds, from, to time.Time, limit int) ([]decision.Decision, error)
	// Subscribe delivers newly stored decisions in batches a few times a
	// second until ctx ends, then closes the channel. A subscriber that falls
	// behind receives a batch with Missed > 0 instead of blocking the pipeline.
	Subscribe(ctx context.Context) <-chan Batch
}

// StatsQuery narrows Stats. Zero values mean no limit.
type StatsQuery struct {
	Since  time.Time
	Until  time.Time
	Filter string
}

// RangeQuery selects a page of decisions. Filter is in the filter language.
type RangeQuery struct {
	From    time.Time `json:"from,omitzero"`
	To      time.Time `json:"to,omitzero"`
	Reverse bool      `json:"reverse,omitempty"`
	Limit   int       `json:"limit,omitempty"`
	Cursor  string    `json:"cursor,omitempty"`
	Filter  string    `json:"filter,omitempty"`
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
	// Pipeline is PipelineRunning, PipelinePaused (the reason is in
	// PauseReason) or PipelineStopped.
	Pipeline    string `json:"pipeline"`
	PauseReason string `json:"pause_reason,omitempty"`
	Inbox       uint64 `json:"inbox"`
	InFlight    int    `json:"in_flight"`
	Retries     uint64 `json:"retries"`
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
	StoreSize   int64          `json:"store_size"`
	Decisions   uint64         `json:"decisions"`
	Rejected    uint64         `json:"rejected"`
	// LastEvent is when the newest decision was stored, zero if none.
	LastEvent time.Time `json:"last_event,omitzero"`
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
}
