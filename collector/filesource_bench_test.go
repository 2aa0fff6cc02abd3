package collector

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/store"
)

// BenchmarkFileSource measures tailing a file into the inbox: b.N event
// lines (with and without event_id) written up front, read from the start.
func BenchmarkFileSource(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "events.ndjson")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		line := fmt.Sprintf(`{"type":"$login","status":"$succeeded","user":{"user_id":"u%d","user_ip":"10.0.%d.%d"},"user_headers":{"user_agent":"Mozilla/5.0"},"product":"web"}`+"\n", i%5000, i%250, i%200)
		if i%2 == 0 {
			line = fmt.Sprintf(`{"type":"$login","event_id":"e%d","status":"$succeeded","user":{"user_id":"u%d"}}`+"\n", i, i%5000)
		}
		if _, err := f.WriteString(line); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "riskwatch.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	committed := make(chan struct{}, 1)
	src := NewFileSource(FileOptions{Path: path, FromStart: true, Poll: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	in := testIntake(b, db, src.Name(), func(o *IntakeOptions) {
		o.Notify = func() {
			select {
			case committed <- struct{}{}:
			default:
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	go func() { done <- src.Run(ctx, in) }()
	for src.Stats().LinesRead < uint64(b.N) {
		<-committed
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if got := db.InboxDepth(); got != uint64(b.N) {
		b.Fatalf("inbox holds %d events, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
