package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shadow's memory bound is read from [policy] max_live_entries and
// --shadow-max-live-entries; a bound that is not a positive number is
// refused, naming the key or the flag.
func TestShadowMaxLiveEntriesRefusedNamingKeyOrFlag(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "rw.db")
	for _, c := range []struct {
		name string
		args []string
		toml string
		want []string
	}{
		{"flag zero", []string{"--shadow-max-live-entries", "0"}, "", []string{"--shadow-max-live-entries: want a positive number", "got 0", "riskwatch collect --help"}},
		{"flag negative", []string{"--shadow-max-live-entries", "-5"}, "", []string{"--shadow-max-live-entries: want a positive number", "got -5"}},
		{"flag text", []string{"--shadow-max-live-entries", "lots"}, "", []string{"--shadow-max-live-entries: want a whole number", `got "lots"`}},
		{"key zero", nil, "[policy]\nmax_live_entries = 0\n", []string{"policy.max_live_entries", "want a positive number", "got 0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"collect", "--emulator", "--db", db, "--listen", "127.0.0.1:0"}, c.args...)
			if c.toml != "" {
				cfg := filepath.Join(t.TempDir(), "config.toml")
				if err := os.WriteFile(cfg, []byte(c.toml), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", cfg)
			}
			code, _, stderr := runCLI(t, nil, args...)
			if code == 0 {
				t.Fatalf("accepted: %q", stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("exit %d, %q does not say %q", code, stderr, w)
				}
			}
		})
	}
}
