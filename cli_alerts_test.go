package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAlertsPrometheusFromConfig prints the config file's rules as
// Prometheus rules over the labels /metrics carries.
func TestAlertsPrometheusFromConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "rw.toml")
	err := os.WriteFile(cfg, []byte(`
[[alert]]
name = "login denies"
filter = "type:LOGIN action:deny"
kind = "rate"
above = 10
for = "2m"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, nil, "alerts", "prometheus", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"alert: RiskwatchLoginDenies", `type=\"$login\",action=\"deny\"`, "for: 2m"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "does not carry") {
		t.Errorf("type is a label of /metrics now:\n%s", out)
	}
}

// TestAlertsWithoutRules says where rules go.
func TestAlertsWithoutRules(t *testing.T) {
	for _, args := range [][]string{{"alerts", "prometheus"}, {"alerts", "backtest", "--db", filepath.Join(t.TempDir(), "none.db")}} {
		code, _, stderr := runCLI(t, nil, args...)
		if code == 0 || !strings.Contains(stderr, "no alert rules: add [[alert]] tables") {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[[alert]]\nname = \"x\"\nkind = \"rate\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, nil, "alerts", "backtest", "--alerts", bad, "--since", "soon")
	if code == 0 || !strings.Contains(stderr, "--since") {
		t.Errorf("bad --since: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCLI(t, nil, "alerts", "prometheus", "--alerts", bad)
	if code == 0 || !strings.Contains(stderr, `alert "x"`) {
		t.Errorf("bad rule: exit %d, %s", code, stderr)
	}
}
