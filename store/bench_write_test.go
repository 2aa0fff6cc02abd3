package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// cpuTime returns the user+system CPU time of the process so far: under a
// shared, loaded machine it measures cost better than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWrite measures group-commit throughput of Complete: callers
// goroutines each store batches of batch decisions; the metric
// decisions/s is what SPEC section 8 targets (>= 100k/s).
func BenchmarkWrite(b *testing.B) {
	for _, sync := range []bool{false, true} {
		for _, c := range []struct{ callers, batch int }{{1000, 1}, {64, 16}, {8, 250}} {
			name := fmt.Sprintf("nosync=%t/callers=%d/batch=%d", !sync, c.callers, c.batch)
			b.Run(name, func(b *testing.B) { benchWrite(b, !sync, c.callers, c.batch) })
		}
	}
}

func benchWrite(b *testing.B, noSync bool, callers, batch int) {
	db := openTest(b, Options{NoSync: noSync})
	g := newFakeGen(1, 50_000, 20_000)
	const pool = 1 << 14
	ds := make([]decision.Decision, pool)
	for i := range ds {
		ds[i] = g.decision(i)
	}
	ctx := context.Background()
	var next atomic.Int64
	txs0 := db.w.txs.Load()
	cpu0 := cpuTime()
	b.ResetTimer()
	var wg sync.WaitGroup
	var failed atomic.Value
	for range callers {
		wg.Go(func() {
			rs := make([]Result, batch)
			for {
				start := next.Add(int64(batch)) - int64(batch)
				if start >= int64(b.N) {
					return
				}
				n := min(int64(batch), int64(b.N)-start)
				for j := range n {
					i := start + j
					rs[j] = Result{Decision: ds[i%pool]}
					rs[j].Decision.EventID = fmt.Sprintf("ev-%d", i)
				}
				if _, err := db.Complete(ctx, rs[:n]); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/decision")
	b.ReportMetric(float64(b.N)/float64(max(1, db.w.txs.Load()-txs0)), "decisions/tx")
}
