package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Exec runs a program for each notification, one at a time in order, with
// the Payload on its standard input and no shell. The program gets a
// minimal environment, never the collector's (which holds the Safe-e key):
// PATH, HOME, LANG and TZ when set, RISKWATCH_ALERT (the alert's name) and
// RISKWATCH_ALERT_STATE (firing or resolved). Its standard output is
// discarded and the end of its standard error is kept for the error. A run
// that outlasts ExecTimeout is killed, with every process it started
// (its process group, on Unix). A failed run is not retried: a paging
// script need not be idempotent.
type Exec struct {
	*worker
	path    string
	timeout time.Duration
}

// NewExec starts an exec notifier for the program at path, which must be
// an absolute path to an executable file.
func NewExec(path string, opt NotifyOptions) (*Exec, error) {
	t := Target{Kind: TargetExec, Addr: path}
	if err := t.validate(); err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("exec %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("exec %s: not an executable file", path)
	}
	opt = opt.withDefaults()
	x := &Exec{path: path, timeout: opt.ExecTimeout}
	x.worker = startWorker(t.String(), x.run, false, opt)
	return x, nil
}

// maxStderr is how much of the end of a program's standard error is kept.
const maxStderr = 512

// run runs the program once.
func (x *Exec) run(parent context.Context, it item) error {
	ctx, cancel := context.WithTimeout(parent, x.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, x.path)
	cmd.Stdin = bytes.NewReader(it.body)
	var stderr tail
	cmd.Stderr = &stderr
	cmd.Env = execEnv(it)
	cmd.WaitDelay = time.Second // output pipes held by a stray child do not hold Wait
	killGroupOnCancel(cmd)
	err := cmd.Run()
	switch {
	case err == nil:
		return nil
	case parent.Err() != nil:
		return fmt.Errorf("abandoned at close: %w", parent.Err())
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("killed after %s (timeout)", x.timeout)
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		return fmt.Errorf("%w: %s", err, s)
	}
	return err
}

// execEnv returns the program's environment.
func execEnv(it item) []string {
	env := []string{"RISKWATCH_ALERT=" + it.alert, "RISKWATCH_ALERT_STATE=" + it.state}
	for _, k := range []string{"PATH", "HOME", "LANG", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// tail keeps the last maxStderr bytes written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > maxStderr {
		t.b = t.b[len(t.b)-maxStderr:]
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }
