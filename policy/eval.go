package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/riskwatch/riskwatch/decision"
)

// Velocity answers the velocity queries of conditions. Answer returns the
// answer to q for decision d at its event time t, over the decisions with
// an event time in [t-q.Window, t) and the same q.Key value as d (see
// Query and Key.Value): never d itself, never anything at or after t, so
// a rule sees only the past, live or in replay. An error (a store that
// cannot be read) fails the evaluation of d.
//
// Window is the in-memory implementation replay uses and LiveWindow the
// live shadow's; one over the store's indexes answers with the same
// semantics.
type Velocity interface {
	Answer(q Query, d *decision.Decision) (int, error)
}

// Result is what a policy decided for one decision.
type Result struct {
	// Action is the deciding rule's action, the policy's default when no
	// rule decides, and decision.ActionError for a decision whose Action
	// is error (it has no scores to judge; no rule is evaluated).
	Action decision.Action
	// Rule is the deciding rule's name, "" when none decided; Index is
	// its index in Rules, -1 when none decided.
	Rule  string
	Index int
	// Matched holds the indices of the rules whose types include the
	// event's type and whose condition held, in order: every such rule
	// for Evaluate, only the deciding one for Decide.
	Matched []int
	// Failed holds the rules whose condition failed at run time (an index
	// out of range, a division by zero); they count as not matching.
	Failed []RuleError
}

// RuleError is a rule whose condition failed on a decision.
type RuleError struct {
	Index int
	Rule  string
	Err   error
}

func (e RuleError) Error() string {
	msg := e.Err.Error()
	var fe *file.Error
	if errors.As(e.Err, &fe) && fe.Message != "" {
		msg = fe.Message
	}
	return fmt.Sprintf("rule %q: %s", e.Rule, msg)
}

// Evaluator evaluates a policy on decisions, one at a time. It is not safe
// for concurrent use; make one per goroutine (they are cheap). The slices
// of a Result it returns are its own and valid until its next call.
type Evaluator struct {
	p   *Policy
	vel Velocity
	env map[string]any
	vm  vm.VM
	d   *decision.Decision

	// Velocity answers for d: qval[i] is valid when qgen[i] == gen.
	gen  uint64
	qgen []uint64
	qval []int
	verr error

	matched  []int
	failed   []RuleError
	families memo // user agent → family

	// Boxes for the environment, reused to spare an allocation: whole
	// scores, and each string variable's value when it repeats.
	scores [101]any
	last   []boxed
}

type boxed struct {
	s   string
	box any
}

// NewEvaluator returns an Evaluator of p that asks vel its velocity
// queries (vel may be nil when p has none).
func (p *Policy) NewEvaluator(vel Velocity) *Evaluator {
	e := &Evaluator{
		p:    p,
		vel:  vel,
		env:  make(map[string]any, len(p.vars)+4),
		qgen: make([]uint64, len(p.queries)),
		qval: make([]int, len(p.queries)),
		last: make([]boxed, len(p.vars)),
	}
	for n := range e.scores {
		e.scores[n] = float64(n)
	}
	e.env[fnVelocity] = e.velocity
	e.env[fnHasSignal] = e.hasSignal
	e.env[fnInList] = p.inList
	e.env[fnInCIDR] = p.inCIDR
	return e
}

// Decide evaluates the rules in order and stops at the first that
// decides: the cheapest evaluation, for the live shadow.
func (e *Evaluator) Decide(d *decision.Decision) (Result, error) { return e.eval(d, false) }

// Evaluate evaluates every rule that applies to d, so that Result.Matched
// lists all the rules whose condition held: replay's per-rule counts. Its
// Action and Rule are those Decide gives.
func (e *Evaluator) Evaluate(d *decision.Decision) (Result, error) { return e.eval(d, true) }

