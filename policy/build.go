package policy

import (
	"cmp"
	"slices"
	"strings"
	"unicode"

	"github.com/riskwatch/riskwatch/decision"
)

// builder checks a decoded file and builds its Policy.
type builder struct {
	pr  *problems
	src string
	at  map[string]spot
	p   *Policy
}

// val returns the offset of the value at path, or of its nearest
// enclosing entry the locator found.
func (b *builder) val(path string) int {
	for ; path != ""; path = parent(path) {
		if s, ok := b.at[path]; ok {
			return s.val
		}
	}
	return 0
}

// key returns the offset of the key of the entry at path.
func (b *builder) key(path string) int {
	for ; path != ""; path = parent(path) {
		if s, ok := b.at[path]; ok {
			return s.key
		}
	}
	return 0
}

func parent(path string) string {
	return path[:max(strings.LastIndexAny(path, "\x00\x01"), 0)]
}

// byPosition returns m's keys in the order they appear in the file.
func (b *builder) byPosition(base string, m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int {
		return cmp.Or(cmp.Compare(b.key(child(base, x)), b.key(child(base, y))), cmp.Compare(x, y))
	})
	return keys
}

func (b *builder) build(raw map[string]any) {
	var rules any
	for _, k := range b.byPosition("", raw) {
		path := child("", k)
		switch k {
		case "default":
			s, ok := raw[k].(string)
			if !ok {
				b.pr.add(b.val(path), "default must be a string: allow, challenge or deny")
				continue
			}
			if a, ok := b.action(path, s); ok {
				b.p.def = a
			}
		case "lists":
			b.lists(path, raw[k])
		case "rule":
			rules = raw[k]
		default:
			b.pr.add(b.key(path), "unknown key %q (a policy file has default, [lists] and [[rule]] tables)", k)
		}
	}
	// Lists first: conditions name them.
	if rules != nil {
		b.rules(child("", "rule"), rules)
	}
}

// action reads a rule's or the default's action.
func (b *builder) action(path, s string) (decision.Action, bool) {
	a, err := decision.ParseAction(s)
	if err != nil || a == decision.ActionError {
		b.pr.add(b.val(path), "unknown action %q (want allow, challenge or deny)", s)
		return "", false
	}
	return a, true
}

func (b *builder) lists(path string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		b.pr.add(b.val(path), "lists must be a table of name = [\"value\", ...]")
		return
	}
	total := 0
	for i, name := range b.byPosition(path, m) {
		lp := child(path, name)
		if i == MaxLists {
			b.pr.add(b.key(lp), "more than %d lists", MaxLists)
			return
		}
		if name == "" || len(name) > MaxRuleNameLen {
			b.pr.add(b.key(lp), "a list name must be 1 to %d bytes", MaxRuleNameLen)
			continue
		}
		elems, ok := v.(map[string]any)[name].([]any)
		if !ok {
			b.pr.add(b.val(lp), "list %q must be an array of strings", name)
			continue
		}
		set := make(map[string]struct{}, len(elems))
		for j, e := range elems {
			ep := elem(lp, j)
			s, ok := e.(string)
			switch {
			case !ok:
				b.pr.add(b.val(ep), "list %q: entries must be strings (quote numbers: \"100001\")", name)
				continue
			case len(s) > MaxListEntryLen:
				b.pr.add(b.val(ep), "list %q: entry is %d bytes; at most %d", name, len(s), MaxListEntryLen)
				continue
			}
			if total++; total > MaxListEntries {
				b.pr.add(b.val(ep), "more than %d list entries in all", MaxListEntries)
				return
			}
			set[s] = struct{}{}
		}
		b.p.lists[name] = set
	}
}

// tables returns the tables of an array of tables.
func (b *builder) tables(path string, v any) ([]map[string]any, bool) {
	switch t := v.(type) {
	case []map[string]any:
		return t, true
	case []any:
		out := make([]map[string]any, len(t))
		for i, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				b.pr.add(b.val(elem(path, i)), "each rule must be a table: [[rule]] with name, when and action")
				return nil, false
			}
			out[i] = m
		}
		return out, true
	}
	b.pr.add(b.val(path), "rule must be an array of tables: [[rule]] with name, when and action")
	return nil, false
}

