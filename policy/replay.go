package policy

import (
	"fmt"
	"iter"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Decisions is a stream of decisions in event-time order, as a store scan
// yields them; a non-nil error ends it. A replay keeps no decision after
// the step that yielded it, apart from the strings of its velocity keys
// while they are inside a window, so a stream of any length replays in
// memory bounded by the policy's longest window.
type Decisions = iter.Seq2[*decision.Decision, error]

// Options shape a replay or a diff.
type Options struct {
	// Include selects the decisions that are evaluated and counted. The
	// others only feed velocity: stream from T-MaxWindow to replay from T
	// with the velocity live evaluation had, and leave out of Include
	// what is before T or outside a filter. Nil includes every decision.
	Include func(d *decision.Decision) bool
	// ShowChanged is how many changed decisions to list, the first ones.
	ShowChanged int
	// Each, when set, is called for every included decision with what
	// each policy decided (one Result for Replay, old then new for Diff),
	// after the report counted it: the place for other per-decision
	// tallies. The Results are valid during the call only.
	Each func(d *decision.Decision, results []Result)
}

// Report is a replay of a policy over decisions: SPEC section 12's JSON.
type Report struct {
	// Decisions counts the included decisions; From and To are the event
	// times of the first and last of them.
	Decisions int       `json:"decisions"`
	From      time.Time `json:"from,omitzero"`
	To        time.Time `json:"to,omitzero"`
	// Live counts Safe-e's actions, Policy the policy's, and Matrix both:
	// Matrix[live][policy].
	Live   Counts `json:"live"`
	Policy Counts `json:"policy"`
	Matrix Matrix `json:"matrix"`
	// Changed counts the decisions whose policy action is not Safe-e's.
	Changed int         `json:"changed"`
	Rules   []RuleCount `json:"rules"`
	// Changes lists the first Options.ShowChanged changed decisions.
	Changes []Change `json:"changes,omitempty"`
	// Labels, when a decision counted carries a label (Decision.Label),
	// measures Safe-e's and the policy's actions against the labels.
	Labels *ReplayLabels `json:"labels,omitempty"`
}

// ReplayLabels measures a replay against labels: the label x action
// counts and metrics of the labelled decisions counted, for Safe-e's
// actions (Live) and the policy's, and how many counted were unlabelled.
type ReplayLabels struct {
	Live      decision.LabelSplit `json:"live"`
	Policy    decision.LabelSplit `json:"policy"`
	Unlabeled uint64              `json:"unlabeled"`
}

// labelled is whether d carries a label that metrics count.
func labelled(d *decision.Decision) bool {
	return d.Label == decision.LabelFraud || d.Label == decision.LabelLegit
}

// RuleCount is what one rule did in a replay.
type RuleCount struct {
	Name string `json:"name"`
	// Matched counts the decisions whose type the rule applies to and on
	// which its condition held; Decided those it decided (an earlier
	// rule decides the others).
	Matched int `json:"matched"`
	Decided int `json:"decided"`
	// Errors counts the decisions on which the condition failed at run
	// time (counted as not matching); Error is the first such failure.
	Errors int    `json:"errors,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Ref identifies a decision in a list of changes.
type Ref struct {
	ID        string          `json:"id"`
	EventID   string          `json:"event_id"`
	EventTime time.Time       `json:"event_time"`
	Type      string          `json:"type"`
	UserID    string          `json:"user_id"`
	IP        string          `json:"ip"`
	Live      decision.Action `json:"live"`
}

func refOf(d *decision.Decision) Ref {
	return Ref{ID: d.ID, EventID: d.EventID, EventTime: d.EventTime, Type: d.Type, UserID: d.UserID, IP: d.IP, Live: d.Action}
}

// Change is a decision a policy changed: its action, the rule that decided
// ("" for the default) and what that rule read, with the values it saw.
type Change struct {
	Ref
	Policy decision.Action `json:"policy"`
	Rule   string          `json:"rule"`
	Read   map[string]any  `json:"read,omitempty"`
}

// Replay runs p over decisions, in order, with velocity from a Window fed
// by every decision of the stream, and counts what it decides against
// what Safe-e decided. It fails on a stream error, on decisions out of
// event-time order and on a velocity error (wrapped, with the decision).
func Replay(p *Policy, decisions Decisions, opts Options) (*Report, error) {
	r := &Report{}
	t := newTally(p)
	var labels ReplayLabels
	var err error
	r.From, r.To, err = replay([]*Policy{p}, decisions, opts, func(d *decision.Decision, evs []*Evaluator, rs []Result) error {
		res := rs[0]
		r.Decisions++
		if labelled(d) {
			labels.Live.Labels.Count(d.Label, d.Action)
			labels.Policy.Labels.Count(d.Label, res.Action)
		} else {
			labels.Unlabeled++
		}
		r.Live.Add(d.Action)
		r.Matrix.Add(d.Action, res.Action)
		t.add(res)
		if res.Action == d.Action {
			return nil
		}
		r.Changed++
		if len(r.Changes) < opts.ShowChanged {
			read, err := evs[0].Read(res.Index)
			if err != nil {
				return err
			}
			r.Changes = append(r.Changes, Change{Ref: refOf(d), Policy: res.Action, Rule: res.Rule, Read: read})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.Policy, r.Rules = t.counts, t.rules
	if labels.Unlabeled < uint64(r.Decisions) {
		r.Labels = &labels
	}
	return r, nil
}

// replay runs policies over decisions with one Window and calls visit
// with each included decision, the evaluators and their results. It
// returns the event times of the first and last included decisions.
func replay(policies []*Policy, decisions Decisions, opts Options, visit func(*decision.Decision, []*Evaluator, []Result) error) (from, to time.Time, err error) {
	var queries []Query
	for _, p := range policies {
		queries = append(queries, p.queries...)
	}
	w := NewWindow(queries...)
	evs := make([]*Evaluator, len(policies))
	for i, p := range policies {
		evs[i] = p.NewEvaluator(w)
	}
	rs := make([]Result, len(policies))
	n, included := 0, 0
	for d, err := range decisions {
		if err != nil {
			return from, to, fmt.Errorf("replay: read decisions: %w", err)
		}
		n++
		if opts.Include == nil || opts.Include(d) {
			w.prepare(d)
			for i, ev := range evs {
				if rs[i], err = ev.Evaluate(d); err != nil {
					return from, to, fmt.Errorf("replay: decision %d (event %q): %w", n, d.EventID, err)
				}
			}
			if included++; included == 1 {
				from = d.EventTime
			}
			to = d.EventTime
			if err := visit(d, evs, rs); err != nil {
				return from, to, fmt.Errorf("replay: decision %d (event %q): %w", n, d.EventID, err)
			}
			if opts.Each != nil {
				opts.Each(d, rs)
			}
		}
		if err := w.Add(d); err != nil {
			return from, to, fmt.Errorf("replay: decision %d: %w", n, err)
		}
	}
	return from, to, nil
}

// tally counts one policy's results.
type tally struct {
	counts Counts
	rules  []RuleCount
}

func newTally(p *Policy) *tally {
	t := &tally{rules: make([]RuleCount, len(p.rules))}
	for i, r := range p.rules {
		t.rules[i].Name = r.Name
	}
	return t
}

func (t *tally) add(r Result) {
	t.counts.Add(r.Action)
	for _, i := range r.Matched {
		t.rules[i].Matched++
	}
	if r.Index >= 0 {
		t.rules[r.Index].Decided++
	}
	for _, f := range r.Failed {
		rc := &t.rules[f.Index]
		if rc.Errors++; rc.Error == "" {
			rc.Error = f.Error()
		}
	}
}
