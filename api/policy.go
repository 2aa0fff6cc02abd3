package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/policy"
)

// ReplayQuery asks for a replay of a policy file over stored decisions
// (SPEC section 12). It is a POST: the file's text travels in the body.
type ReplayQuery struct {
	// Name is the file's name in the policy's errors (FILE:LINE:COL).
	Name   string `json:"name"`
	Policy string `json:"policy"`
	// Shadow replays the collector's own shadow policy instead of Policy
	// (what the dashboard's What-if view shows); a collector without one,
	// or a federation of several, answers ErrInvalid.
	Shadow bool `json:"shadow,omitempty"`
	// From and To bound the event times of the decisions counted
	// ([From, To), zero unbounded); the decisions up to the policy's
	// longest window before From still feed its velocity.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Filter selects the decisions counted; the others still feed
	// velocity, as they did live.
	Filter string `json:"filter,omitempty"`
	// ShowChanged is how many changed decisions to list.
	ShowChanged int `json:"show_changed,omitempty"`
	// AsOf reads only the labels recorded before it for the label
	// metrics (zero: all labels, those in force now).
	AsOf time.Time `json:"as_of,omitzero"`
}

// DiffQuery asks what two policy files decide differently over stored
// decisions, as ReplayQuery asks for one.
type DiffQuery struct {
	OldName     string    `json:"old_name"`
	Old         string    `json:"old"`
	NewName     string    `json:"new_name"`
	New         string    `json:"new"`
	From        time.Time `json:"from,omitzero"`
	To          time.Time `json:"to,omitzero"`
	Filter      string    `json:"filter,omitempty"`
	ShowChanged int       `json:"show_changed,omitempty"`
	AsOf        time.Time `json:"as_of,omitzero"`
}

// ReplayReport and DiffReport are the answers of Replay and PolicyDiff
// (SPEC section 12's JSON), named here for the readers that see only api.
type (
	ReplayReport = policy.Report
	DiffReport   = policy.DiffReport
)

// Stream yields the decisions with an event time in [from, to) (zero
// values unbounded) in event-time order, each with its label in force as
// of asOf (zero: now): what a replay reads.
type Stream func(ctx context.Context, from, to, asOf time.Time) policy.Decisions

// ReplayPolicy answers q over the decisions of stream: the policy is
// parsed (its problems are ErrInvalid, one FILE:LINE:COL line each), the
// stream is read from the policy's longest window before q.From, so that
// velocity at q.From is what live evaluation had, and only the decisions
// in [q.From, q.To) that match q.Filter are counted.
func ReplayPolicy(ctx context.Context, q ReplayQuery, now time.Time, stream Stream) (policy.Report, error) {
	p, err := parsePolicy(q.Name, q.Policy)
	if err != nil {
		return policy.Report{}, err
	}
	sc, err := newScope(q.From, q.To, q.Filter, now, p.MaxWindow())
	if err != nil {
		return policy.Report{}, err
	}
	r, err := policy.Replay(p, stream(ctx, sc.from, sc.to, q.AsOf), policy.Options{Include: sc.include, ShowChanged: q.ShowChanged})
	if err != nil {
		return policy.Report{}, fmt.Errorf("replay %s: %w", q.Name, err)
	}
	return *r, nil
}

// DiffPolicies answers q over the decisions of stream, as ReplayPolicy
// does for one policy; velocity is read from the longer of the two
// policies' longest windows before q.From.
func DiffPolicies(ctx context.Context, q DiffQuery, now time.Time, stream Stream) (policy.DiffReport, error) {
	po, err := parsePolicy(q.OldName, q.Old)
	pn, nerr := parsePolicy(q.NewName, q.New)
	if err = errors.Join(err, nerr); err != nil {
		return policy.DiffReport{}, err
	}
	sc, err := newScope(q.From, q.To, q.Filter, now, max(po.MaxWindow(), pn.MaxWindow()))
	if err != nil {
		return policy.DiffReport{}, err
	}
	r, err := policy.Diff(po, pn, stream(ctx, sc.from, sc.to, q.AsOf), policy.Options{Include: sc.include, ShowChanged: q.ShowChanged})
	if err != nil {
		return policy.DiffReport{}, fmt.Errorf("diff %s %s: %w", q.OldName, q.NewName, err)
	}
	return *r, nil
}

// parsePolicy parses a policy sent with a query; its problems are
// ErrInvalid.
func parsePolicy(name, text string) (*policy.Policy, error) {
	if name == "" {
		name = "policy"
	}
	p, err := policy.Parse(name, []byte(text))
	if err != nil {
		return nil, Invalid(err)
	}
	return p, nil
}

