package policy

import "testing"

// mustParse parses src as p.toml or fails the test.
func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("p.toml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}
