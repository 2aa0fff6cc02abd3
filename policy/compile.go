package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Limits on conditions.
const (
	// MaxWhenLen bounds the text of one condition, in bytes.
	MaxWhenLen = 4096
	// MaxNodes bounds the syntax tree of one condition.
	MaxNodes = 256
	// MaxPatternLen bounds the regular expression of a matches, in bytes.
	// Go's regexp runs in time linear in pattern times input, and
	// string variables are at most MaxStringLen, so a match is bounded.
	MaxPatternLen = 256
	// MaxQueries bounds the distinct velocity queries of one policy.
	MaxQueries = 64
)

// builtins are the expr-lang builtins conditions may use. The others are
// refused: now and date read the wall clock (a replay must not), repeat
// and the collection builders can use unbounded memory or time, and
// fromJSON and friends have no use on a decision.
var builtins = []string{
	"all", "any", "none", "one", "filter", "map", "find",
	"len", "abs", "ceil", "floor", "round", "int", "float", "string",
	"trim", "trimPrefix", "trimSuffix", "upper", "lower", "split", "join",
	"indexOf", "lastIndexOf", "hasPrefix", "hasSuffix", "max", "min", "first", "last",
}

// conditionError is a problem in a condition, at a rune offset of its text.
type conditionError struct {
	at  int
	msg string
}

// compiler compiles the conditions of one policy. It owns what the rules
// share: the velocity queries, the CIDRs and the list names.
type compiler struct {
	env     map[string]any
	opts    []expr.Option
	lists   map[string]map[string]struct{}
	queries []Query
	cidrs   map[string]netip.Prefix
}

func newCompiler(lists map[string]map[string]struct{}) *compiler {
	c := &compiler{env: typeEnv(), lists: lists, cidrs: make(map[string]netip.Prefix)}
	c.opts = []expr.Option{expr.Env(c.env), expr.AsBool(), expr.MaxNodes(MaxNodes), expr.DisableAllBuiltins()}
	for _, b := range builtins {
		c.opts = append(c.opts, expr.EnableBuiltin(b))
	}
	return c
}

// compile compiles one condition. It returns the program, what the
// condition reads (variable names and queries, in order of first use), or
// the problems found.
func (c *compiler) compile(when string) (*vm.Program, []read, []conditionError) {
	if len(when) > MaxWhenLen {
		return nil, nil, []conditionError{{0, fmt.Sprintf("condition is %d bytes; at most %d", len(when), MaxWhenLen)}}
	}
	if strings.TrimSpace(when) == "" {
		return nil, nil, []conditionError{{0, "condition is empty"}}
	}
	k := &checker{c: c, callees: make(map[*ast.IdentifierNode]bool)}
	opts := append(slices.Clip(c.opts), expr.Patch(k))
	prog, err := expr.Compile(when, opts...)
	for _, id := range k.funcs {
		if !k.callees[id] {
			k.fail(id, "%s is a function: call it, as in %s", id.Value, example(id.Value))
		}
	}
	if len(k.errs) > 0 {
		return nil, nil, k.errs
	}
	if err != nil {
		return nil, nil, []conditionError{exprError(err)}
	}
	return prog, k.reads, nil
}

// exprError turns an error of expr.Compile into a conditionError.
func exprError(err error) conditionError {
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := fe.Message
		if msg == "" {
			msg = err.Error()
		}
		return conditionError{fe.From, strings.TrimPrefix(msg, "compilation failed: ")}
	}
	// expr reports a condition that is not a boolean without a place.
	return conditionError{0, "condition must be true or false: " + err.Error()}
}

func example(fn string) string {
	switch fn {
	case fnCount:
		return `count("ip", "10m") > 5`
	case fnDistinct:
		return `distinct("ip", "user", "10m") >= 5`
	case fnInList:
		return `in_list("vip", user)`
	default:
		return `in_cidr(ip, "10.0.0.0/8")`
	}
}

// read is one thing a condition reads: a variable; a velocity query
// (query >= 0, its index in the policy's queries); or a call of in_list
// or in_cidr (fn) on a variable (arg) with a literal list name or CIDR.
type read struct {
	name     string
	query    int
	fn       string
	arg, lit string
}

// checker is an expr-lang patch: it sees every node of a condition after
// parsing and before type checking. It refuses what policies may not use,
// checks the constant arguments of the policy functions, rewrites velocity
// calls and signal tests into fast internal calls, and records what the
// condition reads.
type checker struct {
	c       *compiler
	errs    []conditionError
	reads   []read
	callees map[*ast.IdentifierNode]bool
	funcs   []*ast.IdentifierNode // every use of a policy function's name
}

func (k *checker) fail(n ast.Node, format string, args ...any) {
	k.errs = append(k.errs, conditionError{n.Location().From, fmt.Sprintf(format, args...)})
}

func (k *checker) read(r read) {
	for _, x := range k.reads {
		if x.name == r.name {
			return
		}
	}
	k.reads = append(k.reads, r)
}

// readCall records a call of fn on a variable with a literal (a list
// name or a CIDR), so that what it answered can be shown; calls on other
// expressions show through the variables they read.
func (k *checker) readCall(fn string, arg ast.Node, lit string) {
	id, ok := arg.(*ast.IdentifierNode)
	if !ok {
		return
	}
	if _, isVar := lookupVariable(id.Value); !isVar {
		return
	}
	name := fmt.Sprintf("%s(%q, %s)", fn, lit, id.Value)
	if fn == fnInCIDR {
		name = fmt.Sprintf("%s(%s, %q)", fn, id.Value, lit)
	}
	k.read(read{name: name, query: -1, fn: fn, arg: id.Value, lit: lit})
}

