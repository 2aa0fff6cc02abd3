package alert

import (
	"time"
)

// Phase is where a rule stands.
type Phase string

// The phases. A rule starts ok; ok -> pending -> firing -> resolved, and
// resolved -> ok once its cooldown has passed.
const (
	// PhaseOK: the condition does not hold (or the sample is thin).
	PhaseOK Phase = "ok"
	// PhasePending: the condition holds and has not yet held for For, or
	// the rule is in its cooldown.
	PhasePending Phase = "pending"
	// PhaseFiring: the rule fired and has not resolved.
	PhaseFiring Phase = "firing"
	// PhaseResolved: the rule resolved and its cooldown has not passed.
	PhaseResolved Phase = "resolved"
)

// The states an Event reports.
const (
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// State is one rule's evaluation state: everything Step needs, and what
// the Alerts view shows. It marshals to JSON and back without loss (the
// store keeps it across restarts); the zero State (Phase "") is a rule
// never evaluated.
type State struct {
	Phase Phase `json:"phase"`
	// Since is the minute end at which Phase was entered.
	Since time.Time `json:"since,omitzero"`
	// LastEval is the last minute end evaluated; Step ignores any minute
	// end not after it.
	LastEval time.Time `json:"last_eval,omitzero"`
	// TrueSince is the first minute end of the current run of evaluations
	// whose condition held; zero when the last one did not.
	TrueSince time.Time `json:"true_since,omitzero"`
	// FalseSince is the first minute end of the current run of evaluations,
	// while firing, whose condition did not hold; zero otherwise.
	FalseSince time.Time `json:"false_since,omitzero"`
	// ResolvedAt is the minute end of the last resolution, for the cooldown.
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Peak is the value of the evaluation, since the rule fired, whose value
	// lay furthest beyond its threshold.
	Peak float64 `json:"peak"`
	// PeakExcess is how far Peak lay beyond its threshold, which later
	// evaluations must exceed to become the peak.
	PeakExcess float64 `json:"peak_excess"`
	// Last is the latest observation.
	Last Observation `json:"last"`
}

// Event is one transition of a rule: it fired or it resolved.
type Event struct {
	Alert string `json:"alert"`
	// State is StateFiring or StateResolved.
	State string `json:"state"`
	// At is the minute end of the evaluation that made the transition: for
	// a firing, the end of the first window in which the condition had
	// held for For; for a resolution, of the one in which it had been
	// false for max(For, 1m).
	At time.Time `json:"at"`
	// Kind and Score (shift rules only) say what Value measures.
	Kind  Kind   `json:"kind"`
	Score string `json:"score,omitempty"`
	// Value and Threshold are that evaluation's.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Peak is the firing's most extreme value (see State.Peak); for a
	// firing event it is Value.
	Peak float64 `json:"peak"`
	// Filter is the rule's filter in canonical form.
	Filter string `json:"filter"`
	// Window and Baseline are the evaluation's windows (Baseline is zero
	// for a fixed band): what an explanation of the firing should compare.
	Window   Window `json:"window"`
	Baseline Window `json:"baseline,omitzero"`
}

// Step advances s by one observation of r and returns the transition it
// makes, if any. Step is pure: the same state, rule and observation always
// give the same result. Observations must come in order of End; one whose
// End is not after s.LastEval is ignored. Rules:
//
//   - for: the rule fires at the first evaluation whose condition has held
//     at every minute end since one at least For earlier (For = 0: the
//     first evaluation that holds; For = 2m: three in a row).
//   - flap guard: a firing rule resolves only once its condition has been
//     false at every minute end over at least max(For, 1m) (at least two
//     evaluations in a row). A condition that toggles within that span
//     keeps the rule firing, and one that toggles within For never fires:
//     either way a flapping condition fires at most once per span in which
//     it settles.
//   - cooldown: after a resolution at R the rule does not fire before
//     R+Cooldown; a condition that holds meanwhile keeps it pending, and
//     it fires at R+Cooldown if the condition has held for For by then.
//   - min_events: a thin evaluation (VerdictThin) breaks a run of true or
//     false evaluations without starting one: it neither fires nor
//     resolves the rule, and a pending rule returns to ok.
//   - a gap (a minute end skipped since LastEval, e.g. after a restart)
//     breaks the current run the same way.
func (s *State) Step(r *Rule, o Observation) (Event, bool) {
	if !o.End.After(s.LastEval) {
		return Event{}, false
	}
	if !s.LastEval.IsZero() && o.End.Sub(s.LastEval) > time.Minute {
		s.TrueSince, s.FalseSince = time.Time{}, time.Time{}
	}
	s.LastEval, s.Last = o.End, o
	if s.Phase == PhaseFiring {
		return s.stepFiring(r, o)
	}
	if o.Verdict != VerdictTrue {
		s.TrueSince = time.Time{}
		if s.cooling(r, o.End) {
			s.enter(PhaseResolved, o.End)
		} else {
			s.enter(PhaseOK, o.End)
		}
		return Event{}, false
	}
	if s.TrueSince.IsZero() {
		s.TrueSince = o.End
	}
	if o.End.Sub(s.TrueSince) < r.For || s.cooling(r, o.End) {
		s.enter(PhasePending, o.End)
		return Event{}, false
	}
	s.enter(PhaseFiring, o.End)
	s.FalseSince = time.Time{}
	s.Peak, s.PeakExcess = o.Value, o.excess()
	return s.event(r, StateFiring), true
}

// stepFiring applies an observation to a firing rule.
func (s *State) stepFiring(r *Rule, o Observation) (Event, bool) {
	switch o.Verdict {
	case VerdictTrue:
		s.FalseSince = time.Time{}
		if x := o.excess(); x > s.PeakExcess {
			s.Peak, s.PeakExcess = o.Value, x
		}
		return Event{}, false
	case VerdictThin:
		s.FalseSince = time.Time{}
		return Event{}, false
	}
	if s.FalseSince.IsZero() {
		s.FalseSince = o.End
	}
	if o.End.Sub(s.FalseSince) < max(r.For, time.Minute) {
		return Event{}, false
	}
	s.enter(PhaseResolved, o.End)
	s.ResolvedAt = o.End
	s.TrueSince, s.FalseSince = time.Time{}, time.Time{}
	return s.event(r, StateResolved), true
}

// cooling reports whether t falls in the cooldown after the last resolution.
func (s *State) cooling(r *Rule, t time.Time) bool {
	return !s.ResolvedAt.IsZero() && t.Before(s.ResolvedAt.Add(r.Cooldown))
}

// enter sets the phase, and Since when it changes.
func (s *State) enter(p Phase, at time.Time) {
	if s.Phase != p {
		s.Phase, s.Since = p, at
	}
}

// event builds the event of the transition just made.
func (s *State) event(r *Rule, state string) Event {
	score := ""
	if r.Kind == KindShift {
		score = r.Score.String()
	}
	return Event{Score: score,
		Alert: r.Name, State: state, At: s.Last.End, Kind: r.Kind,
		Value: s.Last.Value, Threshold: s.Last.Threshold, Peak: s.Peak,
		Filter: r.Filter.String(), Window: s.Last.Window, Baseline: s.Last.Baseline,
	}
}