func (e *Evaluator) eval(d *decision.Decision, all bool) (Result, error) {
	e.gen++
	e.d, e.verr = d, nil
	e.matched, e.failed = e.matched[:0], e.failed[:0]
	res := Result{Action: e.p.def, Index: -1}
	if d.Action == decision.ActionError {
		e.d = nil // nothing was read
		res.Action = decision.ActionError
		return res, nil
	}
	e.fill(d)
	for i, r := range e.p.rules {
		if !r.applies(d.Type) {
			continue
		}
		out, err := e.vm.Run(r.prog, e.env)
		if e.verr != nil {
			return Result{}, fmt.Errorf("policy %s: rule %q: %w", e.p.name, r.Name, e.verr)
		}
		if err != nil {
			e.failed = append(e.failed, RuleError{Index: i, Rule: r.Name, Err: err})
			continue
		}
		if out != true {
			continue
		}
		e.matched = append(e.matched, i)
		if res.Index < 0 {
			res.Action, res.Rule, res.Index = r.Action, r.Name, i
			if !all {
				break
			}
		}
	}
	res.Matched, res.Failed = e.matched, e.failed
	return res, nil
}

// fill sets the variables the policy reads to d's values.
func (e *Evaluator) fill(d *decision.Decision) {
	for j, i := range e.p.vars {
		v := &variables[i]
		var x any
		switch {
		case v.num != nil:
			f := v.num(d)
			if n := int(f); float64(n) == f && n >= 0 && n < len(e.scores) {
				x = e.scores[n]
			} else {
				x = f
			}
		case v.str != nil:
			s, c := v.str(e, d), &e.last[j]
			if c.box == nil || c.s != s {
				c.s, c.box = s, s
			}
			x = c.box
		default:
			x = v.get(d)
		}
		e.env[v.name] = x
	}
}

// Read returns what rule i's condition reads (Rule.Reads) with its value
// for the decision last evaluated: the variables as the condition saw
// them, the answers to its velocity queries and to its in_list and
// in_cidr calls on variables. The map is the caller's.
func (e *Evaluator) Read(i int) (map[string]any, error) {
	if i < 0 || i >= len(e.p.rules) || e.d == nil {
		return nil, nil
	}
	out := make(map[string]any, len(e.p.rules[i].reads))
	for _, rd := range e.p.rules[i].reads {
		switch {
		case rd.query >= 0:
			n := e.velocity(rd.query)
			if e.verr != nil {
				return nil, fmt.Errorf("policy %s: %w", e.p.name, e.verr)
			}
			out[rd.name] = n
		case rd.fn == fnInList:
			v, _ := e.env[rd.arg].(string)
			out[rd.name] = e.p.inList(rd.lit, v)
		case rd.fn == fnInCIDR:
			v, _ := e.env[rd.arg].(string)
			out[rd.name] = e.p.inCIDR(v, rd.lit)
		default:
			out[rd.name] = e.env[rd.name]
		}
	}
	return out, nil
}

// velocity answers query i for the current decision, once per decision.
// An error is kept in verr (and fails the evaluation); the condition
// sees 0.
func (e *Evaluator) velocity(i int) int {
	if i < 0 || i >= len(e.qgen) {
		return 0
	}
	if e.qgen[i] == e.gen {
		return e.qval[i]
	}
	n := 0
	switch {
	case e.verr != nil:
	case e.vel == nil:
		e.verr = fmt.Errorf("%s: no velocity source", e.p.queries[i])
	default:
		var err error
		if n, err = e.vel.Answer(e.p.queries[i], e.d); err != nil {
			e.verr = fmt.Errorf("%s: %w", e.p.queries[i], err)
		}
	}
	e.qgen[i], e.qval[i] = e.gen, n
	return n
}

func (e *Evaluator) hasSignal(s string) bool { return slices.Contains(e.d.Signals, s) }

// inList reports whether value is in the list called name.
func (p *Policy) inList(name, value string) bool {
	_, ok := p.lists[name][value]
	return ok
}

// inCIDR reports whether ip is an address within cidr (one of the
// policy's literal CIDRs, parsed when it was compiled).
func (p *Policy) inCIDR(ip, cidr string) bool {
	pfx, ok := p.cidrs[cidr]
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(ip)
	return err == nil && pfx.Contains(a.Unmap().WithZone(""))
}
