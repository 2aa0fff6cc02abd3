package collector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/alert"
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
	// alerts answers Alerts: the collector's evaluator, or the store's
	// stored state.
	alerts func(context.Context, api.AlertsQuery) (api.Alerts, error)
	// rules are the collector's alert rules, which Backtest replays when
	// asked for no others.
	rules []alert.Rule
	now   func() time.Time
	// shadow is the collector's shadow policy, nil when none is set.
	shadow *Shadow
}

// Reader returns the dashboard's read interface for this collector.
func (c *Collector) Reader() *Reader {
	r := &Reader{db: c.o.DB, hub: c.hub, health: c.Health, now: c.o.Now, rules: c.o.Alerts, shadow: c.shadow}
	r.alerts = func(ctx context.Context, q api.AlertsQuery) (api.Alerts, error) {
		if c.alerter != nil {
			return c.alerter.alerts(ctx, q)
		}
		h, note, err := alertHistory(ctx, c.o.DB, q.History)
		return api.Alerts{Alerts: []api.AlertStatus{}, History: h, Error: note}, err
	}
	return r
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
	r.alerts = func(ctx context.Context, q api.AlertsQuery) (api.Alerts, error) { return storedAlerts(ctx, db, q) }
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
	case errors.Is(err, store.ErrBadCursor), errors.Is(err, store.ErrBadQuery):
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
	return r.labelled(ctx).of(r.db.LatestOf(ctx, f, q.N, q.Before, store.Brief(q.Brief)))
}

// After returns up to n decisions stored after the decision with ID after,
// oldest first, in arrival order (the stream's tail).
func (r *Reader) After(ctx context.Context, after string, n int) ([]decision.Decision, error) {
	if err := checkID("after", after); err != nil {
		return nil, err
	}
	return r.labelled(ctx).of(r.db.After(ctx, after, n))
}

// Decision returns one decision by ID.
func (r *Reader) Decision(ctx context.Context, id string) (decision.Decision, error) {
	d, err := r.db.Get(ctx, id)
	if err != nil {
		return d, kinded(err)
	}
	ds, err := r.labelled(ctx).of([]decision.Decision{d}, nil)
	if err != nil {
		return decision.Decision{}, err
	}
	return ds[0], nil
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
	ds, err := r.labelledAsOf(ctx, q.AsOf).of(p.Decisions, err)
	return api.Page{Decisions: ds, Next: p.Next}, err
}

// Journey returns one user's decisions, newest first.
func (r *Reader) Journey(ctx context.Context, q api.JourneyQuery) ([]decision.Decision, error) {
	return r.labelled(ctx).of(r.db.UserDecisionsOf(ctx, q.User, q.Limit, store.Brief(q.Brief)))
}

// Users lists users with their aggregates.
func (r *Reader) Users(ctx context.Context, q api.UsersQuery) ([]decision.UserSummary, error) {
	us, err := r.db.Users(ctx, store.UsersQuery{Sort: q.Sort, Search: q.Search, IP: q.IP, Limit: q.Limit})
	return us, kinded(err)
}

// SearchUsers lists users as Users does, with q.Search matching the user
// ID, the last IP and every email of the user's stored decisions, without
// regard to case, and counts every match. Without a search it reads the
// store's rank index (only q.Limit entries; on q.IP, the IP index); with
// one it reads every summary and every stored decision whose email
// contains it: exact, at the cost of a scan. q.Offset reads the users
// before the page too; q.Users is answered by namedUsers.
func (r *Reader) SearchUsers(ctx context.Context, q api.UsersQuery) (api.UserList, error) {
	n, err := q.Window()
	switch {
	case err != nil:
		return api.UserList{}, err
	case len(q.Users) > 0:
		return r.namedUsers(ctx, q)
	case q.Search == "":
		p, err := r.db.UserPage(ctx, store.UsersQuery{Sort: q.Sort, IP: q.IP, Limit: n})
		if err != nil {
			return api.UserList{}, kinded(err)
		}
		return api.UserList{Users: q.Page(p.Users), Total: p.Total}, nil
	}
	all, err := r.db.Users(ctx, store.UsersQuery{Sort: q.Sort, IP: q.IP})
	if err != nil {
		return api.UserList{}, kinded(err)
	}
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
	return api.UserList{Users: slices.Clone(q.Page(keep)), Total: len(keep)}, nil
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
	return r.labelled(ctx).of(r.db.FlipsOf(ctx, q.Thresholds, q.From, q.To, q.Limit, store.Brief(q.Brief)))
}

// Notify signals newly stored decisions without carrying them (the
// stream's wake-up, see api.Notifier); without a hub nothing is signalled
// and the channel closes when ctx ends.
func (r *Reader) Notify(ctx context.Context) <-chan struct{} {
	if r.hub != nil {
		return r.hub.Notify(ctx)
	}
	ch := make(chan struct{})
	context.AfterFunc(ctx, func() { close(ch) })
	return ch
}

var _ api.Notifier = (*Reader)(nil)

