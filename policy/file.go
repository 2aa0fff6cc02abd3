package policy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/riskwatch/riskwatch/decision"
)

// Limits on policy files. A file over a limit is refused with an error
// at the place it is crossed; nothing is compiled past MaxRules, so a
// file of any size is refused or compiled in time linear in its size.
const (
	MaxFileSize     = 4 << 20
	MaxRules        = 1000
	MaxRuleNameLen  = 64
	MaxTypeLen      = 64
	MaxLists        = 64
	MaxListEntries  = 100_000 // over all lists
	MaxListEntryLen = 256
)

// Load reads and parses the policy file at path (at most MaxFileSize
// bytes); its errors name the file as path.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read %s: %w", path, err)
	}
	return Parse(path, src)
}

// Parse reads a policy file (SPEC section 12): default, [lists] and
// [[rule]] tables with name, when, action and types. name is the file's
// name in errors. Every problem found is reported as an Errors value: each
// one "FILE:LINE:COL: message" at the offending key or value, inside a
// condition at the offending character (also in multi-line strings).
// Unknown keys, missing or mistyped values, duplicate rule names, unknown
// actions, event types without "$", conditions that do not compile and
// files over the limits above are errors.
func Parse(name string, src []byte) (*Policy, error) {
	text := string(src)
	b := &builder{
		pr:  &problems{file: name, lines: newLineIndex(text)},
		src: text,
		p:   &Policy{name: name, def: decision.ActionAllow, lists: make(map[string]map[string]struct{})},
	}
	if len(src) > MaxFileSize {
		b.pr.add(0, "file is %d bytes; a policy file is at most %d", len(src), MaxFileSize)
		return nil, b.pr.err()
	}
	var deep int
	if b.at, deep = locate(text); deep >= 0 {
		b.pr.add(deep, "arrays and inline tables nest deeper than %d levels", maxNesting)
		return nil, b.pr.err()
	}
	// Count the rules before decoding: the decoder takes seconds on a
	// few MiB of tables, and nothing past MaxRules would be compiled.
	rules := child("", "rule")
	if _, over := b.at[elem(rules, MaxRules)]; over {
		n := MaxRules
		for _, ok := b.at[elem(rules, n)]; ok; _, ok = b.at[elem(rules, n)] {
			n++
		}
		b.pr.add(b.key(elem(rules, MaxRules)), "%d rules; a policy has at most %d", n, MaxRules)
		return nil, b.pr.err()
	}
	var raw map[string]any
	if _, err := toml.Decode(text, &raw); err != nil {
		var pe toml.ParseError
		switch {
		case errors.As(err, &pe) && pe.Position.Start >= 0 && pe.Position.Start <= len(text):
			// Start is exact; Line can be one past it at a line's end.
			b.pr.add(pe.Position.Start, "%s", pe.Message)
		case errors.As(err, &pe):
			b.pr.add(b.pr.lines.offset(pe.Position.Line, pe.Position.Col), "%s", pe.Message)
		default:
			b.pr.add(0, "%s", strings.TrimPrefix(err.Error(), "toml: "))
		}
		return nil, b.pr.err()
	}
	b.build(raw)
	if err := b.pr.err(); err != nil {
		return nil, err
	}
	return b.p, nil
}
