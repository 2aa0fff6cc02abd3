package alert

import (
	"context"
	"time"
)

// Report is the result of a backtest, as `riskwatch alerts backtest --json`
// prints it (SPEC section 13).
type Report struct {
	Alerts []AlertReport `json:"alerts"`
}

// AlertReport is one rule's firings over the replayed range.
type AlertReport struct {
	Name    string   `json:"name"`
	Firings []Firing `json:"firings"`
	// Evaluated counts the minute ends replayed; Thin those whose sample
	// was below min_events (a rule thin most of the time needs a smaller
	// min_events or a wider window).
	Evaluated int `json:"evaluated"`
	Thin      int `json:"thin"`
}

// Firing is one firing: from its firing event to its resolution (To is
// nil when it had not resolved by the end of the range), with its Peak
// (see State.Peak).
type Firing struct {
	From time.Time  `json:"from"`
	To   *time.Time `json:"to"`
	Peak float64    `json:"peak"`
}

// Backtest replays every rule over the minute ends in [from, to], each
// from a never-evaluated state, through the same Observe and State.Step as
// Evaluator: a live Evaluator called at least once a minute over the same
// stored decisions, from its first minute end, fires and resolves at the
// same minute ends with the same values. Rules are reported in order.
func Backtest(ctx context.Context, src Source, rules []Rule, from, to time.Time) (Report, error) {
	if err := checkRules(rules); err != nil {
		return Report{}, err
	}
	first := from.Truncate(time.Minute).UTC()
	if first.Before(from) {
		first = first.Add(time.Minute)
	}
	last := to.Truncate(time.Minute).UTC()
	rep := Report{Alerts: make([]AlertReport, len(rules))}
	for i := range rules {
		r := &rules[i]
		ar := &rep.Alerts[i]
		ar.Name, ar.Firings = r.Name, []Firing{}
		var st State
		err := advance(ctx, src, r, &st, first, last, func(o Observation, ev *Event) {
			ar.Evaluated++
			if o.Verdict == VerdictThin {
				ar.Thin++
			}
			switch {
			case ev == nil:
			case ev.State == StateFiring:
				ar.Firings = append(ar.Firings, Firing{From: ev.At, Peak: ev.Peak})
			default:
				f := &ar.Firings[len(ar.Firings)-1]
				f.To, f.Peak = &ev.At, ev.Peak
			}
		})
		if err != nil {
			return Report{}, err
		}
		if st.Phase == PhaseFiring {
			ar.Firings[len(ar.Firings)-1].Peak = st.Peak
		}
	}
	return rep, nil
}
