package collector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

// inProcess is a RoundTripper that serves requests with a handler in this
// process, without a socket.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	p.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// emulatorScorer returns a Safe-e client whose calls the emulator answers
// in process: real response bodies at a fraction of a socket's cost.
func emulatorScorer(tb testing.TB) *safee.Client {
	tb.Helper()
	h := emulator.New(emulator.Options{Key: testKey, Seed: 1}).Handler("/api/v1")
	c, err := safee.New(safee.Config{BaseURL: "http://emulator/api/v1", APIKey: testKey, HTTPClient: &http.Client{Transport: inProcess{h}}})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// benchDecisionCount is RISKWATCH_BENCH_DECISIONS, or def.
func benchDecisionCount(b *testing.B, def int) int {
	v := os.Getenv("RISKWATCH_BENCH_DECISIONS")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("RISKWATCH_BENCH_DECISIONS=%q: want a positive number", v)
	}
	return n
}

// BenchmarkBytesPerDecision stores RISKWATCH_BENCH_DECISIONS decisions
// (default 20,000; issue 18's target is for 1,000,000) of the emulator's
// mixed scenario, scored by the emulator in process and completed in
// groups of 1000 as the pipeline does, and reports the file's size per
// decision (target < 800 B at 1M), the bytes the pages in use take, the
// raw bodies as received, and what each large bucket takes, all per
// decision. Run it with -benchtime 1x: each iteration builds a store.
func BenchmarkBytesPerDecision(b *testing.B) {
	n := benchDecisionCount(b, 20_000)
	for range b.N {
		bytesPerDecision(b, n)
	}
}

func bytesPerDecision(b *testing.B, n int) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bytes.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	client := emulatorScorer(b)
	g, err := emulator.NewGenerator("mixed", 1, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	groups := make(chan []store.Result, 4)
	errc := make(chan error, 1)
	var raw int64
	go func() {
		defer close(groups)
		for i := 0; i < n; i += completeGroup {
			rs := make([]store.Result, min(completeGroup, n-i))
			for j := range rs {
				line := g.Next()
				ev, err := safee.ParseEvent(line)
				if err != nil {
					errc <- err
					return
				}
				id := ev.EventID
				if id == "" {
					id = "bench-" + strconv.Itoa(i+j)
				}
				in := store.InboxEvent{EventID: id, Source: "file:/var/log/app.ndjson", ReceivedAt: time.Now(), Body: line}
				res, err := client.Score(ctx, ev)
				rs[j].Decision = newDecision(in, ev, res, err)
				raw += int64(len(rs[j].Decision.Request) + len(rs[j].Decision.Response))
			}
			groups <- rs
		}
	}()
	for rs := range groups {
		if _, err := db.Complete(ctx, rs); err != nil {
			for range groups {
			}
			b.Fatal(err)
		}
	}
	select {
	case err := <-errc:
		b.Fatal(err)
	default:
	}
	space, err := db.Space(ctx)
	if err != nil {
		b.Fatal(err)
	}
	info, err := db.Info()
	if err != nil {
		b.Fatal(err)
	}
	if info.Decisions != uint64(n) {
		b.Fatalf("%d decisions stored, want %d", info.Decisions, n)
	}
	var inUse int64
	for _, s := range space {
		inUse += s.Alloc
		b.Logf("%-14s %9d keys %7.1f B/decision allocated, %7.1f in use", s.Name, s.Keys, float64(s.Alloc)/float64(n), float64(s.InUse)/float64(n))
		switch s.Name {
		case "decisions", "by_dim", "by_time", "by_user", "events":
			b.ReportMetric(float64(s.Alloc)/float64(n), s.Name+"-B/decision")
		}
	}
	b.ReportMetric(float64(info.Size)/float64(n), "file-B/decision")
	b.ReportMetric(float64(inUse)/float64(n), "pages-B/decision")
	b.ReportMetric(float64(raw)/float64(n), "raw-B/decision")
}
