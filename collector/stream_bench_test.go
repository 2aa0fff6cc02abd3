package collector

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// BenchmarkStreamFanout measures the collector's peak heap while 200 SSE
// clients follow GET /v1/stream: each replays 1,000 stored decisions (with
// raw request and response bodies of about 1 KB) and then follows 1,000
// more published live in batches of 100; 20 of the clients never read
// (stalled) until the others have everything. Reported: peak-heap-MiB
// (HeapInuse sampled every 2 ms) and decisions/s delivered.
//
//	go test ./collector/ -run '^$' -bench StreamFanout -benchtime 1x -count 3
func BenchmarkStreamFanout(b *testing.B) {
	const (
		clients, stalled   = 200, 20
		stored, live, page = 1000, 1000, 100
	)
	for range b.N {
		b.StopTimer()
		db, err := store.Open(filepath.Join(b.TempDir(), "rw.db"), store.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		hub := NewHub()
		health := func(context.Context) api.Health { return api.Health{Mode: ModeEmulator, Pipeline: PipelineRunning} }
		srv, err := NewServer(ServerOptions{Proxy: srvEchoProxy, Health: health, Logger: slog.New(slog.DiscardHandler),
			Reader: &Reader{db: db, hub: hub, health: health, now: time.Now}})
		if err != nil {
			b.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, ln) }()
		url := "http://" + ln.Addr().String()
		seq := 0
		publish := func(n int) string {
			var last string
			for n > 0 {
				rs := make([]store.Result, min(n, page))
				for i := range rs {
					rs[i] = store.Result{Decision: benchStreamDecision(seq)}
					seq++
				}
				ds, err := db.Complete(context.Background(), rs)
				if err != nil {
					b.Fatal(err)
				}
				hub.Publish(ds)
				last = ds[len(ds)-1].ID
				n -= len(rs)
			}
			return last
		}
		publish(stored)
		runtime.GC()

		var peak atomic.Uint64
		sampleDone := make(chan struct{})
		stopSample := make(chan struct{})
		go func() {
			defer close(sampleDone)
			var ms runtime.MemStats
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stopSample:
					return
				case <-t.C:
				}
			}
		}()

		b.StartTimer()
		start := time.Now()
		var final atomic.Pointer[string]
		var readers, idle sync.WaitGroup
		release := make(chan struct{})
		cctx, ccancel := context.WithCancel(context.Background())
		for c := range clients {
			wg := &readers
			if c < stalled {
				wg = &idle
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequestWithContext(cctx, http.MethodGet, url+"/v1/stream?after="+api.ZeroID, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				defer resp.Body.Close()
				if c < stalled {
					<-release
					return
				}
				sc := bufio.NewScanner(resp.Body)
				sc.Buffer(make([]byte, 64<<10), 64<<20)
				for sc.Scan() {
					if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
						if f := final.Load(); f != nil && id == *f {
							return
						}
					}
				}
				b.Errorf("client %d: stream ended early: %v", c, sc.Err())
			}()
		}
		last := publish(live)
		final.Store(&last)
		// A client may have read the last decision before it was named
		// final: keep publishing one more now and then until all are done.
		done := make(chan struct{})
		var ticker sync.WaitGroup
		ticker.Go(func() {
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					last := publish(1)
					final.Store(&last)
				}
			}
		})
		readers.Wait()
		close(done)
		ticker.Wait()
		close(release)
		idle.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		close(stopSample)
		<-sampleDone
		ccancel()
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64((clients-stalled)*(stored+live))/elapsed.Seconds(), "decisions/s")
		cancel()
		<-served
		hub.Close()
		db.Close()
	}
}

// benchStreamDecision is a decision with raw bodies of about 1 KB.
func benchStreamDecision(i int) decision.Decision {
	req := fmt.Sprintf(`{"type":"$login","status":"$succeeded","user":{"user_id":"u%d","user_email":"user%d@example.com","user_ip":"10.%d.%d.%d"},"user_headers":{"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36","host":"app.example.com","accept_language":"en-US,en;q=0.9","accept_encoding":"gzip, deflate, br","accept":"text/html,application/xhtml+xml"},"product":"web","pad":"%s"}`,
		i%5000, i%5000, i%250, i%200, i%100, strings.Repeat("p", 300))
	resp := fmt.Sprintf(`{"risk":%d,"account_abuse":%d,"account_takeover":%d,"bot":%d,"signals":["proxy_ip","datacenter_ip"],"policy":{"name":"default","action":"Allow"},"ip_country":"US","pad":"%s"}`,
		i%100, i%37, i%53, i%11, strings.Repeat("q", 200))
	return decision.Decision{EventID: fmt.Sprintf("s-%d", i), Source: "bench", Type: "$login", Status: "$succeeded",
		UserID: fmt.Sprintf("u%d", i%5000), IP: "10.0.0.1", Action: decision.ActionAllow, Risk: float64(i % 100),
		Signals: []string{"proxy_ip", "datacenter_ip"}, Request: []byte(req), Response: []byte(resp)}
}
