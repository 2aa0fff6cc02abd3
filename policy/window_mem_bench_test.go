package policy

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/internal/policytest"
)

// BenchmarkWindowMemory measures the heap per entry held by replay's
// Window and the shadow's LiveWindow, for the 10-rule policy's queries (6
// keys), after b.N decisions fed in event-time order, each decision's
// strings allocated apart as decoding a request allocates them. few: the
// synthetic stream of policytest (400 users, so each value holds many
// entries); many: a million users and addresses a millisecond apart, so
// most values hold one entry. ns/op is the CPU per decision fed.
func BenchmarkWindowMemory(b *testing.B) {
	p, err := Parse("ten.toml", []byte(policytest.TenRules))
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"window", "live"} {
		b.Run(kind, func(b *testing.B) { benchWindowMemory(b, p, kind) })
	}
}

// memWindow is what BenchmarkWindowMemory feeds.
type memWindow interface {
	Add(*decision.Decision) error
	Len() int
}

func benchWindowMemory(b *testing.B, p *Policy, kind string) {
	b.Run("few", func(b *testing.B) {
		s := policytest.NewSynth(1)
		windowMemory(b, p, kind, func(d *decision.Decision) {
			s.Next(d)
			d.UserID, d.IP, d.Email, d.UserAgent = fresh(d.UserID), fresh(d.IP), fresh(d.Email), fresh(d.UserAgent)
		})
	})
	b.Run("many", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		t := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		agents := []string{"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "curl/8.5.0", "python-requests/2.31.0"}
		n := 0
		windowMemory(b, p, kind, func(d *decision.Decision) {
			n++
			t = t.Add(time.Millisecond)
			u := strconv.Itoa(rng.IntN(1_000_000))
			*d = decision.Decision{
				EventID: "e" + strconv.Itoa(n), EventTime: t, Type: "$login", Status: "$succeeded",
				UserID: "u" + u, Email: "u" + u + "@example.com",
				IP:        strconv.Itoa(10+rng.IntN(200)) + "." + strconv.Itoa(rng.IntN(256)) + "." + strconv.Itoa(rng.IntN(256)) + "." + strconv.Itoa(rng.IntN(256)),
				UserAgent: fresh(agents[rng.IntN(len(agents))]), Action: decision.ActionAllow,
			}
		})
	})
}

// fresh returns a copy of s in memory of its own.
func fresh(s string) string { return string([]byte(s)) }

func windowMemory(b *testing.B, p *Policy, kind string, next func(*decision.Decision)) {
	var w memWindow = NewWindow(p.Queries()...)
	if kind == "live" {
		lw := NewLiveWindow(p.Queries()...)
		lw.Retain(5 * time.Minute)
		w = lw
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	var d decision.Decision
	for range b.N {
		next(&d)
		if err := w.Add(&d); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	d = decision.Decision{}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if w.Len() == 0 {
		b.Fatal("nothing held")
	}
	b.ReportMetric(float64(w.Len()), "entries")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(w.Len()), "heap-B/entry")
	runtime.KeepAlive(w)
}
