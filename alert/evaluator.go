package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Defaults of EvalOptions.
const (
	// DefaultSettle leaves a closed minute's stragglers (decisions still
	// being scored when it ended) ten seconds to be stored.
	DefaultSettle = 10 * time.Second
	// DefaultMaxCatchUp bounds the minutes one Evaluate replays after a
	// gap (a restart, a stalled store) to an hour.
	DefaultMaxCatchUp = time.Hour
)

// EvalOptions tune an Evaluator; zero fields take the defaults.
type EvalOptions struct {
	// Settle is how long after a minute ends live evaluation waits before
	// evaluating the window that ends with it.
	Settle time.Duration
	// MaxCatchUp bounds how far back an Evaluate goes: after a longer gap
	// it evaluates only the last MaxCatchUp of minute ends, and the gap
	// breaks the rules' runs (see State.Step).
	MaxCatchUp time.Duration
}

// Evaluator evaluates rules live: the collector calls Evaluate on a ticker
// (every 10 s) and stores and sends the events it returns. Its methods are
// safe for concurrent use; calls to Evaluate are serialised.
type Evaluator struct {
	src   Source
	rules []Rule
	opt   EvalOptions

	evalMu sync.Mutex // serialises Evaluate
	mu     sync.Mutex // guards states
	states []State    // by index in rules
}

// NewEvaluator returns an Evaluator of rules over src, starting from the
// saved states (by rule name; a rule without one starts never evaluated,
// and saved states of rules no longer present are dropped). It fails if a
// rule is invalid or two share a name.
func NewEvaluator(src Source, rules []Rule, saved map[string]State, opt EvalOptions) (*Evaluator, error) {
	if err := checkRules(rules); err != nil {
		return nil, err
	}
	if opt.Settle <= 0 {
		opt.Settle = DefaultSettle
	}
	if opt.MaxCatchUp < time.Minute {
		opt.MaxCatchUp = DefaultMaxCatchUp
	}
	e := &Evaluator{src: src, rules: slices.Clone(rules), opt: opt, states: make([]State, len(rules))}
	for i := range rules {
		e.states[i] = saved[rules[i].Name]
	}
	return e, nil
}

// Evaluate evaluates every rule at each minute end up to (now-Settle)
// truncated to the minute that it has not evaluated yet (at most
// MaxCatchUp of them; only the last one for a rule never evaluated) and
// returns the transitions, ordered by time, then by rule. Calling it again
// within the same minute does nothing. A Source error stops that rule at
// the minute that failed (the next call retries it) and is returned, joined
// with the others, alongside the events of the rules that went on.
func (e *Evaluator) Evaluate(ctx context.Context, now time.Time) ([]Event, error) {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	end := now.Add(-e.opt.Settle).Truncate(time.Minute).UTC()
	var events []Event
	var errs []error
	for i := range e.rules {
		r := &e.rules[i]
		e.mu.Lock()
		st := e.states[i]
		e.mu.Unlock()
		first := end
		if !st.LastEval.IsZero() {
			first = st.LastEval.Add(time.Minute)
		}
		if end.Sub(first) >= e.opt.MaxCatchUp {
			first = end.Add(time.Minute - e.opt.MaxCatchUp)
		}
		err := advance(ctx, e.src, r, &st, first, end, func(_ Observation, ev *Event) {
			if ev != nil {
				events = append(events, *ev)
			}
		})
		if err != nil {
			errs = append(errs, err)
		}
		e.mu.Lock()
		e.states[i] = st
		e.mu.Unlock()
	}
	sort.SliceStable(events, func(a, b int) bool { return events[a].At.Before(events[b].At) })
	return events, errors.Join(errs...)
}

// States returns a copy of every rule's state by rule name, to store or show.
func (e *Evaluator) States() map[string]State {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[string]State, len(e.rules))
	for i := range e.rules {
		m[e.rules[i].Name] = e.states[i]
	}
	return m
}

// advance steps st over r's evaluations at each minute end from first to
// last inclusive, passing each observation and the transition it made (nil
// when none) to step. It stops at the first Source error or when ctx is
// done, leaving st after the last minute it evaluated. Live evaluation and
// Backtest both go through it.
func advance(ctx context.Context, src Source, r *Rule, st *State, first, last time.Time, step func(Observation, *Event)) error {
	for t := first; !t.After(last); t = t.Add(time.Minute) {
		if err := ctx.Err(); err != nil {
			return err
		}
		o, err := Observe(ctx, src, r, t)
		if err != nil {
			return err
		}
		if ev, ok := st.Step(r, o); ok {
			step(o, &ev)
		} else {
			step(o, nil)
		}
	}
	return nil
}

// checkRules validates every rule and that names are unique.
func checkRules(rules []Rule) error {
	var errs []error
	seen := make(map[string]bool, len(rules))
	for i := range rules {
		if err := rules[i].Validate(); err != nil {
			errs = append(errs, err)
		} else if seen[rules[i].Name] {
			errs = append(errs, fmt.Errorf("%s: name: used by two alerts", rules[i].label(i)))
		}
		seen[rules[i].Name] = true
	}
	return errors.Join(errs...)
}
