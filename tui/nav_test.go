package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

func TestSaverWritesTheConfigFile(t *testing.T) {
	if (Options{}).saver() != nil {
		t.Fatal("a saver without a config file")
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("# mine\n[ui]\ntheme = \"dark\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	save := Options{ConfigPath: path}.saver()
	got, err := save(Thresholds{Score: decision.ScoreATO, Challenge: 40, Deny: 75})
	if err != nil || got != path {
		t.Fatalf("saved to %q: %v", got, err)
	}
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Thresholds != (config.Thresholds{Score: "ato", Challenge: 40, Deny: 75}) || cfg.UI.Theme != "dark" {
		t.Fatalf("loaded %+v", cfg)
	}
	body, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(body), "# mine\n") {
		t.Errorf("the comment was lost:\n%s", body)
	}
}

func TestNewestThresholdsWin(t *testing.T) {
	m, err := New(testOptions(fixture.New(0)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	newer := decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 70}
	older := decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 71}
	m.Update(common.ThresholdsMsg{Thresholds: newer, Version: 2})
	m.Update(common.ThresholdsMsg{Thresholds: older, Version: 1})
	if m.c.Thresholds == nil || *m.c.Thresholds != newer {
		t.Fatalf("thresholds %+v, want the newest announced %+v", m.c.Thresholds, newer)
	}
}
