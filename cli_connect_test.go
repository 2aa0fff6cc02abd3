package main

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/collector/collectortest"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

const connectToken = "cli-connect-token"

// runningCollector runs a collector over the database at path with the
// emulator and connectToken, fills it with scored events (and one decision
// whose raw response is not JSON), and returns its URL and a stop function
// that releases the database.
func runningCollector(t *testing.T, path string) (url string, stop func()) {
	t.Helper()
	c := collectortest.Start(t, collectortest.Options{Path: path, Token: connectToken, Seed: 3, Concurrency: 8})
	g, err := emulator.NewGenerator("mixed", 5, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n, err := emulator.Post(ctx, &http.Client{Timeout: 10 * time.Second}, c.URL, connectToken, g, 300, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.Complete(ctx, []store.Result{{Decision: decision.Decision{EventID: "raw", Source: "test", Type: "$login",
		UserID: "u/1", Action: decision.ActionError, Error: "bad gateway", HTTPStatus: 502, Latency: 1500 * time.Microsecond,
		Request: json.RawMessage(`{"type": "$login"}`), Response: json.RawMessage("<html>502 \xff</html>")}}}); err != nil {
		t.Fatal(err)
	}
	c.WaitScored(t, uint64(n+1), 30*time.Second)
	return c.URL, c.Stop
}

func TestConnectExportAndStatsMatchTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	url, stop := runningCollector(t, path)
	env := map[string]string{"RISKWATCH_INGEST_TOKEN": connectToken}
	queries := [][]string{
		{"export"},
		{"export", "--format", "csv", "--filter", "action:deny"},
		{"export", "--since", "1h", "--filter", "-type:$login risk>=20"},
		{"stats", "--json"},
		{"stats", "--since", "1h", "--filter", "type:$login"},
		{"stats"},
	}
	remote := make([]string, len(queries))
	for i, q := range queries {
		code, out, stderr := runCLI(t, env, append(q, "--connect", url)...)
		if code != 0 {
			t.Fatalf("%v --connect: exit %d: %s", q, code, stderr)
		}
		remote[i] = out
	}
	// The token may come from --token instead of the environment.
	if code, out, stderr := runCLI(t, nil, "export", "--connect", url, "--token", connectToken); code != 0 || out != remote[0] {
		t.Errorf("export --token: exit %d, same output %v: %s", code, out == remote[0], stderr)
	}
	if n := strings.Count(remote[0], "\n"); n < 301 || !strings.Contains(remote[0], "html\\u003e502 \uFFFD\\u003c/html") ||
		!strings.Contains(remote[0], `"latency_ms":1.5`) {
		t.Errorf("remote export: %d lines, without the raw response or the latency of the test decision", n)
	}

	stop()
	for i, q := range queries {
		code, out, stderr := runCLI(t, nil, append(q, "--db", path)...)
		if code != 0 {
			t.Fatalf("%v --db: exit %d: %s", q, code, stderr)
		}
		if out != remote[i] {
			t.Errorf("%v: the collector's answer differs from the file's:\n--connect:\n%.1500s\n--db:\n%.1500s", q, remote[i], out)
		}
	}
}

func TestConnectErrorsSayWhatToDo(t *testing.T) {
	url, _ := runningCollector(t, filepath.Join(t.TempDir(), "held.db"))
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"wrong token", []string{"export", "--connect", url, "--token", "wrong-secret-value"},
			[]string{"invalid bearer token", "RISKWATCH_INGEST_TOKEN", "--token"}},
		{"no token", []string{"stats", "--connect", url}, []string{"missing Authorization header", "--token"}},
		{"nobody there", []string{"stats", "--connect", "http://127.0.0.1:1"}, []string{"unreachable"}},
		{"not a URL", []string{"export", "--connect", "ftp://host"}, []string{"--connect: collector URL", "http://"}},
		{"both", []string{"export", "--connect", url, "--db", "x.db"}, []string{"give one of them"}},
		{"bad filter", []string{"export", "--connect", url, "--filter", "risk>=abc"}, []string{"--filter:", `"abc" is not a number`}},
		{"tui nobody there", []string{"tui", "--connect", "http://127.0.0.1:1"}, []string{"unreachable"}},
		{"tui wrong token", []string{"tui", "--connect", url, "--token", "wrong-secret-value"}, []string{"invalid bearer token", "--token"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, nil, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, stdout %q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			if strings.Contains(out+stderr, "wrong-secret-value") || strings.Contains(out+stderr, connectToken) {
				t.Errorf("a token was printed: %q", stderr)
			}
		})
	}
}

// Several collectors read as one: stats and export add up, and a collector
// that cannot be reached is named on stderr while the others answer.
func TestConnectSeveralCollectors(t *testing.T) {
	dir := t.TempDir()
	a, _ := runningCollector(t, filepath.Join(dir, "a.db"))
	b, _ := runningCollector(t, filepath.Join(dir, "b.db"))
	env := map[string]string{"RISKWATCH_INGEST_TOKEN": connectToken}
	statsOf := func(connect string) (decisions uint64, stderr string) {
		t.Helper()
		code, out, stderr := runCLI(t, env, "stats", "--json", "--connect", connect)
		if code != 0 {
			t.Fatalf("stats --connect %s: exit %d: %s", connect, code, stderr)
		}
		var st struct {
			Decisions uint64 `json:"decisions"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatal(err)
		}
		return st.Decisions, stderr
	}
	na, _ := statsOf(a)
	nb, _ := statsOf(b)
	if both, stderr := statsOf(a + "," + b); both != na+nb || stderr != "" {
		t.Errorf("stats of both: %d decisions (want %d + %d), stderr %q", both, na, nb, stderr)
	}
	code, out, stderr := runCLI(t, env, "export", "--connect", a+", "+b)
	if n := uint64(strings.Count(out, "\n")); code != 0 || n != na+nb {
		t.Errorf("export of both: exit %d, %d lines, want %d: %s", code, n, na+nb, stderr)
	}

	down := "http://127.0.0.1:1"
	if n, stderr := statsOf(a + "," + down); n != na || !strings.Contains(stderr, "collector "+down+" did not answer") {
		t.Errorf("with a collector down: %d decisions (want %d), stderr %q", n, na, stderr)
	}
	if code, _, stderr := runCLI(t, env, "stats", "--connect", down+",http://127.0.0.1:2"); code == 0 || !strings.Contains(stderr, "unreachable") {
		t.Errorf("with every collector down: exit %d, %q", code, stderr)
	}
}

// A query never creates a database: a path that does not exist is said.
func TestQueriesNeedADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nothing.db")
	for _, args := range [][]string{{"stats"}, {"export"}, {"tui"}} {
		code, _, stderr := runCLI(t, nil, append(args, "--db", path)...)
		if code == 0 || !strings.Contains(stderr, "no database at "+path) {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%v created %s", args, path)
		}
	}
	for _, args := range [][]string{{"tui"}, {"tui", "--db", path, "--connect", "http://127.0.0.1:1"}} {
		if code, _, stderr := runCLI(t, nil, args...); code == 0 || !strings.Contains(stderr, "give --connect URL") {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}
