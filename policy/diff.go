package policy

import (
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// DiffReport compares two policies over the same decisions.
type DiffReport struct {
	Decisions int       `json:"decisions"`
	From      time.Time `json:"from,omitzero"`
	To        time.Time `json:"to,omitzero"`
	// Live counts Safe-e's actions, Old and New each policy's; Matrix is
	// Matrix[old][new].
	Live   Counts `json:"live"`
	Old    Counts `json:"old"`
	New    Counts `json:"new"`
	Matrix Matrix `json:"matrix"`
	// Changed counts the decisions the two policies decide differently.
	Changed  int         `json:"changed"`
	OldRules []RuleCount `json:"old_rules"`
	NewRules []RuleCount `json:"new_rules"`
	// Changes lists the first Options.ShowChanged of them.
	Changes []DiffChange `json:"changes,omitempty"`
	// Labels is as in Report, for Safe-e's actions and both policies'.
	Labels *DiffLabels `json:"labels,omitempty"`
}

// DiffLabels is ReplayLabels for a diff: the labelled decisions' counts
// and metrics for Safe-e's actions and the old and new policies'.
type DiffLabels struct {
	Live      decision.LabelSplit `json:"live"`
	Old       decision.LabelSplit `json:"old"`
	New       decision.LabelSplit `json:"new"`
	Unlabeled uint64              `json:"unlabeled"`
}

// DiffChange is a decision two policies decide differently, with each
// one's deciding rule and what it read.
type DiffChange struct {
	Ref
	Old     decision.Action `json:"old"`
	OldRule string          `json:"old_rule"`
	OldRead map[string]any  `json:"old_read,omitempty"`
	New     decision.Action `json:"new"`
	NewRule string          `json:"new_rule"`
	NewRead map[string]any  `json:"new_read,omitempty"`
}

// Diff runs oldPolicy and newPolicy over the same decisions, as Replay
// runs one (their velocity comes from one shared Window), and compares
// what they decide.
func Diff(oldPolicy, newPolicy *Policy, decisions Decisions, opts Options) (*DiffReport, error) {
	r := &DiffReport{}
	to, tn := newTally(oldPolicy), newTally(newPolicy)
	var labels DiffLabels
	var err error
	r.From, r.To, err = replay([]*Policy{oldPolicy, newPolicy}, decisions, opts, func(d *decision.Decision, evs []*Evaluator, rs []Result) error {
		o, n := rs[0], rs[1]
		r.Decisions++
		if labelled(d) {
			labels.Live.Labels.Count(d.Label, d.Action)
			labels.Old.Labels.Count(d.Label, o.Action)
			labels.New.Labels.Count(d.Label, n.Action)
		} else {
			labels.Unlabeled++
		}
		r.Live.Add(d.Action)
		r.Matrix.Add(o.Action, n.Action)
		to.add(o)
		tn.add(n)
		if o.Action == n.Action {
			return nil
		}
		r.Changed++
		if len(r.Changes) >= opts.ShowChanged {
			return nil
		}
		oldRead, err := evs[0].Read(o.Index)
		if err != nil {
			return err
		}
		newRead, err := evs[1].Read(n.Index)
		if err != nil {
			return err
		}
		r.Changes = append(r.Changes, DiffChange{Ref: refOf(d),
			Old: o.Action, OldRule: o.Rule, OldRead: oldRead,
			New: n.Action, NewRule: n.Rule, NewRead: newRead})
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.Old, r.OldRules = to.counts, to.rules
	r.New, r.NewRules = tn.counts, tn.rules
	if labels.Unlabeled < uint64(r.Decisions) {
		r.Labels = &labels
	}
	return r, nil
}
