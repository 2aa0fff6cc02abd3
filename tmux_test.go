package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives a program in a detached tmux session on a private
// server socket, reading the screen as a person would see it.
type tmuxSession struct {
	t      testing.TB
	sock   string
	name   string
	stderr string // the program's standard error
}

func newTmux(t testing.TB, w, h int, env []string, argv ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	dir := t.TempDir()
	s := &tmuxSession{t: t, sock: filepath.Join(dir, "tmux.sock"), name: "rw", stderr: filepath.Join(dir, "stderr.log")}
	cmd := strings.Join(append(env, argv...), " ") + " 2>" + s.stderr
	s.run("new-session", "-d", "-s", s.name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), cmd)
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", s.sock, "kill-server").Run() })
	return s
}

// exitedEarly waits up to d for the first frame and reports the program's
// standard error if the session ended before it.
func (s *tmuxSession) exitedEarly(d time.Duration) string {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if msg := s.exited(); msg != "" {
			return msg
		}
		out, err := exec.Command("tmux", "-S", s.sock, "capture-pane", "-p", "-t", s.name).Output()
		if err == nil && strings.Contains(string(out), "riskwatch") {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ""
}

// exited reports the program's standard error when its session is gone.
func (s *tmuxSession) exited() string {
	if exec.Command("tmux", "-S", s.sock, "has-session", "-t", s.name).Run() == nil {
		return ""
	}
	b, _ := os.ReadFile(s.stderr)
	return fmt.Sprintf("the program exited; its standard error:\n%s", b)
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s\n%s", args, err, out, s.exited())
	}
	return string(out)
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	s.run(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

func (s *tmuxSession) screen() string {
	s.t.Helper()
	return s.run("capture-pane", "-p", "-t", s.name)
}

// waitScreen waits until the screen satisfies ok, failing with the last
// screen after d.
func (s *tmuxSession) waitScreen(what string, d time.Duration, ok func(string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		scr := s.screen()
		if ok(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s: screen after %v:\n%s", what, d, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var rowRe = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d .*\b(ALLOW|CHALLENGE|DENY|ERROR)\b`)

func rows(screen string) []string {
	var out []string
	for _, m := range rowRe.FindAllStringSubmatch(screen, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestDemoInTmux runs `riskwatch demo` in a real terminal and uses it as a
// person would: rows appear, pause holds the screen and counts new events, a
// filter narrows the rows, the detail opens, a resize to 40x10 and back
// leaves it working, and q quits.
func TestDemoInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary in tmux")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	start := func() *tmuxSession {
		return newTmux(t, 120, 32, []string{"HOME=" + dir, "TERM=tmux-256color"}, bin, "demo", "--db", filepath.Join(dir, "demo.db"))
	}
	s := start()
	// Once in a few dozen runs on a loaded CI machine the program has been
	// seen to end before its first frame; say so with its standard error,
	// and try once more so that one start-up does not hide the flows below.
	if msg := s.exitedEarly(3 * time.Second); msg != "" {
		t.Logf("first start ended early: %s", msg)
		s = start()
	}

	s.waitScreen("rows to appear", 10*time.Second, func(scr string) bool { return len(rows(scr)) >= 5 })

	s.keys("space")
	paused := s.waitScreen("the pause to count new events", 10*time.Second, func(scr string) bool {
		return regexp.MustCompile(`PAUSED [\d,]+ new`).MatchString(scr) && !strings.Contains(scr, "PAUSED 0 new")
	})
	first := rows(paused)
	held := s.screen()
	if got := rows(held); strings.Join(got, ",") != strings.Join(first, ",") {
		t.Errorf("rows moved while paused:\nbefore %v\nafter  %v", first, got)
	}
	s.keys("G")
	s.waitScreen("following again", 5*time.Second, func(scr string) bool { return strings.Contains(scr, "following") })

	s.keys("/")
	s.keys("action:deny", "Enter")
	s.waitScreen("only DENY rows", 15*time.Second, func(scr string) bool {
		rs := rows(scr)
		if len(rs) == 0 || !strings.Contains(scr, "filter: action:deny") {
			return false
		}
		for _, a := range rs {
			if a != "DENY" {
				return false
			}
		}
		return true
	})

	s.keys("Enter")
	s.waitScreen("the detail view", 5*time.Second, func(scr string) bool {
		return strings.Contains(scr, "Decision ") && strings.Contains(scr, "Scores") && strings.Contains(scr, "DENY")
	})
	s.keys("Escape")
	s.waitScreen("back to the list", 5*time.Second, func(scr string) bool { return len(rows(scr)) > 0 && !strings.Contains(scr, "Scores") })

	s.run("resize-window", "-t", s.name, "-x", "40", "-y", "10")
	small := s.waitScreen("the 40x10 layout", 5*time.Second, func(scr string) bool { return strings.Contains(scr, "DENY") })
	for i, l := range strings.Split(strings.TrimRight(small, "\n"), "\n") {
		if w := len([]rune(l)); w > 40 {
			t.Errorf("line %d is %d wide at 40x10: %q", i+1, w, l)
		}
	}
	s.run("resize-window", "-t", s.name, "-x", "120", "-y", "32")
	s.waitScreen("the full layout again", 5*time.Second, func(scr string) bool {
		return strings.Contains(scr, "TYPE/STATUS") && len(rows(scr)) > 3
	})

	s.keys("5")
	s.waitScreen("the health view", 5*time.Second, func(scr string) bool { return strings.Contains(strings.ToLower(scr), "inbox") })

	s.keys("q")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := exec.Command("tmux", "-S", s.sock, "has-session", "-t", s.name).Run(); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("q did not quit:\n%s", s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "demo.db")); err != nil {
		t.Errorf("the demo's database is missing after quitting: %v", err)
	}
}
