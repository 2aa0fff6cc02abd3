package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/policy"
)

// Federation is a Reader over several collectors read as one (SPEC section
// 15): each method asks every member at once through its op of the table
// (ops.go) and combines the answers as the op says: counts, histograms and
// matrices add up, lists merge by time and keep their limit, Decision is
// the first member that has it, Health has one entry per member.
//
// A member that fails (cannot be reached, answers an error other than
// ErrInvalid and ErrNotFound) leaves the others' answer standing: the
// answer is partial, not an error, and Members (or Connection) says which
// member is missing, since when and why. Only when no member answers is
// the call an error; a query one member finds invalid is invalid for all.
// It is safe for concurrent use.
type Federation struct {
	members []*member
	// remotes are the members DialAll dialled, closed by Close.
	remotes []*Remote
}

var (
	_ Reader    = (*Federation)(nil)
	_ ConnState = (*Federation)(nil)
)

// Member is one reader of a federation and the name it goes by (its URL).
type Member struct {
	Name   string
	Reader Reader
}

// MemberState is how the last exchange with one member went.
type MemberState struct {
	Name string
	// OK is false before the first exchange and after a failed one.
	OK bool
	// Since is when the state became what it is.
	Since time.Time
	// Err is why the last exchange failed, nil when OK or before any.
	Err error
}

type member struct {
	name string
	r    Reader

	mu    sync.Mutex
	state MemberState
}

// Federate returns the federation of members, which must have distinct
// names. It asks nothing yet.
func Federate(members ...Member) (*Federation, error) {
	if len(members) == 0 {
		return nil, errors.New("a federation needs at least one collector")
	}
	f := &Federation{}
	now := time.Now()
	seen := map[string]bool{}
	for _, m := range members {
		if seen[m.Name] {
			return nil, fmt.Errorf("collector %s is named twice", m.Name)
		}
		seen[m.Name] = true
		f.members = append(f.members, &member{name: m.Name, r: m.Reader, state: MemberState{Name: m.Name, Since: now}})
	}
	return f, nil
}

// DialAll returns the federation of the collectors at urls, each a Remote
// (see Dial) with token and opts, named by its URL. It connects to none:
// the first call does.
func DialAll(urls []string, token string, opts RemoteOptions) (*Federation, error) {
	var members []Member
	var remotes []*Remote
	for _, u := range urls {
		r, err := Dial(u, token, opts)
		if err != nil {
			for _, r := range remotes {
				r.Close()
			}
			return nil, err
		}
		remotes = append(remotes, r)
		members = append(members, Member{Name: r.URL(), Reader: r})
	}
	f, err := Federate(members...)
	if err != nil {
		return nil, err
	}
	f.remotes = remotes
	return f, nil
}

// Close releases the idle connections of the members DialAll dialled.
func (f *Federation) Close() {
	for _, r := range f.remotes {
		r.Close()
	}
}

// Names lists the members' names, in order.
func (f *Federation) Names() []string {
	out := make([]string, len(f.members))
	for i, m := range f.members {
		out[i] = m.name
	}
	return out
}

// Members reports each member's state, in order: a member that keeps its
// own connection state (a Remote, whose streams count too) reports that,
// any other how its last query went.
func (f *Federation) Members() []MemberState {
	out := make([]MemberState, len(f.members))
	for i, m := range f.members {
		if cs, ok := m.r.(ConnState); ok {
			ok, since, err := cs.Connection()
			out[i] = MemberState{Name: m.name, OK: ok, Since: since, Err: err}
			continue
		}
		m.mu.Lock()
		out[i] = m.state
		m.mu.Unlock()
	}
	return out
}

