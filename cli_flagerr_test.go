package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every numeric flag of every command answers a value it cannot read with
// what it expects, never strconv's words, and points at the command's
// --help; an unknown flag does too.
func TestFlagErrorsSayWhatIsExpected(t *testing.T) {
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		cmds = append(cmds, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(a.rootCmd())
	numeric := 0
	for _, c := range cmds {
		path := strings.Fields(c.CommandPath())[1:]
		c.Flags().VisitAll(func(f *pflag.Flag) {
			switch f.Value.Type() {
			case "int", "int64", "uint", "uint64", "float64", "float", "duration":
			default:
				return
			}
			numeric++
			args := append(append([]string{}, path...), "--"+f.Name, "abc")
			code, _, stderr := runCLI(t, nil, args...)
			if code != 2 || !strings.Contains(stderr, "--"+f.Name+": want ") || !strings.Contains(stderr, `got "abc"`) ||
				!strings.Contains(stderr, "see "+c.CommandPath()+" --help") || strings.Contains(stderr, "strconv") || strings.Contains(stderr, "time:") {
				t.Errorf("%s: exit %d, %q", strings.Join(args, " "), code, stderr)
			}
		})
		args := append(append([]string{}, path...), "--no-such-flag")
		if code, _, stderr := runCLI(t, nil, args...); code != 2 || !strings.Contains(stderr, "unknown flag: --no-such-flag (see "+c.CommandPath()+" --help)") {
			t.Errorf("%s: exit %d, %q", strings.Join(args, " "), code, stderr)
		}
	}
	if numeric < 8 {
		t.Fatalf("only %d numeric flags found: the walk missed commands", numeric)
	}
	if code, _, stderr := runCLI(t, nil, "stats", "--since"); code != 2 || !strings.Contains(stderr, "--since needs a value (see riskwatch stats --help)") {
		t.Errorf("a flag without its value: exit %d, %q", code, stderr)
	}
}

// A command that finds the database in use names the collector that holds
// it and where it listens, from what the collector recorded beside the
// database; the record goes when the collector stops.
func TestDatabaseInUseNamesTheHolder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "rw.db")
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	col := start(t, env, "collect", "--emulator", "--listen", "127.0.0.1:0", "--db", db)
	addr := col.await(t, reListen, 20*time.Second)

	code, _, stderr := runCLI(t, nil, "stats", "--db", db)
	if code != 3 || !strings.Contains(stderr, "in use by another riskwatch process") ||
		!strings.Contains(stderr, "listening on "+addr) || !strings.Contains(stderr, "--connect http://"+addr) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if err := col.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-col.done
	if err := col.cmd.Wait(); err != nil {
		t.Fatalf("the collector did not stop cleanly: %v", err)
	}
	if _, err := os.Stat(lockInfoPath(db)); !os.IsNotExist(err) {
		t.Errorf("the record of the holder outlived it: %v", err)
	}
}
