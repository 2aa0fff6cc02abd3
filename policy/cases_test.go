package policy

import (
	"os"
	"strings"
	"testing"
)

func TestRunCasesExample(t *testing.T) {
	p, err := Load("testdata/spec.toml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/spec_cases.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := RunCases(p, "spec_cases.ndjson", f)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cases != 7 || rep.Passed != 7 {
		t.Errorf("%d of %d passed: %v", rep.Passed, rep.Cases, rep.Failures)
	}
}

// TestRunCasesFailures checks each failure is reported by line, with what
// was decided and what was expected.
func TestRunCasesFailures(t *testing.T) {
	p := mustParse(t, specExample+`
[[rule]]
name = "third signal"
when = 'signals[2] == "x"'
action = "deny"
`)
	cases := strings.Join([]string{
		`{"name": "ok", "event": {"signals": ["tor_ip"]}, "expect": {"action": "deny", "rule": "tor"}}`,
		``,
		`{"name": "wrong action", "event": {"signals": ["tor_ip"]}, "expect": {"action": "allow"}}`,
		`{"name": "wrong rule", "event": {"signals": ["tor_ip"]}, "expect": {"action": "deny", "rule": "stuffing ip"}}`,
		`{"name": "default", "event": {}, "expect": {"action": "allow", "rule": "tor"}}`,
		`{"name": "unknown field", "event": {"ua_family": "curl"}, "expect": {"action": "allow"}}`,
		`not json`,
		`{"name": "bad fact", "event": {}, "velocity": {"count(\"ipp\", \"10m\")": 1}, "expect": {"action": "allow"}}`,
		`{"name": "history after", "event": {"time": "2026-03-01T12:00:00Z"}, "history": [{"time": "2026-03-01T12:00:00Z"}], "expect": {"action": "allow"}}`,
		`{"name": "no action", "event": {}, "expect": {}}`,
		`{"name": "run-time error", "event": {"signals": ["a"]}, "expect": {"action": "allow"}}`,
	}, "\n")
	rep, err := RunCases(p, "c.ndjson", strings.NewReader(cases))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`c.ndjson:3: wrong action: got deny by rule "tor", want allow`,
		`c.ndjson:4: wrong rule: got deny by rule "tor", want deny by rule "stuffing ip"`,
		`c.ndjson:5: default: got allow by the default, want allow by rule "tor"`,
		`c.ndjson:6: not a test case: json: unknown field "ua_family"`,
		`c.ndjson:7: not a test case: invalid character 'o' in literal null (expecting 'u')`,
		`c.ndjson:8: bad fact: velocity: "count(\"ipp\", \"10m\")": unknown key "ipp"`,
		`c.ndjson:9: history after: history[0] is not before the event`,
		`c.ndjson:10: no action: expect.action: unknown action ""`,
		`c.ndjson:11: run-time error: rule "third signal": index out of range: 2 (array length is 1)`,
	}
	if rep.Cases != 10 || rep.Passed != 1 || len(rep.Failures) != len(want) {
		t.Fatalf("%d cases, %d passed, failures:\n%v", rep.Cases, rep.Passed, rep.Failures)
	}
	for i, f := range rep.Failures {
		if !strings.HasPrefix(f.Error(), want[i]) {
			t.Errorf("failure %d:\n got %s\nwant %s", i, f.Error(), want[i])
		}
	}
}

func TestParseQueryRoundTrip(t *testing.T) {
	for _, s := range []string{`count("ip", "10m")`, `distinct("ip24", "email_domain", "1d12h")`, `count("device", "1m30s")`, `count("user", "7d")`} {
		q, err := ParseQuery(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if q.String() != s {
			t.Errorf("%s reads back as %s", s, q)
		}
	}
	for _, s := range []string{`count(ip, "10m")`, `sum("ip", "10m")`, `count("ip", "10m"`, `count("ip", "-1m")`, `count("ip", "0s")`} {
		if _, err := ParseQuery(s); err == nil {
			t.Errorf("%s: no error", s)
		}
	}
}
