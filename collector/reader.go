package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// Reader is the in-process api.Reader: queries go straight to the store and
// new decisions come from the hub.
type Reader struct {
	db     *store.DB
	hub    *Hub
	health func(context.Context) api.Health
	now    func() time.Time
}

// Reader returns the dashboard's read interface for this collector.
func (c *Collector) Reader() *Reader {
	return &Reader{db: c.o.DB, hub: c.hub, health: c.Health, now: c.o.Now}
}

var _ api.Reader = (*Reader)(nil)

func (r *Reader) filter(expr string) (*decision.Filter, error) {
	if expr == "" {
		return nil, nil
	}
	f, err := decision.ParseFilter(expr, r.now())
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	return f, nil
}

// Latest returns the newest decisions matching filter, newest first.
func (r *Reader) Latest(ctx context.Context, filter string, n int) ([]decision.Decision, error) {
	f, err := r.filter(filter)
	if err != nil {
		return nil, err
	}
	return r.db.Latest(ctx, f, n, "")
}

// Decision returns one decision by ID.
func (r *Reader) Decision(ctx context.Context, id string) (decision.Decision, error) {
	return r.db.Get(ctx, id)
}

// Rates returns the per-minute rollup between from and to.
func (r *Reader) Rates(ctx context.Context, from, to time.Time) ([]decision.MinuteCounts, error) {
	return r.db.Rates(ctx, from, to)
}

// Stats returns the totals for a window and filter.
func (r *Reader) Stats(ctx context.Context, q api.StatsQuery) (decision.Totals, error) {
	f, err := r.filter(q.Filter)
	if err != nil {
		return decision.Totals{}, err
	}
	return r.db.Totals(ctx, q.Since, q.Until, f)
}

// Health returns the collector's state.
func (r *Reader) Health(ctx context.Context) (api.Health, error) {
	return r.health(ctx), nil
}

// Range pages through decisions.
func (r *Reader) Range(ctx context.Context, q api.RangeQuery) (store.Page, error) {
	f, err := r.filter(q.Filter)
	if err != nil {
		return store.Page{}, err
	}
	return r.db.Range(ctx, store.RangeQuery{From: q.From, To: q.To, Reverse: q.Reverse, Limit: q.Limit, Cursor: q.Cursor, Filter: f})
}

// After returns up to n decisions stored after the decision with ID after,
// oldest first, in arrival order (the stream's tail).
func (r *Reader) After(ctx context.Context, after string, n int) ([]decision.Decision, error) {
	return r.db.After(ctx, after, n)
}

// Journey returns one user's decisions, newest first.
func (r *Reader) Journey(ctx context.Context, userID string, limit int) ([]decision.Decision, error) {
	return r.db.UserDecisions(ctx, userID, limit)
}

// Users lists users with their aggregates.
func (r *Reader) Users(ctx context.Context, q store.UsersQuery) ([]decision.UserSummary, error) {
	return r.db.Users(ctx, q)
}

// Histogram is one score's distribution over a window.
func (r *Reader) Histogram(ctx context.Context, s decision.Score, from, to time.Time) (decision.Histogram, error) {
	return r.db.Histogram(ctx, s, from, to)
}

// WhatIf compares actual and simulated actions over a window.
func (r *Reader) WhatIf(ctx context.Context, th decision.Thresholds, from, to time.Time) (decision.WhatIf, error) {
	return r.db.WhatIf(ctx, th, from, to)
}

// Flips lists decisions whose action the thresholds would change.
func (r *Reader) Flips(ctx context.Context, th decision.Thresholds, from, to time.Time, limit int) ([]decision.Decision, error) {
	return r.db.Flips(ctx, th, from, to, limit)
}

// Subscribe delivers new decisions in batches until ctx ends.
func (r *Reader) Subscribe(ctx context.Context) <-chan api.Batch {
	return r.hub.Subscribe(ctx, SubscribeOptions{})
}