// Links returns the users linked to q.User within q.Window before now; zero
// fields take their defaults (30 days, cap 50, depth 1).
func (r *Reader) Links(ctx context.Context, q api.LinksQuery) (decision.Links, error) {
	q.Window = cmp.Or(q.Window, decision.DefaultLinkWindow)
	q.Cap = cmp.Or(q.Cap, decision.DefaultLinkCap)
	q.Depth = cmp.Or(q.Depth, 1)
	switch {
	case q.Window < 0:
		return decision.Links{}, api.Invalid(errors.New("window: must be positive"))
	case q.Cap < 1 || q.Cap > decision.MaxLinkCap:
		return decision.Links{}, api.Invalid(fmt.Errorf("cap: want 1 to %d users, got %d", decision.MaxLinkCap, q.Cap))
	case q.Depth != 1 && q.Depth != 2:
		return decision.Links{}, api.Invalid(fmt.Errorf("depth: %w, got %d", decision.ErrLinkDepth, q.Depth))
	}
	extra, err := decision.ParseLinkValues(q.Values)
	if err != nil {
		return decision.Links{}, api.Invalid(fmt.Errorf("values: %w", err))
	}
	from := r.now().Add(-time.Duration(q.Window))
	return r.labelled(ctx).links(r.db.Links(ctx, store.LinksQuery{User: q.User, From: from, Cap: q.Cap, Depth: q.Depth, Extra: extra}))
}

// Subscribe delivers new decisions in batches until ctx ends; without a
// collector it delivers nothing and closes the channel when ctx ends.
func (r *Reader) Subscribe(ctx context.Context) <-chan api.Batch {
	if r.hub != nil {
		return r.labelBatches(ctx, r.hub.Subscribe(ctx, SubscribeOptions{}))
	}
	ch := make(chan api.Batch)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}

// Alerts returns the alert rules' state and their newest transitions.
func (r *Reader) Alerts(ctx context.Context, q api.AlertsQuery) (api.Alerts, error) {
	return r.alerts(ctx, q)
}

// Backtest replays q.Rules, or the collector's own rules, over the stored
// decisions of q's window (to now when q.To is zero), as alert.Backtest.
func (r *Reader) Backtest(ctx context.Context, q api.BacktestQuery) (api.Backtest, error) {
	rules := r.rules
	if q.Rules != "" {
		if len(q.Rules) > api.MaxBacktestRules {
			return api.Backtest{}, api.Invalid(fmt.Errorf("rules: %d bytes, at most %d", len(q.Rules), api.MaxBacktestRules))
		}
		var err error
		if rules, err = alert.ParseFile("(request)", []byte(q.Rules)); err != nil {
			return api.Backtest{}, api.Invalid(err)
		}
	}
	if len(rules) == 0 {
		return api.Backtest{}, api.Invalid(errors.New("no alert rules: this collector has none configured, send them as rules"))
	}
	to := q.To
	if now := r.now().Add(-alert.DefaultSettle); to.IsZero() || to.After(now) {
		to = now
	}
	if q.From.IsZero() || !q.From.Before(to) {
		return api.Backtest{}, api.Invalid(fmt.Errorf("from %s: want a time before %s", q.From.Format(time.RFC3339), to.Format(time.RFC3339)))
	}
	if to.Sub(q.From) > maxBacktest {
		return api.Backtest{}, api.Invalid(fmt.Errorf("from %s to %s: at most %s", q.From.Format(time.RFC3339), to.Format(time.RFC3339), maxBacktest))
	}
	src := NewAlertSource(r.db, r.now, alert.DefaultSettle)
	src.Watch(rules)
	rep, err := alert.Backtest(ctx, src, rules, q.From, to)
	if err != nil {
		return api.Backtest{}, kinded(err)
	}
	return backtestOf(rep), nil
}

// maxBacktest bounds the range one backtest replays.
const maxBacktest = 31 * 24 * time.Hour

// backtestOf is the served form of a backtest report.
func backtestOf(rep alert.Report) api.Backtest {
	out := api.Backtest{Alerts: make([]api.BacktestAlert, len(rep.Alerts))}
	for i, ar := range rep.Alerts {
		fs := make([]api.BacktestFiring, len(ar.Firings))
		for j, f := range ar.Firings {
			fs[j] = api.BacktestFiring{From: f.From, To: f.To, Peak: f.Peak}
		}
		out.Alerts[i] = api.BacktestAlert{Name: ar.Name, Firings: fs, Evaluated: ar.Evaluated, Thin: ar.Thin}
	}
	return out
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

// stream is the store's decisions in event-time order, what a replay
// reads, each with its label in force as of asOf (as Range sets it), so
// that the replay measures against labels.
func (r *Reader) stream(ctx context.Context, from, to, asOf time.Time) policy.Decisions {
	return func(yield func(*decision.Decision, error) bool) {
		book, err := r.db.LabelBook(ctx, asOf)
		if err != nil {
			yield(nil, kinded(err))
			return
		}
		for d, err := range r.db.Scan(ctx, from, to) {
			if err == nil {
				d.Label = ""
				if e, ok := book.Of(d); ok {
					d.Label = e.Class
				}
			}
			if !yield(d, err) {
				return
			}
		}
	}
}