func (b *builder) rules(path string, v any) {
	tables, ok := b.tables(path, v)
	if !ok {
		return
	}
	if len(tables) > MaxRules {
		b.pr.add(b.key(elem(path, MaxRules)), "%d rules; a policy has at most %d", len(tables), MaxRules)
		return
	}
	c := newCompiler(b.p.lists)
	names := make(map[string]int, len(tables)) // name → offset of its first use
	for i, t := range tables {
		if r := b.rule(c, elem(path, i), t, names); r != nil {
			b.p.rules = append(b.p.rules, r)
		}
	}
	b.p.queries, b.p.cidrs = c.queries, c.cidrs
	seen := make([]bool, len(variables))
	for _, r := range b.p.rules {
		for _, rd := range r.reads {
			if i, ok := lookupVariable(rd.name); ok && rd.query < 0 && !seen[i] {
				seen[i] = true
				b.p.vars = append(b.p.vars, i)
			}
		}
	}
}

// rule checks and compiles the rule at path, or returns nil.
func (b *builder) rule(c *compiler, path string, t map[string]any, names map[string]int) *rule {
	header := b.key(path)
	line, _ := b.pr.lines.position(header)
	r := &rule{Rule: Rule{Line: line}}
	ok := true
	str := func(k string) (string, bool) {
		v, present := t[k]
		if !present {
			b.pr.add(header, "rule has no %s", k)
			return "", false
		}
		s, isStr := v.(string)
		if !isStr {
			b.pr.add(b.val(child(path, k)), "%s must be a string", k)
		}
		return s, isStr
	}
	for _, k := range b.byPosition(path, t) {
		switch k {
		case "name", "when", "action", "types":
		default:
			b.pr.add(b.key(child(path, k)), "unknown key %q in a rule (a rule has name, when, action and types)", k)
			ok = false
		}
	}
	if name, isStr := str("name"); isStr {
		ok = b.ruleName(child(path, "name"), name, names) && ok
		r.Name = name
	} else {
		ok = false
	}
	if s, isStr := str("action"); isStr {
		a, valid := b.action(child(path, "action"), s)
		r.Action, ok = a, ok && valid
	} else {
		ok = false
	}
	if v, present := t["types"]; present {
		types, valid := b.types(child(path, "types"), v)
		r.Types, ok = types, ok && valid
	}
	when, isStr := str("when")
	if !isStr {
		return nil
	}
	r.When = when
	prog, reads, errs := c.compile(when)
	if len(errs) > 0 {
		b.conditionErrors(child(path, "when"), when, errs)
		return nil
	}
	if !ok {
		return nil
	}
	r.prog, r.reads = prog, reads
	for _, rd := range reads {
		r.Reads = append(r.Reads, rd.name)
	}
	return r
}

func (b *builder) ruleName(path, name string, names map[string]int) bool {
	switch {
	case strings.TrimSpace(name) != name || name == "":
		b.pr.add(b.val(path), "rule name must not be empty or start or end with a space")
	case len(name) > MaxRuleNameLen:
		b.pr.add(b.val(path), "rule name is %d bytes; at most %d", len(name), MaxRuleNameLen)
	case strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }):
		b.pr.add(b.val(path), "rule name %q has a control character", name)
	default:
		if first, dup := names[name]; dup {
			l, _ := b.pr.lines.position(first)
			b.pr.add(b.val(path), "duplicate rule name %q (first at line %d)", name, l)
			return false
		}
		names[name] = b.val(path)
		return true
	}
	return false
}

func (b *builder) types(path string, v any) ([]string, bool) {
	elems, ok := v.([]any)
	if !ok || len(elems) == 0 {
		b.pr.add(b.val(path), "types must be a non-empty array of event types such as [\"$login\"] (leave it out for every type)")
		return nil, false
	}
	types := make([]string, 0, len(elems))
	ok = true
	for i, e := range elems {
		s, isStr := e.(string)
		switch {
		case !isStr:
			b.pr.add(b.val(elem(path, i)), "event types are strings such as \"$login\"")
			ok = false
		case len(s) < 2 || s[0] != '$' || len(s) > MaxTypeLen || strings.ContainsFunc(s, unicode.IsSpace):
			b.pr.add(b.val(elem(path, i)), "event type %q must start with $, as in \"$login\"", s)
			ok = false
		default:
			types = append(types, s)
		}
	}
	return types, ok
}

// conditionErrors reports errs, found in the condition when whose value
// is at path, at their places in the file.
func (b *builder) conditionErrors(path, when string, errs []conditionError) {
	at := b.val(path)
	val, offs, _, ok := decodeString(b.src, at, true)
	if !ok || val != when {
		offs = nil // the locator lost its way; point at the value
	}
	for _, e := range errs {
		off := at
		if len(offs) > 0 {
			off = offs[min(max(e.at, 0), len(offs)-1)]
		}
		b.pr.add(off, "rule condition: %s", e.msg)
	}
}