// Connection reports ok when every member is; otherwise since is when the
// latest of the failing members failed and err names each failing member.
func (f *Federation) Connection() (ok bool, since time.Time, err error) {
	ok = true
	var errs []error
	for _, s := range f.Members() {
		if s.OK {
			continue
		}
		if ok || s.Since.After(since) {
			since = s.Since
		}
		ok = false
		if s.Err != nil {
			errs = append(errs, memberError(s.Name, s.Err))
		}
	}
	if ok {
		for _, s := range f.Members() {
			since = later(since, s.Since)
		}
	}
	return ok, since, errors.Join(errs...)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// record notes the outcome of one exchange with m.
func (m *member) record(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if (err == nil) != m.state.OK {
		m.state.OK, m.state.Since = err == nil, time.Now()
	}
	m.state.Err = err
}

// memberError names the member in err, unless err does already.
func memberError(name string, err error) error {
	if strings.Contains(err.Error(), name) {
		return err
	}
	return fmt.Errorf("collector %s: %w", name, err)
}

// fan answers q over f through op o: every member asked at once, the
// answers merged (or o's own federate).
func fan[Q, R any](ctx context.Context, f *Federation, o *op[Reader, Q, R], q Q) (R, error) {
	if o.federate != nil {
		return o.federate(ctx, f, q)
	}
	parts := each(ctx, f, func(ctx context.Context, _ int, r Reader) (R, error) { return o.call(r, ctx, q) })
	if err := settle(ctx, f, parts); err != nil {
		var zero R
		return zero, err
	}
	return o.merge(q, parts)
}

// each asks every member at once and returns their answers in order.
func each[R any](ctx context.Context, f *Federation, ask func(ctx context.Context, i int, r Reader) (R, error)) []part[R] {
	parts := make([]part[R], len(f.members))
	var wg sync.WaitGroup
	for i, m := range f.members {
		wg.Go(func() {
			v, err := ask(ctx, i, m.r)
			parts[i] = part[R]{member: m.name, v: v, err: err}
		})
	}
	wg.Wait()
	return parts
}

// settle records how each member answered and returns the error of the
// whole call: ctx's when it ended, a member's ErrInvalid, or, when no
// member answered, their errors (the first alone when every one was
// ErrNotFound). nil means at least one member answered.
func settle[R any](ctx context.Context, f *Federation, parts []part[R]) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	answered, notFound := 0, 0
	var errs []error
	for i, p := range parts {
		switch {
		case p.err == nil:
			answered++
			f.members[i].record(nil)
		case errors.Is(p.err, ErrInvalid):
			return p.err
		case errors.Is(p.err, ErrNotFound):
			notFound++
			f.members[i].record(nil)
			errs = append(errs, p.err)
		default:
			f.members[i].record(p.err)
			errs = append(errs, memberError(p.member, p.err))
		}
	}
	switch {
	case answered > 0:
		return nil
	case notFound == len(parts):
		return errs[0]
	}
	return errors.Join(errs...)
}