// scope is what a replay reads and what it counts.
type scope struct {
	// from and to bound the stream: from is the policy's longest window
	// before the first decision counted.
	from, to time.Time
	include  func(d *decision.Decision) bool
}

func newScope(from, to time.Time, filter string, now time.Time, window time.Duration) (scope, error) {
	var f *decision.Filter
	if filter != "" {
		var err error
		if f, err = decision.ParseFilter(filter, now); err != nil {
			return scope{}, Invalid(fmt.Errorf("filter: %w", err))
		}
		if s := f.Since(); s.After(from) {
			from = s
		}
		if u := f.Until(); !u.IsZero() && (to.IsZero() || u.Before(to)) {
			to = u
		}
	}
	sc := scope{to: to}
	if !from.IsZero() {
		sc.from = from.Add(-window)
	}
	sc.include = func(d *decision.Decision) bool {
		return !d.EventTime.Before(from) && (f == nil || f.Match(d))
	}
	return sc, nil
}

// replayPage is how many decisions a federated replay asks each member
// for at a time.
const replayPage = 5000

// federatedStream merges the members' decisions in event-time order (then
// decision ID), each member paged through Range: a federated replay must
// see every collector's decisions in one order, since velocity (the
// decisions of an IP, a network, a device) spans collectors. A member that
// fails ends the stream with its error: a replay over part of the data
// would count velocity wrongly, so it is not partial.
func federatedStream(f *Federation) Stream {
	return func(ctx context.Context, from, to, asOf time.Time) policy.Decisions {
		return func(yield func(*decision.Decision, error) bool) {
			type head struct {
				next func() (*decision.Decision, error, bool)
				d    *decision.Decision
			}
			heads := make([]*head, 0, len(f.members))
			for _, m := range f.members {
				next, stop := iter.Pull2(memberStream(ctx, m, from, to, asOf))
				defer stop()
				heads = append(heads, &head{next: next})
			}
			advance := func(h *head) error {
				d, err, ok := h.next()
				if !ok {
					d = nil
				}
				h.d = d
				return err
			}
			for _, h := range heads {
				if err := advance(h); err != nil {
					yield(nil, err)
					return
				}
			}
			for {
				var best *head
				for _, h := range heads {
					if h.d != nil && (best == nil || byEventOrder(h.d, best.d) < 0) {
						best = h
					}
				}
				if best == nil {
					return
				}
				if !yield(best.d, nil) {
					return
				}
				if err := advance(best); err != nil {
					yield(nil, err)
					return
				}
			}
		}
	}
}

// byEventOrder orders decisions by event time, then ID.
func byEventOrder(a, b *decision.Decision) int {
	return cmp.Or(a.EventTime.Compare(b.EventTime), cmp.Compare(a.ID, b.ID))
}

// memberStream pages through one member's decisions in [from, to), with
// their labels as of asOf.
func memberStream(ctx context.Context, m *member, from, to, asOf time.Time) policy.Decisions {
	return func(yield func(*decision.Decision, error) bool) {
		q := RangeQuery{From: from, To: to, Limit: replayPage, AsOf: asOf}
		for {
			p, err := m.r.Range(ctx, q)
			m.record(err)
			if err != nil {
				yield(nil, memberError(m.name, err))
				return
			}
			for i := range p.Decisions {
				if !yield(&p.Decisions[i], nil) {
					return
				}
			}
			if p.Next == "" {
				return
			}
			q.Cursor = p.Next
		}
	}
}

// federateReplay replays over every member's decisions merged in event
// time; a federation of one asks its member.
func federateReplay(ctx context.Context, f *Federation, q ReplayQuery) (policy.Report, error) {
	if len(f.members) == 1 {
		m := f.members[0]
		r, err := m.r.Replay(ctx, q)
		m.record(ignoreInvalid(err))
		return r, err
	}
	if q.Shadow {
		return policy.Report{}, Invalid(errors.New("a federation of several collectors has no one shadow policy: replay a policy file"))
	}
	return ReplayPolicy(ctx, q, time.Now(), federatedStream(f))
}

// federateDiff is federateReplay for two policies.
func federateDiff(ctx context.Context, f *Federation, q DiffQuery) (policy.DiffReport, error) {
	if len(f.members) == 1 {
		m := f.members[0]
		r, err := m.r.PolicyDiff(ctx, q)
		m.record(ignoreInvalid(err))
		return r, err
	}
	return DiffPolicies(ctx, q, time.Now(), federatedStream(f))
}

// ignoreInvalid drops an ErrInvalid: the member answered.
func ignoreInvalid(err error) error {
	if errors.Is(err, ErrInvalid) {
		return nil
	}
	return err
}
