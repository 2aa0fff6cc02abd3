package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// rulesFile returns a file of n rules whose conditions are when(i).
func rulesFile(n int, when func(i int) string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[[rule]]\nname = \"r%d\"\nwhen = '%s'\naction = \"deny\"\n", i, when(i))
	}
	return b.String()
}

func oneRule(when string) string { return rulesFile(1, func(int) string { return when }) }

// parseErr parses src and returns its only error, failing the test when
// it parses or reports several.
func parseErr(t *testing.T, src string) *Error {
	t.Helper()
	_, err := Parse("p.toml", []byte(src))
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 {
		t.Fatalf("want one error, got %v", err)
	}
	return es[0]
}

// TestTenThousandRulesAreRefused: a 10k-rule file is refused at its
// 1001st rule, before it is decoded and before any condition is compiled
// (all 10k are invalid here, and only the count is reported).
func TestTenThousandRulesAreRefused(t *testing.T) {
	src := rulesFile(10_000, func(i int) string { return fmt.Sprintf("rsk > %d", i) })
	e := parseErr(t, src)
	if e.Line != 4*MaxRules+1 || e.Col != 1 || e.Msg != "10000 rules; a policy has at most 1000" {
		t.Errorf("got %v", e)
	}
}

// TestMaxRulesCompile: a file at the limit compiles, and each rule's
// condition costs a bounded compile (MaxWhenLen, MaxNodes).
func TestMaxRulesCompile(t *testing.T) {
	p := mustParse(t, rulesFile(MaxRules, func(i int) string {
		return fmt.Sprintf(`risk > %d && "tor_ip" in signals && count("ip", "%dm") > 3`, i, 1+i%MaxQueries)
	}))
	if len(p.Rules()) != MaxRules || len(p.Queries()) != MaxQueries {
		t.Errorf("%d rules, %d queries", len(p.Rules()), len(p.Queries()))
	}
}

func TestHostileConditions(t *testing.T) {
	for _, tc := range []struct{ name, when, msg string }{
		{"too long", "risk > 1 || " + strings.Repeat("risk > 2 || ", 400) + "true", "bytes; at most 4096"},
		{"too many nodes", strings.Repeat("!", 300) + "true", "expression exceeds maximum allowed nodes"},
		{"deep parentheses", strings.Repeat("(", 2000) + "risk" + strings.Repeat(")", 2000) + " > 1", ""},
		{"long pattern", `ua matches "` + strings.Repeat("a", MaxPatternLen+1) + `"`, "pattern is 257 bytes; at most 256"},
		{"huge repeat", `ua matches "((a{1000}){1000}){1000}"`, "error parsing regexp"},
		{"repeat", `len(repeat("a", 1000000000)) > 1`, "repeat() is not available"},
		{"range", `len(1..1000000000) > 1`, "ranges (..) are not available"},
		{"nested predicates", `any(signals, all(signals, none(signals, # == "x")))`, "inside another predicate"},
		{"date", `date("2024-01-01") > now()`, "date() is not available"},
		{"huge literal", `risk > 1e999`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.toml", []byte(oneRule(tc.when)))
			if tc.msg == "" {
				return // compiled or refused: either way, in bounded time
			}
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %q", err, tc.msg)
			}
		})
	}
}

func TestHostileFiles(t *testing.T) {
	huge := "[lists]\nbig = [" + strings.Repeat(`"x", `, MaxFileSize/5) + "]\n"
	manyLists := "[lists]\n"
	for i := range MaxLists + 1 {
		manyLists += fmt.Sprintf("l%d = []\n", i)
	}
	entries := "[lists]\n"
	for i := range MaxLists {
		entries += fmt.Sprintf("l%d = [%s]\n", i, strings.Repeat(`"x",`, MaxListEntries/MaxLists+1))
	}
	for _, tc := range []struct{ name, src, msg string }{
		{"too big", huge, "p.toml:1:1: file is"},
		{"deep nesting", "a = " + strings.Repeat("[", 100_000), "p.toml:1:21: arrays and inline tables nest deeper than 16 levels"},
		{"deep inline tables", "a = " + strings.Repeat("{b = ", 20), "p.toml:1:85: arrays and inline tables nest deeper"},
		{"nul", "default = \"allow\"\x00", "p.toml:1:"},
		{"invalid utf-8", "default = \"\xff\"", "p.toml:1:"},
		{"unterminated", "[[rule]]\nwhen = '''risk > 1", "p.toml:2:"},
		{"list entries", entries, "more than 100000 list entries in all"},
		{"long list entry", "[lists]\nx = [\"" + strings.Repeat("a", 300) + "\"]", "p.toml:2:6: list \"x\": entry is 300 bytes"},
		{"too many queries", rulesFile(MaxQueries+1, func(i int) string { return fmt.Sprintf(`count("ip", "%ds") > 0`, i+1) }),
			"p.toml:259:9: rule condition: more than 64 distinct velocity queries"},
		{"too many lists", manyLists, "p.toml:66:1: more than 64 lists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.toml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %.300v, want %q", err, tc.msg)
			}
		})
	}
}

// TestSlowRegexIsBounded evaluates the worst pattern a policy may write
// against the longest user agent: the condition sees MaxStringLen bytes
// and Go's regexp is linear, so each evaluation stays in microseconds to
// milliseconds, never more.
func TestSlowRegexIsBounded(t *testing.T) {
	pattern := strings.Repeat("(a|aa|a?a*)*", MaxPatternLen/12) + "b"
	p := mustParse(t, oneRule(`ua matches "`+pattern+`"`))
	d := &decision.Decision{UserAgent: strings.Repeat("a", 1<<20), Action: decision.ActionAllow}
	ev := p.NewEvaluator(nil)
	start := time.Now()
	const n = 5
	for range n {
		if res, err := ev.Evaluate(d); err != nil || res.Action != decision.ActionAllow {
			t.Fatalf("got %+v, %v", res, err)
		}
	}
	per := time.Since(start) / n
	t.Logf("%d-byte pattern on a %d-byte user agent: %v per evaluation", len(pattern), len(d.UserAgent), per)
	if per > time.Second {
		t.Errorf("%v per evaluation", per)
	}
}