// Subscribe merges the members' streams: each batch as one member
// delivered it, until ctx ends and every member's channel closed. A member
// whose stream ends early leaves the others' running.
func (f *Federation) Subscribe(ctx context.Context) <-chan Batch {
	out := make(chan Batch)
	var wg sync.WaitGroup
	for _, m := range f.members {
		ch := m.r.Subscribe(ctx)
		wg.Go(func() {
			for b := range ch {
				select {
				case out <- b:
				case <-ctx.Done():
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

// The Reader methods, each one op of the table.

// Latest merges the members' newest decisions by arrival time (then ID):
// decision IDs of different collectors order their arrivals only as
// closely as the collectors' clocks agree. Before pages every member back
// from the same point.
func (f *Federation) Latest(ctx context.Context, q LatestQuery) ([]decision.Decision, error) {
	return fan(ctx, f, opLatest, q)
}

// Decision returns the first member's answer that has the decision.
func (f *Federation) Decision(ctx context.Context, id string) (decision.Decision, error) {
	return fan(ctx, f, opDecision, decisionQuery{ID: id})
}

// Rates adds the members' counts minute by minute.
func (f *Federation) Rates(ctx context.Context, q RatesQuery) ([]decision.MinuteCounts, error) {
	return fan(ctx, f, opRates, q)
}

// Stats adds the members' totals.
func (f *Federation) Stats(ctx context.Context, q StatsQuery) (decision.Totals, error) {
	return fan(ctx, f, opStats, q)
}

// Health sums the members' counters and lists each member's own health
// (or error) in Members.
func (f *Federation) Health(ctx context.Context) (Health, error) {
	return fan(ctx, f, opHealth, healthQuery{})
}

// Range merges the members' pages in event-time order; its cursor holds a
// position per member.
func (f *Federation) Range(ctx context.Context, q RangeQuery) (Page, error) {
	return fan(ctx, f, opRange, q)
}

// Journey merges the user's decisions of every member, newest first by
// event time.
func (f *Federation) Journey(ctx context.Context, q JourneyQuery) ([]decision.Decision, error) {
	return fan(ctx, f, opJourney, q)
}

// Users lists the top users of every member combined: each user's
// summaries of all members combined, exact for every sort (see
// federation_users.go); an answer not proven within the bound on round
// trips is ErrUnavailable.
func (f *Federation) Users(ctx context.Context, q UsersQuery) ([]decision.UserSummary, error) {
	return fan(ctx, f, opUsers, q)
}

// SearchUsers lists the top users of every member combined, as Users does;
// an answer not proven within the bound on round trips is the best list
// found, marked Bounded. Total is exact only for a whole list.
func (f *Federation) SearchUsers(ctx context.Context, q UsersQuery) (UserList, error) {
	return fan(ctx, f, opSearchUsers, q)
}

// Histogram adds the members' histograms.
func (f *Federation) Histogram(ctx context.Context, q HistogramQuery) (decision.Histogram, error) {
	return fan(ctx, f, opHistogram, q)
}

// WhatIf adds the members' matrices.
func (f *Federation) WhatIf(ctx context.Context, q WhatIfQuery) (decision.WhatIf, error) {
	return fan(ctx, f, opWhatIf, q)
}

// Flips merges the members' lists, newest first by event time.
func (f *Federation) Flips(ctx context.Context, q FlipsQuery) ([]decision.Decision, error) {
	return fan(ctx, f, opFlips, q)
}

// Explain analyses once over the sum of the members' counts: the answer of
// one collector holding all their decisions.
func (f *Federation) Explain(ctx context.Context, q ExplainQuery) (Explanation, error) {
	return fan(ctx, f, opExplain, q)
}

// ExplainCounts adds the members' counts.
func (f *Federation) ExplainCounts(ctx context.Context, q ExplainCountsQuery) (ExplainCounts, error) {
	return fan(ctx, f, opExplainCounts, q)
}

// Backtest lists each member's backtest, named by member.
func (f *Federation) Backtest(ctx context.Context, q BacktestQuery) (Backtest, error) {
	return fan(ctx, f, opBacktest, q)
}

// Alerts lists each member's alerts and history, named by member.
func (f *Federation) Alerts(ctx context.Context, q AlertsQuery) (Alerts, error) {
	return fan(ctx, f, opAlerts, q)
}

// Links merges the members' links value by value (see mergeLinks).
func (f *Federation) Links(ctx context.Context, q LinksQuery) (decision.Links, error) {
	return fan(ctx, f, opLinks, q)
}

// maxLinkValues bounds the values of a user a federation passes on to
// every member.
const maxLinkValues = 1000

// federateLinks reads the user's decisions in the window on every member
// first, so that each member links the user's values held on the others
// (LinksQuery.Values), then merges the members' links (mergeLinks). Depth-2
// links follow the linked users' values as each member holds them.
func federateLinks(ctx context.Context, f *Federation, q LinksQuery) (decision.Links, error) {
	if q.User != "" {
		ds, err := f.Journey(ctx, JourneyQuery{User: q.User, Limit: maxList})
		if err != nil {
			return decision.Links{}, err
		}
		from := time.Now().Add(-time.Duration(cmp.Or(q.Window, decision.DefaultLinkWindow)))
		ds = slices.DeleteFunc(ds, func(d decision.Decision) bool { return d.EventTime.Before(from) })
		vs := decision.LinkValuesOf(ds)
		q.Values = decision.FormatLinkValues(vs[:min(len(vs), maxLinkValues)])
	}
	parts := each(ctx, f, func(ctx context.Context, _ int, r Reader) (decision.Links, error) { return r.Links(ctx, q) })
	if err := settle(ctx, f, parts); err != nil {
		return decision.Links{}, err
	}
	return mergeLinks(q, parts)
}

// Replay replays the policy over every member's decisions merged in event
// time, since velocity spans collectors: the decisions of one IP or device
// may reach several. A member that fails fails the replay (a replay over
// part of the decisions would count velocity wrongly).
func (f *Federation) Replay(ctx context.Context, q ReplayQuery) (policy.Report, error) {
	return fan(ctx, f, opReplay, q)
}

// PolicyDiff compares two policies over every member's decisions merged
// in event time, as Replay does.
func (f *Federation) PolicyDiff(ctx context.Context, q DiffQuery) (policy.DiffReport, error) {
	return fan(ctx, f, opPolicyDiff, q)
}
