package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReloadShadowPolicyKeyInTmux runs the combined `riskwatch` (collector
// and dashboard in one process, which keeps SIGHUP's default) with a
// shadow policy: R in What-if's policy mode reloads the file. A file that
// does not compile shows FILE:LINE:COL and keeps the policy, which still
// decides the next decision; a good file applies to the next decision and
// the replay. Both reloads are in the log next to the database.
func TestReloadShadowPolicyKeyInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary in tmux")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "rw.db")
	shadow := writeFile(t, dir, "shadow.toml", "[[rule]]\nname = \"home net\"\nwhen = 'ip24 == \"203.0.113.0/24\"'\naction = \"challenge\"\n")
	s := newTmux(t, 160, 40, []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "TZ=UTC", "TERM=tmux-256color"},
		bin, "--emulator", "--listen", "127.0.0.1:0", "--db", db, "--shadow-policy", shadow)
	var url string
	waitUntil(t, 20*time.Second, "address recorded by the collector", func() bool {
		if msg := s.exited(); msg != "" {
			t.Fatal(msg)
		}
		info, ok := readLockInfo(db)
		url = "http://" + info.Listen
		return ok && info.Listen != ""
	})
	s.waitScreen("the dashboard", 10*time.Second, func(scr string) bool { return strings.Contains(scr, "[1 Live]") })
	send := func(id string) {
		t.Helper()
		post(t, url, []event{{ID: id, User: "u-" + id, Email: "a@example.com", IP: "203.0.113.7", UA: uaChrome, Type: "login/succeeded"}})
	}
	live := func(what string, n int, shadow string) {
		t.Helper()
		s.keys("1")
		s.waitScreen(what, 20*time.Second, func(scr string) bool { return strings.Count(scr, shadow) == n })
	}
	send("a1")
	live("the first decision under the first policy", 1, "challenge home net")

	s.keys("4")
	s.waitScreen("What-if", 10*time.Second, func(scr string) bool { return strings.Contains(scr, "[4 What-if]") })
	s.keys("p")
	s.waitScreen("the replay of the first policy", 10*time.Second, func(scr string) bool {
		return regexp.MustCompile(`home net\s+1\s+1\s+0`).MatchString(scr) && strings.Contains(scr, "R reload the shadow policy file")
	})

	// A file that does not compile: the error with its position, and the
	// policy kept.
	writeFile(t, dir, "shadow.toml", "default = \"maybe\"\n")
	s.keys("R")
	s.waitScreen("the refusal", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "shadow policy NOT reloaded: shadow.toml:1:11") &&
			strings.Contains(scr, "last reload failed") && strings.Contains(scr, shadow+":1:11") &&
			strings.Contains(scr, "shadow policy: "+shadow+" · 1 rules")
	})
	send("a2")
	live("the next decision under the policy kept", 2, "challenge home net")

	// A good file: the next decision and the replay take it.
	writeFile(t, dir, "shadow.toml", "[[rule]]\nname = \"everyone\"\nwhen = 'true'\naction = \"deny\"\n")
	s.keys("4")
	s.keys("R")
	s.waitScreen("the reload", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "shadow policy reloaded: shadow.toml, 1 rules") && !strings.Contains(scr, "last reload failed") &&
			regexp.MustCompile(`everyone\s+2\s+2\s+0`).MatchString(scr)
	})
	send("a3")
	live("the next decision under the new policy", 1, "deny everyone")
	if scr := s.screen(); strings.Count(scr, "challenge home net") != 2 {
		t.Errorf("the decisions before the reload changed their shadow:\n%s", scr)
	}

	logged, err := os.ReadFile(filepath.Join(dir, "riskwatch.log"))
	if err != nil {
		t.Fatal(err)
	}
	if log := string(logged); !strings.Contains(log, "shadow policy not reloaded") || !strings.Contains(log, "shadow.toml:1:11") ||
		!strings.Contains(log, "shadow policy reloaded") {
		t.Errorf("the reloads are not in the log:\n%s", log)
	}
}
