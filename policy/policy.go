package policy

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/riskwatch/riskwatch/decision"
)

// Policy is a compiled policy file. It is immutable and safe for
// concurrent use; evaluate it with an Evaluator (one per goroutine).
type Policy struct {
	name    string
	def     decision.Action
	rules   []*rule
	lists   map[string]map[string]struct{}
	queries []Query
	cidrs   map[string]netip.Prefix
	// vars are the indices in variables of the variables some rule reads.
	vars []int
}

// Rule describes one rule of a policy, as Rules returns it.
type Rule struct {
	Name   string          `json:"name"`
	Action decision.Action `json:"action"`
	// Types are the event types the rule applies to (compared without
	// regard to case); empty means every type.
	Types []string `json:"types,omitempty"`
	// When is the condition's text.
	When string `json:"when"`
	// Line is the line of the rule's [[rule]] header.
	Line int `json:"line"`
	// Reads names what the condition reads, in order of first use:
	// variables ("risk"), velocity queries (`count("ip", "10m")`) and
	// in_list and in_cidr calls on a variable (`in_list("vip", user)`).
	Reads []string `json:"reads"`
}

// rule is a compiled Rule.
type rule struct {
	Rule
	prog  *vm.Program
	reads []read
}

// applies reports whether r's types include typ.
func (r *rule) applies(typ string) bool {
	if len(r.Types) == 0 {
		return true
	}
	for _, t := range r.Types {
		if strings.EqualFold(t, typ) {
			return true
		}
	}
	return false
}

// Name returns the name the policy was parsed under (its file name).
func (p *Policy) Name() string { return p.name }

// Default returns the action of a decision no rule decides.
func (p *Policy) Default() decision.Action { return p.def }

// Rules returns the rules in order. The result is the caller's.
func (p *Policy) Rules() []Rule {
	out := make([]Rule, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.Rule
		out[i].Types = slices.Clone(r.Types)
		out[i].Reads = slices.Clone(r.Reads)
	}
	return out
}

// Lists returns the names of the policy's lists and their sizes.
func (p *Policy) Lists() map[string]int {
	out := make(map[string]int, len(p.lists))
	for name, l := range p.lists {
		out[name] = len(l)
	}
	return out
}

// Queries returns the distinct velocity queries the rules ask, in order of
// first use. A Velocity for this policy must answer every one of them.
// The result is the caller's.
func (p *Policy) Queries() []Query { return slices.Clone(p.queries) }

// MaxWindow returns the longest window of the policy's queries, 0 when it
// has none: a replay from time T needs the decisions from T-MaxWindow on
// to answer as live evaluation would.
func (p *Policy) MaxWindow() time.Duration {
	var w time.Duration
	for _, q := range p.queries {
		w = max(w, q.Window)
	}
	return w
}
