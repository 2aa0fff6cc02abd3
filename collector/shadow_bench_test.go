package collector

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/internal/policytest"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

// BenchmarkShadowEndToEnd runs the end-to-end path of BenchmarkEndToEnd
// (file tail → inbox → pipeline → emulator in a process of its own →
// decision committed with fsync) over b.N live events (stamped from now
// on), without a shadow policy and then with the 10-rule policy with
// velocity on every key in shadow, each on a fresh store. SPEC target: the
// shadow lowers throughput by at most 5%, a ratio (on/off) of at least
// 0.95. Run it with -count 3: the two runs of one count see the same load.
// It also reports the process's CPU time per event (user and system: the
// collector's side, the emulator runs apart), off and on, which a loaded
// machine disturbs less than the wall time.
func BenchmarkShadowEndToEnd(b *testing.B) {
	g, err := emulator.NewGenerator("mixed", 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	events := make([][]byte, b.N)
	for i := range events {
		events[i] = g.Next()
	}
	dir := b.TempDir()
	policyPath := filepath.Join(dir, "shadow.toml")
	if err := os.WriteFile(policyPath, []byte(policytest.TenRules), 0o600); err != nil {
		b.Fatal(err)
	}
	eventsPath := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(eventsPath, append(bytes.Join(events, []byte("\n")), '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
	url := emulatorProcess(b)
	b.ResetTimer()
	off, offCPU := shadowRun(b, url, eventsPath, filepath.Join(dir, "off.db"), "")
	on, onCPU := shadowRun(b, url, eventsPath, filepath.Join(dir, "on.db"), policyPath)
	b.StopTimer()
	b.ReportMetric(off, "off-events/s")
	b.ReportMetric(on, "on-events/s")
	b.ReportMetric(on/off, "on/off")
	b.ReportMetric(offCPU, "off-cpu-µs/event")
	b.ReportMetric(onCPU, "on-cpu-µs/event")
}

// shadowRun scores the events of eventsPath into a new store at dbPath,
// with the shadow policy at policyPath unless it is "", and returns the
// events per second and the process's CPU microseconds per event.
func shadowRun(b *testing.B, url, eventsPath, dbPath, policyPath string) (rate, cpuPerEvent float64) {
	b.Helper()
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	po := PipelineOptions{DB: db, Scorer: testClient(b, url, testKey), Workers: benchConcurrency}
	if policyPath != "" {
		if po.Shadow, err = LoadShadow(policyPath, db, slog.New(slog.DiscardHandler), nil); err != nil {
			b.Fatal(err)
		}
	}
	p := NewPipeline(po)
	src := NewFileSource(FileOptions{Path: eventsPath, FromStart: true, Poll: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	in := testIntake(b, db, src.Name(), func(o *IntakeOptions) { o.Notify = p.Notify })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	cpu, _ := processCPU(0)
	start := time.Now()
	wg.Go(func() { _ = p.Run(ctx) })
	wg.Go(func() { _ = src.Run(ctx, in) })
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
	elapsed := time.Since(start)
	end, _ := processCPU(0)
	used := end - cpu
	cancel()
	wg.Wait()
	if policyPath != "" {
		var shadowed int
		for d, err := range db.Scan(context.Background(), time.Time{}, time.Time{}) {
			if err != nil {
				b.Fatal(err)
			}
			if d.ShadowAction != "" {
				shadowed++
			}
		}
		if shadowed < b.N*9/10 {
			b.Fatalf("%d of %d decisions have a shadow action", shadowed, b.N)
		}
	}
	return float64(b.N) / elapsed.Seconds(), float64(used.Microseconds()) / float64(b.N)
}

// BenchmarkShadowApply measures the shadow's CPU per decision alone: the
// 10-rule policy evaluated over synthetic decisions in commit groups of
// 1000 (each a little out of order, as concurrent scoring commits them),
// with velocity from memory; nothing is stored. ns/op is per decision.
func BenchmarkShadowApply(b *testing.B) {
	dir := b.TempDir()
	policyPath := filepath.Join(dir, "shadow.toml")
	if err := os.WriteFile(policyPath, []byte(policytest.TenRules), 0o600); err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "apply.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ds := policytest.NewSynth(3).Decisions(b.N)
	// Swap neighbours: a group's decisions complete a little out of order.
	for i := 1; i < len(ds); i += 3 {
		ds[i-1], ds[i] = ds[i], ds[i-1]
	}
	s, err := LoadShadow(policyPath, db, slog.New(slog.DiscardHandler), func() time.Time { return ds[0].EventTime })
	if err != nil {
		b.Fatal(err)
	}
	group := make([]store.Result, 0, 1000)
	b.ResetTimer()
	for lo := 0; lo < len(ds); lo += 1000 {
		group = group[:0]
		for i := lo; i < min(lo+1000, len(ds)); i++ {
			group = append(group, store.Result{Decision: ds[i]})
		}
		s.Apply(context.Background(), group)
	}
}
