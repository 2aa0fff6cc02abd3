package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/store"
)

// Reader is the in-process api.Backend: queries go straight to the store
// and new decisions come from the hub. Its errors carry the api kinds: a
// bad filter or cursor is api.ErrInvalid, an unknown decision
// api.ErrNotFound (and store.ErrNotFound), a closing store
// api.ErrUnavailable.
type Reader struct {
	db *store.DB
	// hub publishes new decisions; nil for a store without a collector,
	// whose subscriptions deliver nothing.
	hub    *Hub
	health func(context.Context) api.Health
	now    func() time.Time
	// shadow is the collector's shadow policy, nil when none is set.
	shadow *Shadow
}

// Reader returns the dashboard's read interface for this collector.
func (c *Collector) Reader() *Reader {
	return &Reader{db: c.o.DB, hub: c.hub, health: c.Health, now: c.o.Now, shadow: c.shadow}
}

// NewStoreReader returns a Reader of db alone, with no collector: what
// `riskwatch tui --db`, `export` and `stats` read. Its Health says
// api.ModeReadOnly with the store's counts; its subscriptions deliver
// nothing and close when their context ends. A nil now means time.Now.
func NewStoreReader(db *store.DB, now func() time.Time) *Reader {
	if now == nil {
		now = time.Now
	}
	r := &Reader{db: db, now: now}
	r.health = r.storeHealth
	return r
}

var _ api.Backend = (*Reader)(nil)

// storeHealth is the health of a store read without a collector.
func (r *Reader) storeHealth(ctx context.Context) api.Health {
	h := api.Health{Mode: api.ModeReadOnly, Pipeline: api.PipelineStopped, Inbox: r.db.InboxDepth()}
	if info, err := r.db.Info(); err == nil {
		h.StoreSize, h.Decisions, h.Rejected = info.Size, info.Decisions, info.Rejected
	}
	if last, err := r.db.Latest(ctx, nil, 1, ""); err == nil && len(last) == 1 {
		h.LastEvent = last[0].Time
	}
	addStoreHealth(ctx, r.db, &h)
	return h
}

// healthRejects is how many of the newest rejected inputs Health reports.
const healthRejects = 10

// addStoreHealth fills in what a health snapshot reads of the store itself:
// its path, whether its file was lost under it, and the newest rejected
// inputs (which outlive a restart).
func addStoreHealth(ctx context.Context, db *store.DB, h *api.Health) {
	h.StorePath = db.Path()
	if err := db.Lost(); err != nil {
		h.StoreError = err.Error()
	}
	rs, err := db.RecentRejected(ctx, healthRejects)
	if err != nil {
		return
	}
	for _, r := range rs {
		h.Rejects = append(h.Rejects, api.Reject{Time: r.Time, Source: r.Source, Position: r.Position, Reason: r.Reason})
	}
}

// kinded gives a store error its api kind, keeping its text.
func kinded(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return api.NotFound(err)
	case errors.Is(err, store.ErrClosed):
		return api.Unavailable(err)
	case errors.Is(err, store.ErrBadCursor):
		return api.Invalid(err)
	}
	return err
}

func (r *Reader) filter(expr string) (*decision.Filter, error) {
	if expr == "" {
		return nil, nil
	}
	f, err := decision.ParseFilter(expr, r.now())
	if err != nil {
		return nil, api.Invalid(fmt.Errorf("filter: %w", err))
	}
	return f, nil
}

// checkID refuses a position that is not a decision ID (Live's paging and
// the stream's resume positions are decision IDs; Range's cursors are the
// store's own and it checks them).
func checkID(name, id string) error {
	if id != "" && !api.IsDecisionID(id) {
		return api.Invalid(fmt.Errorf("%s: want a decision ID (32 hex digits), got %q", name, id))
	}
	return nil
}

