// Package collectortest runs a real collector on loopback for the tests of
// other packages (the CLI's --connect, the dashboard's remote reader): a
// bbolt store, the offline emulator as Safe-e over HTTP, and the
// collector's HTTP server with a token.
package collectortest

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

// Options shape a test collector. Zero values take the defaults noted.
type Options struct {
	// Path is the database file (default: a new one in t.TempDir()).
	Path string
	// Token is the collector's ingest and read token ("" for none).
	Token string
	// Seed seeds the emulator (default 1).
	Seed int64
	// Concurrency is the number of concurrent Safe-e calls (default 4).
	Concurrency int
	// Before, if set, runs on the open store before the collector starts
	// (to store fixture decisions).
	Before func(*store.DB) error
}

// Collector is a running test collector.
type Collector struct {
	// URL is the collector's base URL, http://127.0.0.1:PORT.
	URL string
	DB  *store.DB
	Col *collector.Collector

	stop func()
}

// Start runs a collector until Stop or the end of the test.
func Start(t testing.TB, o Options) *Collector {
	t.Helper()
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "collector.db")
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	const key = "collectortest-key"
	emu := httptest.NewServer(emulator.New(emulator.Options{Key: key, Seed: o.Seed}).Handler("/api/v1"))
	t.Cleanup(emu.Close)
	db, err := store.Open(o.Path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if o.Before != nil {
		if err := o.Before(db); err != nil {
			db.Close()
			t.Fatal(err)
		}
	}
	client, err := safee.New(safee.Config{BaseURL: emu.URL + "/api/v1", APIKey: key, Timeout: 5 * time.Second, Concurrency: o.Concurrency})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	col, err := collector.New(collector.Options{DB: db, Client: client, Mode: collector.ModeEmulator, Listener: ln,
		Token: o.Token, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		ln.Close()
		db.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	c := &Collector{URL: "http://" + col.Addr(), DB: db, Col: col}
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("collector: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
	}
	t.Cleanup(c.stop)
	return c
}

// Stop stops the collector and releases the database; it may be called
// more than once.
func (c *Collector) Stop() { c.stop() }

// WaitScored waits up to d until the store holds at least n decisions and
// nothing waits in the inbox, failing the test otherwise.
func (c *Collector) WaitScored(t testing.TB, n uint64, d time.Duration) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for {
		info, err := c.DB.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Decisions >= n && c.DB.InboxDepth() == 0 {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the collector scored %d of %d decisions in %s (%d in the inbox)", info.Decisions, n, d, c.DB.InboxDepth())
		}
	}
}
