package tui

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

// remoteToken is the token of the test collectors.
const remoteToken = "tui-remote-token"

// testCollector is a real collector on loopback: a bbolt store in
// t.TempDir(), the emulator (an httptest server) as Safe-e, and its HTTP
// ingest and read API.
type testCollector struct {
	url string
	db  *store.DB
	col *collector.Collector
}

// startCollector runs a real collector over a new store holding seed (with
// the times the store gives them), scoring with the emulator, until the
// test ends.
func startCollector(t *testing.T, seed []store.Decision) *testCollector {
	t.Helper()
	emu := httptest.NewServer(emulator.New(emulator.Options{Key: "k", Seed: 1}).Handler("/api/v1"))
	t.Cleanup(emu.Close)
	db, err := store.Open(filepath.Join(t.TempDir(), "collector.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(seed) > 0 {
		rs := make([]store.Result, len(seed))
		for i, d := range seed {
			rs[i] = store.Result{Decision: d}
		}
		if _, err := db.Complete(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
	}
	client, err := safee.New(safee.Config{BaseURL: emu.URL + "/api/v1", APIKey: "k", Timeout: 5 * time.Second, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col, err := collector.New(collector.Options{DB: db, Client: client, Mode: collector.ModeEmulator, Listener: ln,
		Token: remoteToken, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("collector: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &testCollector{url: "http://" + col.Addr(), db: db, col: col}
}

// post sends events, one JSON object each, to the collector's ingest as
// NDJSON and fails unless all are accepted.
func (c *testCollector) post(t *testing.T, events ...[]byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url+"/v1/events", bytes.NewReader(bytes.Join(events, []byte("\n"))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+remoteToken)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("posting %d events: %s", len(events), resp.Status)
	}
}

// waitScored waits until the store holds at least n decisions and nothing
// waits in the inbox.
func (c *testCollector) waitScored(t *testing.T, n uint64) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(flowWait)
	for {
		info, err := c.db.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Decisions >= n && c.db.InboxDepth() == 0 {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the collector scored %d of %d decisions in %s (%d in the inbox)", info.Decisions, n, flowWait, c.db.InboxDepth())
		}
	}
}

// loginEvent is a successful login of user, as an application posts it.
func loginEvent(user string) []byte {
	return fmt.Appendf(nil, `{"type":"$login","status":"$succeeded","user":{"user_id":%q,"user_email":"live@example.com","user_ip":"198.51.100.7"}}`, user)
}
