package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// runCLI runs the command line in-process with a private HOME.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	home := t.TempDir()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		switch k {
		case "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME":
			return home
		}
		return ""
	}
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb, getenv)
	return code, out.String(), errb.String()
}

func TestCollectRefusesToStartWithoutAKey(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "collect", "--db", filepath.Join(t.TempDir(), "x.db"))
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	for _, want := range []string{"SAFEE_API_KEY", "--emulator", "riskwatch demo"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("message does not say how to fix it (%q): %s", want, stderr)
		}
	}
}

func TestBadConfigNamesFileAndKey(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(cfg, []byte("[safee]\ntimeout = \"soon\"\napi_key = \"sk_SECRET_1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, nil, "collect", "--config", cfg)
	if code == 0 || !strings.Contains(stderr, cfg) || !strings.Contains(stderr, "safee.timeout") {
		t.Errorf("code %d, stderr %q", code, stderr)
	}
	if strings.Contains(stdout+stderr, "SECRET") {
		t.Error("the key was printed")
	}
}

func TestHeldDatabaseSaysWhatToDo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, args := range [][]string{{"stats", "--db", path}, {"export", "--db", path}, {"collect", "--emulator", "--db", path}} {
		code, _, stderr := runCLI(t, nil, args...)
		if code != 3 || !strings.Contains(stderr, "in use by another riskwatch process") || !strings.Contains(stderr, "--connect http://127.0.0.1:7676") {
			t.Errorf("%v: code %d, stderr %q", args, code, stderr)
		}
	}
}

func TestQueryFlagErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "q.db")
	cases := map[string][]string{
		"--since":  {"stats", "--db", db, "--since", "yesterday"},
		"--filter": {"export", "--db", db, "--filter", "risk>=abc"},
		"--format": {"export", "--db", db, "--format", "xml"},
		"before":   {"stats", "--db", db, "--since", "1h", "--until", "2h"},
	}
	for want, args := range cases {
		code, _, stderr := runCLI(t, nil, args...)
		if code == 0 || !strings.Contains(stderr, want) {
			t.Errorf("%v: code %d, stderr %q (want it to mention %s)", args, code, stderr, want)
		}
	}
	if code, _, stderr := runCLI(t, nil, "export", "--db", db, "--filter", "risk>=abc"); code == 0 || !strings.Contains(stderr, `"abc" is not a number`) {
		t.Errorf("filter error does not point at the term: %q", stderr)
	}
}

func TestGenIsDeterministicAndValid(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "b.ndjson")
	for _, p := range []string{a, b} {
		if code, _, stderr := runCLI(t, nil, "gen", "--count", "300", "--seed", "9", "--scenario", "stuffing", "--start", "2026-11-25T10:00:00Z", "--out", p); code != 0 {
			t.Fatalf("gen: %s", stderr)
		}
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Error("same seed, different events")
	}
	ids := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(da))
	for sc.Scan() {
		var e struct {
			EventID   string `json:"event_id"`
			Timestamp string `json:"timestamp"`
			Type      string `json:"type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.EventID == "" || e.Timestamp == "" || e.Type == "" {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		if ids[e.EventID] {
			t.Fatalf("duplicate event_id %s", e.EventID)
		}
		ids[e.EventID] = true
	}
	if len(ids) != 300 {
		t.Errorf("%d events", len(ids))
	}
	if code, _, stderr := runCLI(t, nil, "gen", "--scenario", "nope"); code == 0 || !strings.Contains(stderr, "stuffing") {
		t.Errorf("unknown scenario: %q", stderr)
	}
}

func TestExportAndStatsOnAStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rs []store.Result
	for i, a := range []decision.Action{decision.ActionAllow, decision.ActionDeny, decision.ActionDeny, decision.ActionError} {
		rs = append(rs, store.Result{Decision: decision.Decision{EventID: "e" + string(rune('a'+i)), Source: "test", Type: "$login",
			UserID: "u1", Action: a, Risk: float64(20 * (i + 1)), Request: json.RawMessage(`{"type":"$login"}`), Response: json.RawMessage(`{"risk":1}`)}})
	}
	if _, err := db.Complete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, stderr := runCLI(t, nil, "stats", "--json", "--db", path)
	if code != 0 {
		t.Fatalf("stats: %s", stderr)
	}
	var st struct {
		Decisions uint64            `json:"decisions"`
		ByAction  map[string]uint64 `json:"by_action"`
		ByType    map[string]uint64 `json:"by_type"`
		Rejected  *uint64           `json:"rejected"`
		Inbox     *uint64           `json:"inbox"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stats --json is not one JSON object: %v\n%s", err, out)
	}
	if st.Decisions != 4 || st.ByAction["deny"] != 2 || st.ByAction["challenge"] != 0 || st.ByType["$login"] != 4 || st.Rejected == nil || st.Inbox == nil {
		t.Errorf("stats = %+v", st)
	}

	code, out, stderr = runCLI(t, nil, "export", "--db", path, "--filter", "action:deny")
	if code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	if n := strings.Count(out, "\n"); n != 2 || !strings.Contains(out, `"action":"deny"`) {
		t.Errorf("filtered export:\n%s", out)
	}
	code, out, _ = runCLI(t, nil, "export", "--db", path, "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 5 || rows[0][0] != "id" {
		t.Errorf("csv export: code %d err %v rows %d", code, err, len(rows))
	}
	code, out, _ = runCLI(t, nil, "stats", "--db", path)
	if code != 0 || !strings.Contains(out, "decisions") || !strings.Contains(out, "risk histogram") {
		t.Errorf("stats text:\n%s", out)
	}
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "riskwatch ") {
		t.Errorf("version: %q", out)
	}
	code, out, _ = runCLI(t, nil, "--help")
	for _, cmd := range []string{"collect", "demo", "emulator", "gen", "export", "stats", "tui", "version"} {
		if code != 0 || !strings.Contains(out, cmd) {
			t.Errorf("help lacks %s", cmd)
		}
	}
	if code, _, stderr := runCLI(t, nil, "tui"); code == 0 || !strings.Contains(stderr, "--connect") {
		t.Errorf("tui without --connect: %q", stderr)
	}
}

func TestParseWhenRejectsHostileValues(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	good := map[string]time.Time{
		"":                     {},
		"15m":                  now.Add(-15 * time.Minute),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"2026-11-25T09:00:00Z": time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC),
	}
	for in, want := range good {
		if got, err := parseWhen(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0s", "-5m", "-1d", "yesterday", "15", "1e9h", "99999999999999999999h", "2026-13-45T99:00:00Z",
		"15m; rm -rf /", "\x00", strings.Repeat("9", 10000) + "d", "1.5d"} {
		if _, err := parseWhen(in, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", in)
		}
	}
}