// Visit is called on every node, children first.
func (k *checker) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		switch n.Value {
		case "$env":
			k.fail(n, "$env is not available in policies: name the variables")
		case fnCount, fnDistinct, fnInList, fnInCIDR:
			k.funcs = append(k.funcs, n)
		default:
			if _, ok := lookupVariable(n.Value); ok {
				k.read(read{name: n.Value, query: -1})
			}
		}
	case *ast.CallNode:
		k.call(node, n)
	case *ast.BuiltinNode:
		k.builtin(n)
	case *ast.BinaryNode:
		k.binary(node, n)
	}
}

func (k *checker) call(node *ast.Node, n *ast.CallNode) {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	switch id.Value {
	case fnCount, fnDistinct:
		k.callees[id] = true
		k.velocity(node, n, id.Value)
	case fnInList:
		k.callees[id] = true
		if len(n.Arguments) != 2 {
			k.fail(n, "in_list takes a list name and a value, as in %s", example(fnInList))
			return
		}
		name, ok := n.Arguments[0].(*ast.StringNode)
		switch {
		case !ok:
			k.fail(n.Arguments[0], "in_list's list must be named by a string literal, as in %s", example(fnInList))
		case k.c.lists[name.Value] == nil:
			k.fail(name, "no list %q in [lists]%s", name.Value, known(k.c.lists))
		default:
			k.readCall(fnInList, n.Arguments[1], name.Value)
		}
	case fnInCIDR:
		k.callees[id] = true
		if len(n.Arguments) != 2 {
			k.fail(n, "in_cidr takes an address and a CIDR, as in %s", example(fnInCIDR))
			return
		}
		lit, ok := n.Arguments[1].(*ast.StringNode)
		if !ok {
			k.fail(n.Arguments[1], "in_cidr's CIDR must be a string literal, as in %s", example(fnInCIDR))
			return
		}
		p, err := netip.ParsePrefix(lit.Value)
		if err != nil {
			k.fail(lit, "%q is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32", lit.Value)
			return
		}
		k.c.cidrs[lit.Value] = p.Masked()
		k.readCall(fnInCIDR, n.Arguments[0], lit.Value)
	default:
		if _, ok := builtin.Index[id.Value]; ok {
			k.fail(id, "%s() is not available in policies (available: %s)", id.Value, strings.Join(builtins, ", "))
		}
	}
}

// velocity checks a count or distinct call and rewrites it to
// velocity#(index of its query).
func (k *checker) velocity(node *ast.Node, n *ast.CallNode, fn string) {
	args := make([]string, len(n.Arguments))
	for i, a := range n.Arguments {
		lit, ok := a.(*ast.StringNode)
		if !ok {
			k.fail(a, "%s's arguments must be string literals, as in %s", fn, example(fn))
			return
		}
		args[i] = lit.Value
	}
	q, bad, err := makeQuery(fn, args)
	if err != nil {
		at := ast.Node(n)
		if bad >= 0 {
			at = n.Arguments[bad]
		}
		k.fail(at, "%v", err)
		return
	}
	i := slices.Index(k.c.queries, q)
	if i < 0 {
		if len(k.c.queries) == MaxQueries {
			k.fail(n, "more than %d distinct velocity queries in the policy", MaxQueries)
			return
		}
		i = len(k.c.queries)
		k.c.queries = append(k.c.queries, q)
	}
	k.read(read{name: q.String(), query: i})
	ast.Patch(node, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: fnVelocity},
		Arguments: []ast.Node{&ast.IntegerNode{Value: i}},
	})
}

func (k *checker) builtin(n *ast.BuiltinNode) {
	if !slices.Contains(builtins, n.Name) {
		k.fail(n, "%s() is not available in policies (available: %s)", n.Name, strings.Join(builtins, ", "))
		return
	}
	for _, a := range n.Arguments {
		if p, ok := a.(*ast.PredicateNode); ok && hasPredicate(p.Node) {
			k.fail(n, "%s() inside another predicate: their costs multiply; split the condition", n.Name)
			return
		}
	}
}

// hasPredicate reports whether the tree at n calls a builtin with a
// predicate.
func hasPredicate(n ast.Node) bool {
	f := &predicateFinder{}
	ast.Walk(&n, f)
	return f.found
}

type predicateFinder struct{ found bool }

func (f *predicateFinder) Visit(node *ast.Node) {
	if _, ok := (*node).(*ast.PredicateNode); ok {
		f.found = true
	}
}

func (k *checker) binary(node *ast.Node, n *ast.BinaryNode) {
	switch n.Operator {
	case "..":
		k.fail(n, "ranges (..) are not available in policies")
	case "matches":
		lit, ok := n.Right.(*ast.StringNode)
		switch {
		case !ok:
			k.fail(n.Right, "the pattern of matches must be a string literal")
		case len(lit.Value) > MaxPatternLen:
			k.fail(n.Right, "pattern is %d bytes; at most %d", len(lit.Value), MaxPatternLen)
		}
	case "in":
		// "name" in signals is the commonest test; a typed call avoids
		// the reflection of the generic in.
		sig, ok := n.Right.(*ast.IdentifierNode)
		lit, isLit := n.Left.(*ast.StringNode)
		if ok && isLit && sig.Value == "signals" {
			ast.Patch(node, &ast.CallNode{
				Callee:    &ast.IdentifierNode{Value: fnHasSignal},
				Arguments: []ast.Node{lit},
			})
		}
	}
}

// known lists the names of lists for an error message.
func known(lists map[string]map[string]struct{}) string {
	if len(lists) == 0 {
		return " (there are none)"
	}
	names := make([]string, 0, len(lists))
	for n := range lists {
		names = append(names, fmt.Sprintf("%q", n))
	}
	sort.Strings(names)
	return " (known: " + strings.Join(names, ", ") + ")"
}
