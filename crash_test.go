package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	tempOnce sync.Once
	tempPath string
	tempErr  error

	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes what the tests share across the process: the binary
// and the benchmarks' stores.
func TestMain(m *testing.M) {
	code := m.Run()
	if tempPath != "" {
		_ = os.RemoveAll(tempPath)
	}
	os.Exit(code)
}

// tempDir is a directory that lasts as long as the test process.
func tempDir(t testing.TB) string {
	t.Helper()
	tempOnce.Do(func() { tempPath, tempErr = os.MkdirTemp("", "riskwatch-test-") })
	if tempErr != nil {
		t.Fatal(tempErr)
	}
	return tempPath
}

// buildBinary builds riskwatch once per test process.
func buildBinary(t testing.TB) string {
	t.Helper()
	dir := tempDir(t)
	buildOnce.Do(func() {
		binPath = filepath.Join(dir, "riskwatch")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a started riskwatch process whose stderr is scanned for a line.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
}

func start(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(buildBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		_ = cmd.Wait()
	})
	return p
}

// await returns the first submatch of re in the process's stderr.
func (p *proc) await(t testing.TB, re *regexp.Regexp, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, "crash-test-key") {
				t.Errorf("the Safe-e key is in the log: %s", l)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-p.done:
			t.Fatalf("process exited before printing %s", re)
		case <-deadline:
			t.Fatalf("no line matching %s within %v", re, d)
		}
	}
}

var (
	reEmulatorURL = regexp.MustCompile(`base URL (http://\S+/api/v1)`)
	reListen      = regexp.MustCompile(`listen=(127\.0\.0\.1:\d+)`)
)

type health struct {
	Decisions uint64 `json:"decisions"`
	Inbox     uint64 `json:"inbox"`
}

func getHealth(addr string) (health, error) {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return health{}, err
	}
	defer resp.Body.Close()
	var h health
	return h, json.NewDecoder(resp.Body).Decode(&h)
}

// TestCrashRestartLosesNothing kills the collector with SIGKILL at random
// moments while it tails a growing file of 20k events, restarts it each
// time, and checks that in the end every event is stored exactly once.
func TestCrashRestartLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const total, chunks = 20000, 5
	dir := t.TempDir()
	events, db := filepath.Join(dir, "events.ndjson"), filepath.Join(dir, "rw.db")
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "SAFEE_API_KEY=crash-test-key"}

	emu := start(t, env, "emulator", "--listen", "127.0.0.1:0", "--key", "crash-test-key", "--seed", "1")
	url := emu.await(t, reEmulatorURL, 10*time.Second)

	gen := exec.Command(buildBinary(t), "gen", "--count", fmt.Sprint(total), "--seed", "42", "--out", filepath.Join(dir, "all.ndjson"))
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	all, err := os.ReadFile(filepath.Join(dir, "all.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(all), "\n")
	lines = lines[:len(lines)-1] // after the final newline
	if len(lines) != total {
		t.Fatalf("gen wrote %d lines", len(lines))
	}
	f, err := os.OpenFile(events, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	collect := func() (*proc, string) {
		p := start(t, env, "collect", "--db", db, "--file", events, "--from-start", "--safee-url", url, "--listen", "127.0.0.1:0")
		return p, p.await(t, reListen, 10*time.Second)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills := 0
	for c := range chunks {
		// Append a chunk, in pieces that may end mid-line, while the
		// collector runs; kill it at a random moment.
		p, _ := collect()
		chunk := strings.Join(lines[c*total/chunks:(c+1)*total/chunks], "")
		for len(chunk) > 0 {
			n := min(len(chunk), 1+rng.IntN(256<<10))
			if _, err := f.WriteString(chunk[:n]); err != nil {
				t.Fatal(err)
			}
			chunk = chunk[n:]
		}
		// A random moment to kill it: the point of the test, not a wait.
		time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		_ = p.cmd.Wait()
		kills++
	}

	// Wait until everything is scored, or until nothing has moved for a
	// few seconds (then the export below names what is missing).
	p, addr := collect()
	deadline := time.Now().Add(2 * time.Minute)
	var last health
	lastChange := time.Now()
	for {
		h, err := getHealth(addr)
		if err == nil && h.Decisions == total && h.Inbox == 0 {
			break
		}
		if h != last {
			last, lastChange = h, time.Now()
		}
		if h.Inbox == 0 && time.Since(lastChange) > 5*time.Second || time.Now().After(deadline) {
			t.Errorf("after %d kills: health %+v (err %v), want %d decisions and an empty inbox", kills, h, err, total)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("collect after SIGTERM: %v", err)
	}

	out, err := exec.Command(buildBinary(t), "export", "--db", db).Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r struct {
			EventID string `json:"event_id"`
			Action  string `json:"action"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		seen[r.EventID]++
		if r.Action == "error" {
			t.Errorf("event %s ended as an error decision", r.EventID)
		}
	}
	for i, l := range lines {
		var e struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if seen[e.EventID] != 1 {
			t.Errorf("line %d (event %s, offset %d) stored %d times", i+1, e.EventID, offsetOf(lines, i), seen[e.EventID])
		}
	}
	if len(seen) != total {
		t.Errorf("export has %d events, want %d", len(seen), total)
	}
	// The key is sent as a header only: never in the store or the export.
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "crash-test-key") || strings.Contains(string(out), "crash-test-key") {
		t.Error("the Safe-e key is in the database or the export")
	}
	t.Logf("%d events stored exactly once across %d SIGKILLs", total, kills)
}

// offsetOf is the byte offset of line i in the file.
func offsetOf(lines []string, i int) int {
	n := 0
	for _, l := range lines[:i] {
		n += len(l)
	}
	return n
}
