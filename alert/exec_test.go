//go:build unix

package alert

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// script writes an executable shell script into a temporary directory.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// The program reads the payload on its standard input and gets the alert
// in its environment, but none of the collector's (the Safe-e key).
func TestExecReadsThePayloadOnStdin(t *testing.T) {
	t.Setenv("SAFEE_API_KEY", "sk-secret")
	path := script(t, `cat > "$0.out"; env > "$0.env"`)
	x, err := NewExec(path, NotifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close(t.Context())
	n := note(2)
	x.Notify(n)
	waitFor(t, "the program to run", func() bool { return x.Health().Sent == 1 })
	out, err := os.ReadFile(path + ".out")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := n.Payload(); string(out) != string(want) {
		t.Errorf("stdin\n%s\nwant\n%s", out, want)
	}
	env, err := os.ReadFile(path + ".env")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env), "RISKWATCH_ALERT=deny spike\n") || !strings.Contains(string(env), "RISKWATCH_ALERT_STATE=firing\n") {
		t.Errorf("environment lacks the alert:\n%s", env)
	}
	if strings.Contains(string(env), "sk-secret") {
		t.Errorf("the program saw the Safe-e key:\n%s", env)
	}
}

// A program that outlives ExecTimeout is killed with the child it started,
// and the failure says so.
func TestExecTimeoutKillsIt(t *testing.T) {
	path := script(t, `echo $$ > "$0.pid"; sleep 60 & echo $! > "$0.child"; wait`)
	x, err := NewExec(path, NotifyOptions{ExecTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close(t.Context())
	x.Notify(note(0))
	waitFor(t, "the timeout", func() bool { return x.Health().Failed == 1 })
	if hl := x.Health(); hl.LastError != "killed after 200ms (timeout)" || hl.Sent != 0 {
		t.Errorf("health %+v", hl)
	}
	for _, f := range []string{".pid", ".child"} {
		b, err := os.ReadFile(path + f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "process "+f+" to die", func() bool { return gone(pid) })
	}
}

// gone reports whether pid has exited (a zombie waiting for its reaper
// counts as exited).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return os.IsNotExist(err)
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

// A failing program's exit status and the end of its standard error are
// the error; it is not retried.
func TestExecFailureKeepsStderr(t *testing.T) {
	path := script(t, `echo "no pager configured" >&2; exit 3`)
	x, err := NewExec(path, fastRetries)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close(t.Context())
	x.Notify(note(0))
	waitFor(t, "the failure", func() bool { return x.Health().Failed == 1 })
	if hl := x.Health(); hl.LastError != "exit status 3: no pager configured" || hl.Retries != 0 {
		t.Errorf("health %+v", hl)
	}
}

// Only an absolute path to an executable file is accepted.
func TestExecRefusesWhatCannotRun(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"relative/page-me", filepath.Join(dir, "missing"), plain, dir} {
		if x, err := NewExec(path, NotifyOptions{}); err == nil {
			x.Close(t.Context())
			t.Errorf("NewExec(%q) accepted it", path)
		}
	}
	rules := mustRules(t, "[[alert]]\nname = \"a\"\nfilter = \"action:deny\"\nkind = \"rate\"\nabove = 1\nnotify = [\"bell\", \"exec:"+plain+"\"]")
	if _, err := NewNotifiers(rules, NotifyOptions{}); err == nil || !strings.Contains(err.Error(), `alert "a": notify[1]: exec `+plain+": not an executable file") {
		t.Errorf("NewNotifiers: %v", err)
	}
}
