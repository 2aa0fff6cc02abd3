package collector

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/store"
)

// BenchmarkScoringWhileWebhookHangs runs the collector's whole path (file
// → inbox → pipeline → emulator process → store) with no alert rules, and
// with ten rules that all fire on the first evaluation and notify a webhook
// that accepts every request and never answers (SPEC section 13: a webhook
// never blocks scoring). Compare the events/s of the two.
func BenchmarkScoringWhileWebhookHangs(b *testing.B) {
	b.Run("no-alerts", func(b *testing.B) { benchCollector(b, "") })
	b.Run("hanging-webhook", func(b *testing.B) {
		hang := make(chan struct{})
		var mu sync.Mutex
		calls := 0
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			calls++
			mu.Unlock()
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}))
		b.Cleanup(func() { close(hang); hook.Close() })
		var rules strings.Builder
		for i := range 10 {
			// Nothing is stored in the last minute of event time (the
			// events are from 2026-11-25), so each rule fires at once.
			fmt.Fprintf(&rules, "[[alert]]\nname = \"quiet %d\"\nkind = \"rate\"\nbelow = 1\nnotify = [\"webhook:%s/hook\"]\n", i, hook.URL)
		}
		benchCollector(b, rules.String())
		mu.Lock()
		defer mu.Unlock()
		if calls == 0 {
			b.Fatal("no rule fired: the webhook was never called")
		}
	})
}

// benchCollector scores b.N generated events through a collector tailing
// a file, with the alert rules of rulesText (none when empty), and reports
// events/s.
func benchCollector(b *testing.B, rulesText string) {
	events := benchEvents(b, b.N)
	dir := b.TempDir()
	path := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(path, append(bytes.Join(events, []byte("\n")), '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "rw.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	o := Options{DB: db, Client: testClient(b, emulatorProcess(b), testKey), Workers: benchConcurrency,
		Files: []FileOptions{{Path: path, FromStart: true, Poll: time.Millisecond}}}
	if rulesText != "" {
		o.Alerts = parseRules(b, rulesText)
		o.AlertOptions = AlertOptions{Every: 100 * time.Millisecond}
	}
	c, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.ResetTimer()
	wg.Go(func() { _ = c.Run(ctx) })
	for {
		info, err := db.Info()
		if err != nil {
			b.Fatal(err)
		}
		if info.Decisions >= uint64(b.N) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
