package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/api"
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

func (r *Reader) filter(expr string) (*store.Filter, error) {
	if expr == "" {
		return nil, nil
	}
	f, err := store.ParseFilter(expr, r.now())
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	return f, nil
}

// Latest returns the newest decisions matching filter, newest first.
func (r *Reader) Latest(ctx context.Context, filter string, n int) ([]store.Decision, error) {
	f, err := r.filter(filter)
	if err != nil {
		return nil, err
	}
	return r.db.Latest(ctx, f, n)
}

// Decision returns one decision by ID.
func (r *Reader) Decision(ctx context.Context, id string) (store.Decision, error) {
	return r.db.Get(ctx, id)
}

// Rates returns the per-minute rollup between from and to.
func (r *Reader) Rates(ctx context.Context, from, to time.Time) ([]store.MinuteCounts, error) {
	return r.db.Rates(ctx, from, to)
}

// Stats returns the totals for a window and filter.
func (r *Reader) Stats(ctx context.Context, q api.StatsQuery) (store.Totals, error) {
	f, err := r.filter(q.Filter)
	if err != nil {
		return store.Totals{}, err
	}
	return r.db.Totals(ctx, q.Since, q.Until, f)
}

// Health returns the collector's state.
func (r *Reader) Health(ctx context.Context) (api.Health, error) {
	return r.health(ctx), nil
}

// Subscribe delivers new decisions in batches until ctx ends.
func (r *Reader) Subscribe(ctx context.Context) <-chan api.Batch {
	return r.hub.Subscribe(ctx, SubscribeOptions{})
}
