package collector_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/collector/collectortest"
	"github.com/riskwatch/riskwatch/internal/policytest"
)

// BenchmarkReplay1M replays the 10-rule policy (velocity on every key)
// over the 1M-decision benchmark store, as `riskwatch policy replay --db`
// does: the by_time scan, the decoding, the in-memory windows and the
// rules (SPEC section 16: < 5 s). Each replay's time is logged, so that
// -benchtime=3x gives three runs over one store. The CPU time (user and
// system, of every goroutine of the process) measures the cost better than
// the wall time on a shared, loaded machine.
func BenchmarkReplay1M(b *testing.B) {
	db, _ := collectortest.BigStore(b)
	r := collector.NewStoreReader(db, nil)
	q := api.ReplayQuery{Name: "ten.toml", Policy: policytest.TenRules}
	b.ResetTimer()
	for b.Loop() {
		start, cpu := time.Now(), cpuTime()
		rep, err := r.Replay(context.Background(), q)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Decisions != collectortest.BigDecisions {
			b.Fatalf("replayed %d decisions", rep.Decisions)
		}
		b.Logf("replay of %d decisions: %s wall, %s CPU", rep.Decisions, time.Since(start).Round(time.Millisecond),
			(cpuTime() - cpu).Round(time.Millisecond))
	}
}

// cpuTime returns the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
