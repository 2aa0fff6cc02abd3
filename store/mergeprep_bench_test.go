package store

import (
	"testing"
	"time"
)

// BenchmarkMergePrep measures preparing one merge (mergePrep.prepare) of
// mergeEvery pending decisions of live traffic (50,000 users on 20,000
// addresses, event times 10 µs apart): the work of the background
// goroutine per merge, reported as process CPU time per decision (steadier
// than wall time on a loaded machine).
func BenchmarkMergePrep(b *testing.B) {
	g := newFakeGen(5, 50_000, 20_000)
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	pend := make([]pendingDec, mergeEvery)
	for i := range pend {
		d := g.decision(i)
		p := &pend[i]
		*p = pendingDec{key: makeDecKey(base.UnixNano(), uint64(i+1)), ev: base.Add(time.Duration(i) * 10 * time.Microsecond).UnixNano(), user: indexPart(d.UserID), f: fieldsOf(&d)}
		dimValues(&d, &p.dims)
	}
	var m mergePrep
	cpu0 := cpuTime()
	for b.Loop() {
		m.pend = pend
		m.prepare()
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/mergeEvery, "cpu-ns/decision")
}
