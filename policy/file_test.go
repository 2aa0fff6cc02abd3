package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// specExample is the policy of SPEC section 12.
const specExample = `default = "allow"
[lists]
vip = ["u100001", "u100002"]
[[rule]]
name = "tor"
when = '"tor_ip" in signals'
action = "deny"
[[rule]]
name = "stuffing ip"
when = 'status == "$failed" && distinct("ip", "user", "10m") >= 5'
action = "challenge"
types = ["$login"]
`

func TestParseSpecExample(t *testing.T) {
	p := mustParse(t, specExample)
	if p.Default() != decision.ActionAllow || p.Name() != "p.toml" {
		t.Errorf("default %q, name %q", p.Default(), p.Name())
	}
	want := []Rule{
		{Name: "tor", Action: decision.ActionDeny, When: `"tor_ip" in signals`, Line: 4, Reads: []string{"signals"}},
		{Name: "stuffing ip", Action: decision.ActionChallenge, Types: []string{"$login"}, Line: 8,
			When:  `status == "$failed" && distinct("ip", "user", "10m") >= 5`,
			Reads: []string{"status", `distinct("ip", "user", "10m")`}},
	}
	got := p.Rules()
	if len(got) != len(want) {
		t.Fatalf("rules: %+v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Action != w.Action || g.When != w.When || g.Line != w.Line ||
			!slices.Equal(g.Types, w.Types) || !slices.Equal(g.Reads, w.Reads) {
			t.Errorf("rule %d: got %+v, want %+v", i, g, w)
		}
	}
	if q := p.Queries(); len(q) != 1 || q[0] != (Query{Key: KeyIP, Of: KeyUser, Window: 10 * time.Minute}) {
		t.Errorf("queries %v", q)
	}
	if p.MaxWindow() != 10*time.Minute || p.Lists()["vip"] != 2 {
		t.Errorf("max window %v, lists %v", p.MaxWindow(), p.Lists())
	}
}

// TestParseForms checks the TOML forms a policy can take: inline tables,
// dotted keys, every kind of string.
func TestParseForms(t *testing.T) {
	for name, src := range map[string]string{
		"inline": `rule = [{name = "a", when = "risk > 1", action = "deny"}, {name = "b", when = 'in_list("x", user)', action = "allow"}]
lists = {x = ["u1"]}`,
		"dotted": `lists.x = ["u1"]
[[rule]]
name = "a"
when = "risk > 1"
action = "DENY"
[[rule]]
name = "b"
when = """in_list("x", user)"""
action = "allow"`,
		"escapes": `lists.x = ["u1"]
[[rule]]
name = "a"
when = "\u0072isk > 1"
action = "deny"
[[rule]]
name = "b"
when = """
in_list("x", \
        user)"""
action = "allow"`,
	} {
		p, err := Parse("p.toml", []byte(src))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		rs := p.Rules()
		if len(rs) != 2 || rs[0].Action != decision.ActionDeny || rs[1].Reads[0] != "user" {
			t.Errorf("%s: rules %+v", name, rs)
		}
	}
}

// TestParseErrors checks each problem is reported where it is, as
// FILE:LINE:COL, including inside conditions written as multi-line and
// escaped strings.
func TestParseErrors(t *testing.T) {
	rule := func(when string) string {
		return "[[rule]]\nname = \"r\"\naction = \"deny\"\nwhen = " + when + "\n"
	}
	for _, tc := range []struct{ name, src, want string }{
		{"syntax", "default = \"allow\"\n[[rule]\n", "p.toml:2:7: expected end of table array name delimiter"},
		{"unknown key", "default = \"allow\"\n  colour = 1\n", `p.toml:2:3: unknown key "colour"`},
		{"unknown table", "[thresholds]\nrisk = 1\n", `p.toml:1:1: unknown key "thresholds"`},
		{"default type", "default = 1\n", "p.toml:1:11: default must be a string"},
		{"default action", "default = \"block\"\n", `p.toml:1:11: unknown action "block"`},
		{"default error", "default = \"error\"\n", `p.toml:1:11: unknown action "error"`},
		{"rule not a table", "rule = 1\n", "p.toml:1:8: rule must be an array of tables"},
		{"rule missing when", "[[rule]]\nname = \"r\"\naction = \"deny\"\n", "p.toml:1:1: rule has no when"},
		{"rule missing name", "[[rule]]\nwhen = \"risk > 1\"\naction = \"deny\"\n", "p.toml:1:1: rule has no name"},
		{"rule unknown key", rule(`"risk > 1"`) + "enabled = true\n", `p.toml:5:1: unknown key "enabled" in a rule`},
		{"rule action", "[[rule]]\nname = \"r\"\nwhen = \"risk > 1\"\naction = \"block\"\n", `p.toml:4:10: unknown action "block"`},
		{"duplicate name", rule(`"risk > 1"`) + rule(`"risk > 2"`), `p.toml:6:8: duplicate rule name "r" (first at line 2)`},
		{"empty name", "[[rule]]\nname = \" \"\nwhen = \"risk > 1\"\naction = \"deny\"\n", "p.toml:2:8: rule name must not be empty"},
		{"types without $", rule(`"risk > 1"`) + "types = [\"$login\", \"login\"]\n", `p.toml:5:20: event type "login" must start with $`},
		{"types empty", rule(`"risk > 1"`) + "types = []\n", "p.toml:5:9: types must be a non-empty array"},
		{"list entry", "[lists]\nvip = [\"u1\", 100001]\n", `p.toml:2:14: list "vip": entries must be strings`},
		{"list type", "[lists]\nvip = \"u1\"\n", `p.toml:2:7: list "vip" must be an array of strings`},
		{"unknown variable", rule(`'risk > 1 && rsk < 3'`), "p.toml:4:21: rule condition: unknown name rsk"},
		{"type error", rule(`'user > 1'`), "p.toml:4:14: rule condition: invalid operation: > (mismatched types string and int)"},
		{"not boolean", rule(`'risk + 1'`), "p.toml:4:9: rule condition: condition must be true or false: expected bool, but got float64"},
		{"multi-line literal", rule("'''\nrisk > 1 &&\n   rsk < 3'''"), "p.toml:6:4: rule condition: unknown name rsk"},
		{"multi-line basic", rule("\"\"\"\n  risk > 1 && \\\n     \\u0072sk < 3\"\"\""), "p.toml:6:6: rule condition: unknown name rsk"},
		{"escapes", rule(`"\"tor\" in signals && rsk"`), "p.toml:4:31: rule condition: unknown name rsk"},
		{"inline table", "rule = [{name = \"r\", action = \"deny\", when = \"risk > x\"}]\n", "p.toml:1:54: rule condition: unknown name x"},
		{"syntax in condition", rule(`'risk >'`), "p.toml:4:14: rule condition: unexpected token EOF"},
		{"count key", rule(`'count("usr", "10m") > 1'`), `p.toml:4:15: rule condition: unknown key "usr" (want user, ip, ip24, email, email_domain, device)`},
		{"count window", rule(`'count("user", "10x") > 1'`), `p.toml:4:23: rule condition: window: "10x" is not a duration`},
		{"count window long", rule(`'count("user", "30d") > 1'`), `p.toml:4:23: rule condition: window "30d" is longer than 7d`},
		{"count window short", rule(`'count("user", "10ms") > 1'`), `p.toml:4:23: rule condition: window "10ms" is shorter than 1s`},
		{"count arity", rule(`'count("user") > 1'`), "p.toml:4:9: rule condition: count takes 2 arguments, not 1"},
		{"count variable", rule(`'count(user, "10m") > 1'`), "p.toml:4:15: rule condition: count's arguments must be string literals"},
		{"distinct same key", rule(`'distinct("ip", "ip", "10m") > 1'`), "p.toml:4:24: rule condition: distinct counts values of another key"},
		{"count as value", rule(`'count != nil'`), "p.toml:4:9: rule condition: count is a function: call it"},
		{"in_list unknown", rule(`'in_list("vips", user)'`), `p.toml:4:17: rule condition: no list "vips" in [lists] (there are none)`},
		{"in_cidr bad", rule(`'in_cidr(ip, "10.0.0/8")'`), `p.toml:4:21: rule condition: "10.0.0/8" is not a CIDR`},
		{"in_cidr variable", rule(`'in_cidr(ip, ip24)'`), "p.toml:4:21: rule condition: in_cidr's CIDR must be a string literal"},
		{"now", rule(`'now() != nil'`), "p.toml:4:9: rule condition: now() is not available in policies"},
		{"sortBy", rule(`'len(sortBy(signals, #)) > 1'`), "p.toml:4:13: rule condition: sortBy() is not available in policies"},
		{"env", rule(`'$env["risk"] > 1'`), "p.toml:4:9: rule condition: $env is not available in policies"},
		{"hidden function", rule(`'velocity#(1) > 1'`), "p.toml:4:17: rule condition: unexpected token Operator(\"#\")"},
		{"range", rule(`'len(1..100) > 1'`), "p.toml:4:14: rule condition: ranges (..) are not available"},
		{"nested predicate", rule(`'any(signals, any(signals, # == "x"))'`), "p.toml:4:9: rule condition: any() inside another predicate"},
		{"matches variable", rule(`'ua matches user'`), "p.toml:4:20: rule condition: the pattern of matches must be a string literal"},
		{"matches invalid", rule(`'ua matches "(("'`), "p.toml:4:12: rule condition: error parsing regexp: missing closing )"},
		{"empty condition", rule(`" "`), "p.toml:4:9: rule condition: condition is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.toml", []byte(tc.src))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %s...", err, tc.want)
			}
			var es Errors
			if err != nil && !errors.As(err, &es) {
				t.Errorf("error is %T, not Errors", err)
			}
		})
	}
}

// TestParseReportsEveryProblem checks problems are all reported, in file
// order, up to MaxErrors.
func TestParseReportsEveryProblem(t *testing.T) {
	var b strings.Builder
	for range MaxErrors + 5 {
		b.WriteString("[[rule]]\nname = \"r\"\nwhen = \"rsk > 1\"\naction = \"deny\"\n")
	}
	_, err := Parse("p.toml", []byte(b.String()))
	var es Errors
	if !errors.As(err, &es) || len(es) != MaxErrors+1 {
		t.Fatalf("got %d errors: %v", len(es), err)
	}
	if es[0].Line != 3 || es[1].Line != 6 || !strings.Contains(es[MaxErrors].Msg, "more not shown") {
		t.Errorf("errors out of order or not capped:\n%v", err)
	}
}
