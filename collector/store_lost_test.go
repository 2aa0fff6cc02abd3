package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/store"
)

// TestStoreFileLostStopsAccepting: the database file is deleted under a
// running collector. Before, ingest kept answering 202 and /healthz 200
// while the events went to a file no one would open again. Now the
// collector notices within its watch interval: ingest answers 503 with a
// JSON error, /healthz is 503 with store_error and a paused pipeline
// saying why, the gauge riskwatch_store_file_lost is 1 and the log has an
// ERROR.
func TestStoreFileLostStopsAccepting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rw.db")
	db, err := store.Open(path, store.Options{NoSync: true, WatchEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c, logs := startLostCollector(t, db)
	if code, body := postOne(t, c.Addr(), "before"); code != http.StatusAccepted {
		t.Fatalf("ingest before: %d %s", code, body)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the collector to notice", 10*time.Second, func() bool { return db.Lost() != nil })

	code, body := postOne(t, c.Addr(), "after")
	var e struct {
		Error string `json:"error"`
	}
	if code != http.StatusServiceUnavailable || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "deleted") {
		t.Errorf("ingest after the file was deleted: %d %s, want 503 with a JSON error saying so", code, body)
	}
	status, h, err := getHealthz(c.Addr())
	if err != nil || status == http.StatusOK || !strings.Contains(h.StoreError, "deleted") ||
		h.Pipeline != api.PipelinePaused || !strings.Contains(h.PauseReason, "database file lost") {
		t.Errorf("healthz after the file was deleted: %d %+v (%v)", status, h, err)
	}
	waitFor(t, "the gauge and the log", 10*time.Second, func() bool {
		return testutil.ToFloat64(c.metrics.StoreLost) == 1 && strings.Contains(logs.String(), "DATABASE FILE LOST")
	})
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the loss was not logged as an error:\n%s", logs.String())
	}
	if h := c.Health(context.Background()); h.StoreError == "" {
		t.Errorf("Health() after the loss: %+v", h)
	}
}

// startLostCollector runs a collector over db, scoring with an emulator,
// for the tests of a lost database file; its log is kept in the buffer.
func startLostCollector(t *testing.T, db *store.DB) (*Collector, *syncBuffer) {
	t.Helper()
	emu := newEmulator(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	c, err := New(Options{DB: db, Client: testClient(t, emu.URL+"/api/v1", testKey), Listener: ln, Registry: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	runInBackground(t, "collector", 10*time.Second, c.Run)
	return c, logs
}

// postOne posts the event with ID id to the collector at addr and returns
// the answer's status and body.
func postOne(t *testing.T, addr, id string) (int, []byte) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/v1/events", "application/x-ndjson", strings.NewReader(srvEvent(id)+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// getHealthz reads the collector's /healthz at addr.
func getHealthz(addr string) (int, api.Health, error) {
	var h api.Health
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0, h, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, h, json.NewDecoder(resp.Body).Decode(&h)
}

// syncBuffer is a log destination safe for the collector's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