// Latest returns the newest decisions matching the filter, newest first;
// with Before, those stored before it.
func (r *Reader) Latest(ctx context.Context, q api.LatestQuery) ([]decision.Decision, error) {
	f, err := r.filter(q.Filter)
	if err != nil {
		return nil, err
	}
	if err := checkID("before", q.Before); err != nil {
		return nil, err
	}
	ds, err := r.db.Latest(ctx, f, q.N, q.Before)
	return ds, kinded(err)
}

// After returns up to n decisions stored after the decision with ID after,
// oldest first, in arrival order (the stream's tail).
func (r *Reader) After(ctx context.Context, after string, n int) ([]decision.Decision, error) {
	if err := checkID("after", after); err != nil {
		return nil, err
	}
	ds, err := r.db.After(ctx, after, n)
	return ds, kinded(err)
}

// Decision returns one decision by ID.
func (r *Reader) Decision(ctx context.Context, id string) (decision.Decision, error) {
	d, err := r.db.Get(ctx, id)
	return d, kinded(err)
}

// Rates returns the per-minute rollup of the window.
func (r *Reader) Rates(ctx context.Context, q api.RatesQuery) ([]decision.MinuteCounts, error) {
	ms, err := r.db.Rates(ctx, q.From, q.To)
	return ms, kinded(err)
}

// Stats returns the totals of a window and filter.
func (r *Reader) Stats(ctx context.Context, q api.StatsQuery) (decision.Totals, error) {
	f, err := r.filter(q.Filter)
	if err != nil {
		return decision.Totals{}, err
	}
	t, err := r.db.Totals(ctx, q.From, q.To, f)
	return t, kinded(err)
}

// Health returns the collector's state.
func (r *Reader) Health(ctx context.Context) (api.Health, error) {
	return r.health(ctx), nil
}

// Range pages through decisions.
func (r *Reader) Range(ctx context.Context, q api.RangeQuery) (api.Page, error) {
	f, err := r.filter(q.Filter)
	if err != nil {
		return api.Page{}, err
	}
	p, err := r.db.Range(ctx, store.RangeQuery{From: q.From, To: q.To, Reverse: q.Reverse, Limit: q.Limit, Cursor: q.Cursor, Filter: f})
	return api.Page{Decisions: p.Decisions, Next: p.Next}, kinded(err)
}

// Journey returns one user's decisions, newest first.
func (r *Reader) Journey(ctx context.Context, q api.JourneyQuery) ([]decision.Decision, error) {
	ds, err := r.db.UserDecisions(ctx, q.User, q.Limit)
	return ds, kinded(err)
}

// Users lists users with their aggregates.
func (r *Reader) Users(ctx context.Context, q api.UsersQuery) ([]decision.UserSummary, error) {
	us, err := r.db.Users(ctx, store.UsersQuery{Sort: q.Sort, Search: q.Search, IP: q.IP, Limit: q.Limit})
	return us, kinded(err)
}

// SearchUsers lists users as Users does, with q.Search matching the user
// ID, the last IP and every email of the user's stored decisions, without
// regard to case, and counts every match. It reads every summary (on q.IP
// if set) and, with a search, every stored decision whose email contains
// it: exact, at the cost of a scan.
func (r *Reader) SearchUsers(ctx context.Context, q api.UsersQuery) (api.UserList, error) {
	all, err := r.db.Users(ctx, store.UsersQuery{Sort: q.Sort, IP: q.IP})
	if err != nil {
		return api.UserList{}, kinded(err)
	}
	if q.Search != "" {
		emailed, err := r.emailUsers(ctx, q.Search)
		if err != nil {
			return api.UserList{}, err
		}
		s := strings.ToLower(q.Search)
		keep := all[:0]
		for _, u := range all {
			if emailed[u.UserID] || strings.Contains(strings.ToLower(u.UserID), s) ||
				strings.Contains(strings.ToLower(u.Email), s) || strings.Contains(strings.ToLower(u.LastIP), s) {
				keep = append(keep, u)
			}
		}
		all = keep
	}
	total := len(all)
	if q.Limit > 0 && len(all) > q.Limit {
		all = all[:q.Limit]
	}
	return api.UserList{Users: slices.Clone(all), Total: total}, nil
}

