package collector

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

const benchConcurrency = 16

// benchEvents generates n events once per benchmark run.
func benchEvents(b *testing.B, n int) [][]byte {
	b.Helper()
	g, err := emulator.NewGenerator("mixed", 1, func() time.Time { return time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) })
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

func benchEmulator(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(emulator.New(emulator.Options{Key: testKey, Seed: 1}).Handler("/api/v1"))
	b.Cleanup(srv.Close)
	return srv
}

// envEmulatorProcess makes this test binary serve the emulator instead of
// running tests (see TestEmulatorProcess).
const envEmulatorProcess = "RISKWATCH_TEST_EMULATOR_PROCESS"

// TestEmulatorProcess is not a test: re-executed with envEmulatorProcess
// set, the test binary serves the emulator on loopback, prints its URL, and
// exits when its standard input closes.
func TestEmulatorProcess(t *testing.T) {
	if os.Getenv(envEmulatorProcess) == "" {
		t.Skip("helper process for the end-to-end benchmark")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: emulator.New(emulator.Options{Key: testKey, Seed: 1}).Handler("/api/v1")}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("http://%s/api/v1\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
}

// emulatorProcess runs the emulator in a process of its own, as Safe-e
// would be: an emulator sharing the benchmark's process would compete with
// the code under test for the same scheduler and skew the comparison.
func emulatorProcess(b *testing.B) string {
	url, _ := emulatorProcessPID(b)
	return url
}

// emulatorProcessPID is emulatorProcess, also returning the process ID.
func emulatorProcessPID(b *testing.B) (url string, pid int) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmulatorProcess$")
	cmd.Env = append(os.Environ(), envEmulatorProcess+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("emulator process: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return strings.TrimSpace(line), cmd.Process.Pid
}

// cpuMeter reports the CPU time per event spent by the benchmark's process
// (the code under test) and by the emulator's, so that runs on a loaded
// machine compare by cost and not only by rate.
type cpuMeter struct {
	emuPid    int
	self, emu time.Duration
	ok        bool
}

// startCPU resets b's timer and starts measuring.
func startCPU(b *testing.B, emuPid int) *cpuMeter {
	m := &cpuMeter{emuPid: emuPid}
	b.ResetTimer()
	var ok1, ok2 bool
	m.self, ok1 = processCPU(0)
	m.emu, ok2 = processCPU(emuPid)
	m.ok = ok1 && ok2
	return m
}

// stop stops b's timer and reports events/s and the CPU per event.
func (m *cpuMeter) stop(b *testing.B) {
	b.StopTimer()
	self, ok1 := processCPU(0)
	emu, ok2 := processCPU(m.emuPid)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if m.ok && ok1 && ok2 {
		b.ReportMetric(float64((self-m.self).Microseconds())/float64(b.N), "cpu-µs/event")
		b.ReportMetric(float64((emu-m.emu).Microseconds())/float64(b.N), "emu-cpu-µs/event")
	}
}

// BenchmarkEndToEnd compares the collector's whole path (file tail → inbox
// → pipeline → emulator → decision committed with fsync) with a bare loop
// of Safe-e calls to the same emulator at the same concurrency; the
// emulator runs in a process of its own in both. SPEC target: the collector
// reaches >= 80% of the bare loop's events/s. kafka-pipeline-store runs the
// same events through the Kafka source instead of the file.
func BenchmarkEndToEnd(b *testing.B) {
	b.Run("bare-http", func(b *testing.B) {
		events := benchEvents(b, b.N)
		url, pid := emulatorProcessPID(b)
		client := testClient(b, url, testKey)
		parsed := make([]safee.Event, len(events))
		for i, e := range events {
			ev, err := safee.ParseEvent(e)
			if err != nil {
				b.Fatal(err)
			}
			parsed[i] = ev
		}
		next := make(chan int, len(parsed))
		for i := range parsed {
			next <- i
		}
		close(next)
		cpu := startCPU(b, pid)
		var wg sync.WaitGroup
		for range benchConcurrency {
			wg.Go(func() {
				for i := range next {
					if _, err := client.Score(context.Background(), parsed[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		cpu.stop(b)
	})
	b.Run("file-pipeline-store", func(b *testing.B) {
		events := benchEvents(b, b.N)
		dir := b.TempDir()
		path := filepath.Join(dir, "events.ndjson")
		data := bytes.Join(events, []byte("\n"))
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			b.Fatal(err)
		}
		db, err := store.Open(filepath.Join(dir, "rw.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		url, pid := emulatorProcessPID(b)
		m := NewMetrics(nil)
		p := NewPipeline(PipelineOptions{DB: db, Scorer: testClient(b, url, testKey), Workers: benchConcurrency, Metrics: m})
		src := NewFileSource(FileOptions{Path: path, FromStart: true, Poll: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		in := testIntake(b, db, src.Name(), func(o *IntakeOptions) { o.Notify, o.Queued, o.Metrics = p.Notify, p.Remember, m })
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		cpu := startCPU(b, pid)
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
		cpu.stop(b)
		cancel()
		wg.Wait()
		reportGroups(b, m)
	})
	// The same events from a topic of 4 partitions, keyed by user, of an
	// in-process kfake cluster (which shares the benchmark's CPU, as the
	// file's page cache does not): Kafka source -> inbox -> pipeline.
	b.Run("kafka-pipeline-store", func(b *testing.B) {
		events := benchEvents(b, b.N)
		keys := make([]string, len(events))
		for i, e := range events {
			ev, err := safee.ParseEvent(e)
			if err != nil {
				b.Fatal(err)
			}
			keys[i] = ev.UserID
		}
		c := newKfake(b, 4)
		for i := 0; i < len(events); i += 10000 {
			produce(b, c.ListenAddrs(), events[i:min(i+10000, len(events))], keys[i:min(i+10000, len(events))])
		}
		db, err := store.Open(filepath.Join(b.TempDir(), "rw.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		url, pid := emulatorProcessPID(b)
		p := NewPipeline(PipelineOptions{DB: db, Scorer: testClient(b, url, testKey), Workers: benchConcurrency})
		src := NewKafkaSource(KafkaOptions{Brokers: c.ListenAddrs(), Topic: kafkaTopic, Group: "bench", Logger: slog.New(slog.DiscardHandler)})
		in := testIntake(b, db, src.Name(), func(o *IntakeOptions) { o.Notify, o.Queued = p.Notify, p.Remember })
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		cpu := startCPU(b, pid)
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
		cpu.stop(b)
		cancel()
		wg.Wait()
	})
}

// reportGroups reports the mean number of events per enqueue and per
// complete commit, as m's commit latency histograms counted them.
func reportGroups(b *testing.B, m *Metrics) {
	for _, op := range []string{"enqueue", "complete"} {
		var out dto.Metric
		if err := m.CommitLatency.WithLabelValues(op).(prometheus.Histogram).Write(&out); err != nil {
			b.Fatal(err)
		}
		if n := out.GetHistogram().GetSampleCount(); n > 0 {
			b.ReportMetric(float64(b.N)/float64(n), "events/"+op)
		}
	}
}

// BenchmarkProxyAddedLatency measures what the Safe-e-compatible proxy adds
// to a call (forward, store the decision with fsync, answer): sequential
// calls through the proxy and straight to the emulator, p50 and p99 of each.
func BenchmarkProxyAddedLatency(b *testing.B) {
	events := benchEvents(b, b.N)
	srv := benchEmulator(b)
	db, err := store.Open(filepath.Join(b.TempDir(), "rw.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	col, err := New(Options{DB: db, Client: testClient(b, srv.URL+"/api/v1", testKey), Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	defer func() { cancel(); <-done }()
	hc := &http.Client{}
	call := func(url string, body []byte, key bool) time.Duration {
		ev, err := safee.ParseEvent(body)
		if err != nil {
			b.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, url+"/"+string(ev.Route())+"/"+ev.Name(), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key {
			req.Header.Set("Authorization-API", testKey)
		}
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d from %s", resp.StatusCode, url)
		}
		return time.Since(start)
	}
	direct := make([]time.Duration, 0, b.N)
	proxied := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i, e := range events {
		if i%2 == 0 {
			direct = append(direct, call(srv.URL+"/api/v1", e, true))
		} else {
			proxied = append(proxied, call("http://"+col.Addr()+"/api/v1", e, false))
		}
	}
	b.StopTimer()
	if len(direct) == 0 || len(proxied) == 0 {
		return
	}
	q := func(s []time.Duration, f float64) float64 {
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(f*float64(len(s))))].Microseconds())
	}
	b.ReportMetric(q(direct, 0.5), "direct-p50-µs")
	b.ReportMetric(q(direct, 0.99), "direct-p99-µs")
	b.ReportMetric(q(proxied, 0.5), "proxy-p50-µs")
	b.ReportMetric(q(proxied, 0.99), "proxy-p99-µs")
}
