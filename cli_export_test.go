package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// exportStore writes four decisions (two denies) to a new database and
// returns its path.
func exportStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rs []store.Result
	for i, a := range []decision.Action{decision.ActionAllow, decision.ActionDeny, decision.ActionDeny, decision.ActionError} {
		rs = append(rs, store.Result{Decision: decision.Decision{EventID: "e" + string(rune('a'+i)), Source: "test", Type: "$login",
			UserID: "u1", Action: a, Risk: float64(20 * (i + 1)), Signals: []string{"proxy_ip"},
			Request: json.RawMessage(`{"type":"$login"}`), Response: json.RawMessage(`{"risk":1}`)}})
	}
	if _, err := db.Complete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// parquetActions reads the action column of a Parquet file.
func parquetActions(t *testing.T, b []byte) []string {
	t.Helper()
	rows, err := parquet.Read[struct {
		Action string `parquet:"action"`
		Risk   float64
	}](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a readable Parquet file: %v", err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Action)
	}
	return out
}

func TestExportParquetToAFile(t *testing.T) {
	db := exportStore(t)
	out := filepath.Join(t.TempDir(), "denies.parquet")
	code, stdout, stderr := runCLI(t, nil, "export", "--db", db, "--format", "parquet", "--filter", "action:deny", "--out", out)
	if code != 0 || stdout != "" {
		t.Fatalf("export: code %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(parquetActions(t, b), ","); got != "deny,deny" {
		t.Errorf("actions %s, want the two denies", got)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want 0600 like the database", fi.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*.tmp")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestExportParquetNeedsOut(t *testing.T) {
	db := exportStore(t)
	code, stdout, stderr := runCLI(t, nil, "export", "--db", db, "--format", "parquet")
	if code == 0 || stdout != "" || !strings.Contains(stderr, "--out FILE") || !strings.Contains(stderr, "--out -") || !strings.Contains(stderr, "binary") {
		t.Errorf("code %d, stdout %d bytes, stderr %q: want a refusal that says why and how", code, len(stdout), stderr)
	}
	code, stdout, stderr = runCLI(t, nil, "export", "--db", db, "--format", "parquet", "--out", "-")
	if code != 0 {
		t.Fatalf("--out -: code %d, %s", code, stderr)
	}
	if got := len(parquetActions(t, []byte(stdout))); got != 4 {
		t.Errorf("--out - wrote %d rows to stdout, want 4", got)
	}
}

func TestExportOutKeepsNDJSONAndCSVTheSame(t *testing.T) {
	db := exportStore(t)
	dir := t.TempDir()
	for _, f := range []string{"ndjson", "csv"} {
		_, want, _ := runCLI(t, nil, "export", "--db", db, "--format", f)
		out := filepath.Join(dir, "x."+f)
		code, stdout, stderr := runCLI(t, nil, "export", "--db", db, "--format", f, "--out", out)
		got, err := os.ReadFile(out)
		if code != 0 || stdout != "" || err != nil || string(got) != want || want == "" {
			t.Errorf("%s --out: code %d, err %v, stderr %s; file differs from stdout: %v", f, code, err, stderr, string(got) != want)
		}
	}
}

func TestFailedExportLeavesTheOldFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "d.parquet")
	if err := os.WriteFile(out, []byte("yesterday's export"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A collector that fails the read, after the output is open.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":"disk on fire"}`, http.StatusInternalServerError)
	}))
	defer srv.Close()
	if code, _, stderr := runCLI(t, nil, "export", "--connect", srv.URL, "--format", "parquet", "--out", out); code == 0 || !strings.Contains(stderr, "read decisions") {
		t.Fatalf("export from a failing collector: code %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "yesterday's export" {
		t.Errorf("the earlier file was replaced by %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*.tmp")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
