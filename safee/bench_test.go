package safee_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
)

// BenchmarkClientEmulator scores mixed synthetic traffic with Score against
// the emulator over loopback HTTP, with as many callers as the client's
// concurrency bound.
func BenchmarkClientEmulator(b *testing.B) {
	const key = "bench-key"
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	gen, err := emulator.NewGenerator("mixed", 1, func() time.Time { return start })
	if err != nil {
		b.Fatalf("generator: %v", err)
	}
	events := make([]safee.Event, 4096)
	for i := range events {
		if events[i], err = safee.ParseEvent(gen.Next()); err != nil {
			b.Fatalf("generated event %d: %v", i, err)
		}
	}
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			srv := httptest.NewServer(emulator.New(emulator.Options{Key: key, Seed: 1}).Handler("/api/v1"))
			defer srv.Close()
			c, err := safee.New(safee.Config{BaseURL: srv.URL + "/api/v1", APIKey: key, Concurrency: conc})
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseIdleConnections()
			ctx := context.Background()
			var next, failed atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for range conc {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						if _, err := c.Score(ctx, events[i%int64(len(events))]); err != nil {
							if failed.Add(1) == 1 {
								b.Errorf("Score: %v", err)
							}
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
