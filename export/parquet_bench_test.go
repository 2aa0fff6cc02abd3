package export

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// BenchmarkParquetExportMemory exports 100k and 1M generated decisions (a
// realistic mix, raw bodies of a few hundred bytes) through the Parquet
// writer to a byte counter and reports the peak Go heap (sampled from
// runtime/metrics) and the peak RSS (Linux VmHWM, reset before each run).
// Flat memory means the 1M peaks match the 100k ones. It is not part of the
// normal test run:
//
//	go test -run '^$' -bench ParquetExportMemory -benchtime 1x ./export/
func BenchmarkParquetExportMemory(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("decisions=%d", n), func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				debug.FreeOSMemory()
				resetPeakRSS(b)
				stop := samplePeakHeap()
				var out countingWriter
				start := time.Now()
				w := NewWriter(&out, Parquet)
				g := newDecisionGen(1)
				for range n {
					if err := w.Write(g.next()); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				elapsed := time.Since(start)
				heap := stop()
				b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
				if rss, ok := peakRSS(); ok {
					b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
				}
				b.ReportMetric(float64(out.n)/(1<<20), "file-MiB")
				b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/decision")
			}
		})
	}
}

// countingWriter discards what it is given and counts the bytes.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// samplePeakHeap samples the bytes of live and not yet swept heap objects
// every millisecond until the returned function is called, which returns
// the largest value seen.
func samplePeakHeap() func() uint64 {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// resetPeakRSS resets the kernel's RSS high-water mark of this process
// (Linux); elsewhere peakRSS reports nothing.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the RSS high-water mark (%v): peak-RSS-MiB covers the whole process", err)
	}
}

// peakRSS reads VmHWM from /proc/self/status.
func peakRSS() (uint64, bool) {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(st)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// decisionGen makes a deterministic stream of realistic decisions: 20k
// users with a few IPs each, the usual types, scores and signals, a shadow
// verdict on a third of them, and raw bodies of a few hundred bytes. next
// reuses one Decision, as the writer copies what it keeps.
type decisionGen struct {
	rng      *rand.Rand
	d        decision.Decision
	t        time.Time
	i        int
	req, rsp bytes.Buffer
}

func newDecisionGen(seed uint64) *decisionGen {
	return &decisionGen{rng: rand.New(rand.NewPCG(seed, seed)), t: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}
}

var (
	genTypes   = []string{"$login", "$login", "$login", "$registration", "$profile_update", "$transaction"}
	genStatus  = []string{"$succeeded", "$succeeded", "$failed", "$attempted"}
	genSignals = []string{"proxy_ip", "datacenter_ip", "bot_behavior", "credential_stuffing", "generated_email", "new_device"}
	genCountry = []string{"DE", "US", "FR", "GB", "JP", "BR", "IN"}
)

func (g *decisionGen) next() *decision.Decision {
	r, d := g.rng, &g.d
	g.i++
	g.t = g.t.Add(time.Duration(r.IntN(20)) * time.Millisecond)
	user := r.IntN(20_000)
	*d = decision.Decision{
		ID: fmt.Sprintf("%032x", g.i), EventID: "evt-" + strconv.Itoa(g.i), Time: g.t, ReceivedAt: g.t.Add(-time.Millisecond),
		EventTime: g.t.Add(-time.Duration(r.IntN(3000)) * time.Millisecond), Source: "file:/var/log/app/events.ndjson",
		Type: genTypes[r.IntN(len(genTypes))], Status: genStatus[r.IntN(len(genStatus))],
		UserID: "u" + strconv.Itoa(user), Email: "user" + strconv.Itoa(user) + "@example.com",
		IP: fmt.Sprintf("203.0.%d.%d", user%250, r.IntN(4)), Country: genCountry[user%len(genCountry)],
		Risk: float64(r.IntN(101)), AccountAbuse: float64(r.IntN(101)), AccountTakeover: float64(r.IntN(101)), Bot: float64(r.IntN(101)),
		Policy: "default", HTTPStatus: 200, Latency: time.Duration(20+r.IntN(200)) * time.Millisecond, Attempts: 1,
	}
	d.Signals = genSignals[r.IntN(3):][:r.IntN(3)]
	switch a := d.Risk; {
	case r.IntN(200) == 0:
		d.Action, d.Error, d.HTTPStatus = decision.ActionError, "Safe-e answered 503", 503
	case a >= 90:
		d.Action = decision.ActionDeny
	case a >= 60:
		d.Action = decision.ActionChallenge
	default:
		d.Action = decision.ActionAllow
	}
	if g.i%3 == 0 {
		d.ShadowAction, d.ShadowRule = decision.Actions[r.IntN(3)], "stuffing ip"
	}
	g.req.Reset()
	fmt.Fprintf(&g.req, `{"event_id":%q,"timestamp":%q,"type":%q,"status":%q,"user":{"user_id":%q,"user_email":%q,"user_ip":%q},`+
		`"user_headers":{"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",`+
		`"host":"app.example.com","accept_language":"en-US,en;q=0.9","accept_encoding":"gzip, deflate, br","accept":"*/*"},"product":"web"}`,
		d.EventID, d.EventTime.Format(time.RFC3339Nano), d.Type, d.Status, d.UserID, d.Email, d.IP)
	g.rsp.Reset()
	fmt.Fprintf(&g.rsp, `{"risk":%g,"account_abuse":%g,"account_takeover":%g,"bot":%g,"signals":[`, d.Risk, d.AccountAbuse, d.AccountTakeover, d.Bot)
	for i, s := range d.Signals {
		if i > 0 {
			g.rsp.WriteByte(',')
		}
		g.rsp.WriteString(strconv.Quote(s))
	}
	fmt.Fprintf(&g.rsp, `],"policy":{"name":"default","action":%q}}`, d.Action)
	d.Request, d.Response = g.req.Bytes(), g.rsp.Bytes()
	return d
}
