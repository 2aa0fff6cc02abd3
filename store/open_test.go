package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// helperEnv selects a helper mode when the test binary re-executes itself.
const helperEnv = "RISKWATCH_STORE_HELPER"

// TestHelperProcess is not a test: it is the body of the subprocesses other
// tests start (os.Args[0] -test.run=^TestHelperProcess$ with helperEnv
// set).
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		t.Skip("helper process only")
	case "hold":
		holdStore(os.Getenv("RISKWATCH_STORE_PATH"))
	case "crash":
		crashLoop(os.Getenv("RISKWATCH_STORE_PATH"))
	case "labels":
		labelLoop(os.Getenv("RISKWATCH_STORE_PATH"))
	case "rss-cold", "rss-warm":
		measureRSS(os.Getenv("RISKWATCH_STORE_PATH"), os.Getenv(helperEnv) == "rss-cold")
	}
	os.Exit(0)
}

// holdStore opens the store, says "ready" and keeps it open until stdin
// closes.
func holdStore(path string) {
	db, err := Open(path, Options{})
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("ready\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = db.Close()
}

// startHelper runs the test binary in a helper mode and returns it with a
// reader of its standard output.
func startHelper(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "RISKWATCH_STORE_PATH="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewScanner(stdout)
}

func TestOpenCreatesAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	ctx := context.Background()
	if _, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: "e1", Action: decision.ActionAllow, UserID: "u"}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: "e2", Action: decision.ActionAllow}}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Complete after Close: %v, want ErrClosed", err)
	}
	if _, err := db.Latest(ctx, nil, 1, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Latest after Close: %v, want ErrClosed", err)
	}

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in, err := db.Info()
	if err != nil {
		t.Fatal(err)
	}
	if in.Decisions != 1 {
		t.Errorf("reopened store has %d decisions, want 1", in.Decisions)
	}
	err = db.view(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil {
				t.Errorf("bucket %s missing", b)
			}
		}
		if v := readU64(tx.Bucket(bktMeta).Get(metaSchema)); v != SchemaVersion {
			t.Errorf("schema version %d, want %d", v, SchemaVersion)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenInUseSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = Open(path, Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: %v, want ErrInUse", err)
	}
	if want := "database " + path + " is in use by another riskwatch process"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Open took %s, want about the 100ms timeout", d)
	}
}

func TestOpenInUseOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	_, out := startHelper(t, "hold", path)
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("helper did not open the store: %q %v", out.Text(), out.Err())
	}
	start := time.Now()
	_, err := Open(path, Options{Timeout: 150 * time.Millisecond})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("Open while another process holds it: %v, want ErrInUse", err)
	}
	if !strings.Contains(err.Error(), "is in use by another riskwatch process") {
		t.Errorf("error %q does not say the file is in use", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Open took %s, want about the 150ms timeout", d)
	}
}

func TestOpenRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	randomBytes := make([]byte, 64<<10)
	for i := range randomBytes {
		randomBytes[i] = byte(rng.IntN(256))
	}
	cases := []struct {
		name    string
		content []byte
	}{
		{"random bytes", randomBytes},
		{"text file", []byte(strings.Repeat("this is not a database\n", 400))},
		{"short text", []byte("hello\n")},
		{"one byte", []byte{0}},
		{"json", []byte(`{"type":"$login"}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			if err := os.WriteFile(path, c.content, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path, Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded on a file that is not a store")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Open: %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "directory") {
			t.Errorf("Open of a directory: %v", err)
		}
	})
}

func TestOpenSchemaMismatch(t *testing.T) {
	dir := t.TempDir()
	t.Run("other version", func(t *testing.T) {
		path := filepath.Join(dir, "old.db")
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		rawUpdate(t, path, func(tx *bolt.Tx) error {
			return tx.Bucket(bktMeta).Put(metaSchema, u64(SchemaVersion+41))
		})
		_, err = Open(path, Options{})
		if !errors.Is(err, ErrSchema) {
			t.Fatalf("Open: %v, want ErrSchema", err)
		}
		if want := fmt.Sprintf("%s was written by a newer riskwatch (schema %d); this riskwatch reads schemas up to %d", path, SchemaVersion+41, SchemaVersion); !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	})
	t.Run("foreign bbolt file", func(t *testing.T) {
		path := filepath.Join(dir, "foreign.db")
		rawUpdate(t, path, func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("other-app"))
			return err
		})
		if _, err := Open(path, Options{}); !errors.Is(err, ErrSchema) {
			t.Fatalf("Open: %v, want ErrSchema", err)
		}
	})
	t.Run("empty bbolt file is adopted", func(t *testing.T) {
		path := filepath.Join(dir, "empty.db")
		rawUpdate(t, path, func(*bolt.Tx) error { return nil })
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	})
}

// rawUpdate runs fn in a write transaction on path opened with plain bbolt.
func rawUpdate(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenMissingBucket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: "e", UserID: "u", IP: "10.1.2.3", Action: decision.ActionAllow}}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A file from a release without a bucket a later one added opens,
	// read-write, and gets it.
	rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.DeleteBucket(bktCheckpoints) })
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "riskwatch collect") {
		t.Errorf("read-only Open of a file without a bucket: %v", err)
	}
	db, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Enqueue(ctx, nil, nil, []Checkpoint{{Source: "file:x", Offset: 3}}); err != nil {
		t.Errorf("the recreated bucket does not work: %v", err)
	}
	if l, err := db.Latest(ctx, nil, 5, ""); err != nil || len(l) != 1 {
		t.Errorf("Latest after adding a bucket: %d, %v", len(l), err)
	}
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ro.db")
	buildStore(t, path, 500)
	input, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := Open(path, Options{ReadOnly: true, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Readers share the file; a writer cannot have it meanwhile.
	db2, err := Open(path, Options{ReadOnly: true, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("a second read-only Open: %v", err)
	}
	if _, err := Open(path, Options{Timeout: 100 * time.Millisecond}); !errors.Is(err, ErrInUse) {
		t.Errorf("read-write Open while readers hold the file: %v", err)
	}
	if err := db2.Close(); err != nil {
		t.Fatal(err)
	}
	if n := exerciseStore(db); n != 0 {
		t.Errorf("%d queries failed with ErrCorrupt", n)
	}
	if l, err := db.Latest(ctx, nil, 10, ""); err != nil || len(l) != 10 {
		t.Errorf("Latest read-only: %d, %v", len(l), err)
	}
	if us, err := db.Users(ctx, UsersQuery{Limit: 3}); err != nil || len(us) != 3 {
		t.Errorf("Users read-only: %d, %v", len(us), err)
	}
	writes := map[string]error{
		"Complete": second(db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: "new", Action: decision.ActionAllow}}})),
		"Enqueue":  second(db.Enqueue(ctx, []InboxEvent{{EventID: "new"}}, nil, nil)),
		"Reject":   db.Reject(ctx, []Rejected{{Reason: "x"}}),
		"Retain":   second(db.Retain(ctx, time.Now())),
	}
	for name, err := range writes {
		if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s on a read-only store: %v", name, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, input) {
		t.Error("a read-only open changed the file")
	}

	// An older schema must be migrated read-write first.
	old := filepath.Join(dir, "old.db")
	generatedRound1(t, old, 20, 0)
	oldBytes, _ := os.ReadFile(old)
	_, err = Open(old, Options{ReadOnly: true})
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "schema 1") || !strings.Contains(err.Error(), "`riskwatch collect` or `riskwatch`") {
		t.Errorf("read-only Open of a schema-1 file: %v", err)
	}
	if after, _ := os.ReadFile(old); !bytes.Equal(after, oldBytes) {
		t.Error("a refused read-only open changed the file")
	}
	if _, err := os.Stat(old + ".bak-1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused read-only open made a backup: %v", err)
	}
}

func TestMustExist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.db")
	for _, opts := range []Options{{MustExist: true}, {ReadOnly: true}} {
		_, err := Open(path, opts)
		if !errors.Is(err, ErrNoDatabase) || err.Error() != "no database at "+path {
			t.Errorf("Open(%+v) of a missing file: %v", opts, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Open(%+v) created the file", opts)
		}
	}
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path, Options{MustExist: true})
	if err != nil {
		t.Fatalf("MustExist on an existing store: %v", err)
	}
	db.Close()
}
