package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The layering of SPEC section 9 as the compiler sees it: decision imports
// nothing of ours, store only decision, and the dashboard reaches data only
// through api (no bbolt, store or collector under tui/).
func TestArchitecture(t *testing.T) {
	const mod = "github.com/riskwatch/riskwatch/"
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, c := range []struct {
		pkg     string
		allowed func(dep string) bool
	}{
		{"./decision", func(dep string) bool { return !strings.HasPrefix(dep, mod) || dep == mod+"decision" }},
		{"./store", func(dep string) bool {
			return !strings.HasPrefix(dep, mod) || dep == mod+"decision" || dep == mod+"store"
		}},
		{"./tui/...", func(dep string) bool {
			return !strings.Contains(dep, "bbolt") && dep != mod+"store" && dep != mod+"collector"
		}},
		{"./api", func(dep string) bool {
			return !strings.Contains(dep, "bbolt") && dep != mod+"store" && dep != mod+"collector"
		}},
	} {
		for _, dep := range deps(c.pkg) {
			if !c.allowed(dep) {
				t.Errorf("%s depends on %s", c.pkg, dep)
			}
		}
	}
}
