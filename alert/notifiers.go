package alert

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Notifiers are the notifiers of a rule set: one per distinct target,
// shared by the rules that list it, and one Bell. Notify routes a
// notification to the targets of its rule.
type Notifiers struct {
	all     []Notifier            // one per distinct target, in first-listed order
	byAlert map[string][]Notifier // the targets of each rule, in its order
	bell    *Bell
}

// NewNotifiers starts the notifiers the rules list. It fails, starting
// nothing, when an exec target is not an executable file; errors name the
// rule and its notify entry.
func NewNotifiers(rules []Rule, opt NotifyOptions) (*Notifiers, error) {
	opt = opt.withDefaults()
	ns := &Notifiers{byAlert: make(map[string][]Notifier, len(rules)), bell: NewBell(opt.BellSize)}
	byTarget := map[string]Notifier{}
	var errs []error
	for i := range rules {
		r := &rules[i]
		for j, t := range r.Notify {
			n, ok := byTarget[t.String()]
			if !ok {
				var err error
				n, err = ns.start(t, opt)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: notify[%d]: %w", r.label(i), j, err))
					continue
				}
				byTarget[t.String()] = n
				ns.all = append(ns.all, n)
			}
			ns.byAlert[r.Name] = append(ns.byAlert[r.Name], n)
		}
	}
	if len(errs) > 0 {
		_ = ns.Close(canceled())
		return nil, errors.Join(errs...)
	}
	return ns, nil
}

// canceled returns a context that is already done.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// start starts the notifier of one target.
func (ns *Notifiers) start(t Target, opt NotifyOptions) (Notifier, error) {
	switch t.Kind {
	case TargetWebhook:
		return NewWebhook(t.Addr, opt)
	case TargetExec:
		return NewExec(t.Addr, opt)
	case TargetBell:
		return ns.bell, nil
	}
	return nil, fmt.Errorf("unknown target kind %q", t.Kind)
}

// Notify hands n to every notifier of the rule n.Alert names, without
// blocking; a name without notifiers is ignored.
func (ns *Notifiers) Notify(n Notification) {
	for _, x := range ns.byAlert[n.Alert] {
		x.Notify(n)
	}
}

// Bell returns the bell dashboards read (never nil, even when no rule
// lists it).
func (ns *Notifiers) Bell() *Bell { return ns.bell }

// Health returns the health of every notifier, in the order the rules
// first list them.
func (ns *Notifiers) Health() []Health {
	hs := make([]Health, len(ns.all))
	for i, n := range ns.all {
		hs[i] = n.Health()
	}
	return hs
}

// Close closes every notifier at once, each delivering what it has queued
// until ctx is done, and returns when all have stopped.
func (ns *Notifiers) Close(ctx context.Context) error {
	errs := make([]error, len(ns.all))
	var wg sync.WaitGroup
	for i, n := range ns.all {
		wg.Go(func() { errs[i] = n.Close(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