// emailUsers returns the users of the stored decisions whose email
// contains s without regard to case, as the filter term email: matches.
func (r *Reader) emailUsers(ctx context.Context, s string) (map[string]bool, error) {
	term := `email:"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	f, err := decision.ParseFilter(term, r.now())
	if err != nil {
		return nil, api.Invalid(fmt.Errorf("search: %w", err))
	}
	users := map[string]bool{}
	q := store.RangeQuery{Filter: f, Limit: 1000}
	for {
		p, err := r.db.Range(ctx, q)
		if err != nil {
			return nil, kinded(err)
		}
		for i := range p.Decisions {
			users[p.Decisions[i].UserID] = true
		}
		if p.Next == "" {
			return users, nil
		}
		q.Cursor = p.Next
	}
}

// checkScore refuses a score that is none of the four.
func checkScore(s decision.Score) error {
	if s < 0 || s >= decision.NumScores {
		return api.Invalid(fmt.Errorf("score: unknown score %d", int(s)))
	}
	return nil
}

// Histogram is one score's distribution over a window.
func (r *Reader) Histogram(ctx context.Context, q api.HistogramQuery) (decision.Histogram, error) {
	if err := checkScore(q.Score); err != nil {
		return decision.Histogram{}, err
	}
	h, err := r.db.Histogram(ctx, q.Score, q.From, q.To)
	return h, kinded(err)
}

// WhatIf compares actual and simulated actions over a window.
func (r *Reader) WhatIf(ctx context.Context, q api.WhatIfQuery) (decision.WhatIf, error) {
	if err := checkScore(q.Thresholds.Score); err != nil {
		return decision.WhatIf{}, err
	}
	w, err := r.db.WhatIf(ctx, q.Thresholds, q.From, q.To)
	return w, kinded(err)
}

// Flips lists decisions whose action the thresholds would change.
func (r *Reader) Flips(ctx context.Context, q api.FlipsQuery) ([]decision.Decision, error) {
	if err := checkScore(q.Thresholds.Score); err != nil {
		return nil, err
	}
	ds, err := r.db.Flips(ctx, q.Thresholds, q.From, q.To, q.Limit)
	return ds, kinded(err)
}

// Subscribe delivers new decisions in batches until ctx ends; without a
// collector it delivers nothing and closes the channel when ctx ends.
func (r *Reader) Subscribe(ctx context.Context) <-chan api.Batch {
	if r.hub != nil {
		return r.hub.Subscribe(ctx, SubscribeOptions{})
	}
	ch := make(chan api.Batch)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}

// Replay runs a policy file over the stored decisions in event-time order.
func (r *Reader) Replay(ctx context.Context, q api.ReplayQuery) (policy.Report, error) {
	if q.Shadow {
		if r.shadow == nil {
			return policy.Report{}, api.Invalid(errors.New("replay the shadow policy: this collector runs none (--shadow-policy or [policy] shadow)"))
		}
		q.Name, q.Policy = r.shadow.Text()
	}
	rep, err := api.ReplayPolicy(ctx, q, r.now(), r.stream)
	return rep, kinded(err)
}

// PolicyDiff compares two policy files over the stored decisions.
func (r *Reader) PolicyDiff(ctx context.Context, q api.DiffQuery) (policy.DiffReport, error) {
	rep, err := api.DiffPolicies(ctx, q, r.now(), r.stream)
	return rep, kinded(err)
}

// stream is the store's decisions in event-time order, what a replay reads.
func (r *Reader) stream(ctx context.Context, from, to time.Time) policy.Decisions {
	return policy.Decisions(r.db.Scan(ctx, from, to))
}
