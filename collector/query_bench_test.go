package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// The dashboard's queries on a store of benchDecisions decisions spread
// over 24 hours, in-process and over the read API on loopback:
//
//	go test ./collector/ -run '^$' -bench QueryOverHTTP -benchtime 2s
//
// Building the store takes a minute or two.
const (
	benchDecisions = 1_000_000
	benchBatch     = 1000
	benchUsers     = 50_000
	// benchJourney has one decision in every benchBatch: 1000 in all.
	benchJourney = "journey"
)

func BenchmarkQueryOverHTTP(b *testing.B) {
	start := time.Now()
	db, end := buildBenchStore(b)
	b.Logf("built %d decisions in %s", benchDecisions, time.Since(start).Round(time.Second))

	hub := NewHub()
	defer hub.Close()
	health := func(context.Context) api.Health { return api.Health{Mode: ModeEmulator, Pipeline: PipelineRunning} }
	inproc := &Reader{db: db, hub: hub, health: health, now: func() time.Time { return end }}
	srv, err := NewServer(ServerOptions{Proxy: srvEchoProxy, Health: health, Reader: inproc,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	remote, err := api.Dial("http://"+ln.Addr().String(), "", api.RemoteOptions{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer remote.Close()

	th := decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 80}
	queries := []struct {
		name string
		run  func(r api.Reader) (int, error)
	}{
		{"Latest100", func(r api.Reader) (int, error) {
			ds, err := r.Latest(ctx, api.LatestQuery{N: 100})
			return len(ds), err
		}},
		{"Journey1k", func(r api.Reader) (int, error) {
			ds, err := r.Journey(ctx, api.JourneyQuery{User: benchJourney, Limit: 1000})
			return len(ds), err
		}},
		{"Journey1kBrief", func(r api.Reader) (int, error) {
			ds, err := r.Journey(ctx, api.JourneyQuery{User: benchJourney, Limit: 1000, Brief: true})
			return len(ds), err
		}},
		{"Histogram24h", func(r api.Reader) (int, error) {
			h, err := r.Histogram(ctx, api.HistogramQuery{Score: decision.ScoreRisk, From: end.Add(-24 * time.Hour), To: end})
			return int(h.Total), err
		}},
		{"WhatIf24h", func(r api.Reader) (int, error) {
			w, err := r.WhatIf(ctx, api.WhatIfQuery{Thresholds: th, From: end.Add(-24 * time.Hour), To: end})
			return len(w.ByType), err
		}},
	}
	readers := []struct {
		name string
		r    api.Reader
	}{{"inproc", inproc}, {"http", remote}}
	for _, q := range queries {
		for _, rd := range readers {
			b.Run(q.name+"/"+rd.name, func(b *testing.B) {
				if n, err := q.run(rd.r); err != nil || n == 0 {
					b.Fatalf("%s: %d, %v", q.name, n, err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := q.run(rd.r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// buildBenchStore stores benchDecisions decisions in batches of benchBatch,
// one batch every 86.4 s of a fake clock (24 hours in all), and returns the
// store and the clock after the last batch.
func buildBenchStore(b *testing.B) (*store.DB, time.Time) {
	b.Helper()
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	db, err := store.Open(filepath.Join(b.TempDir(), "1m.db"), store.Options{NoSync: true,
		Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	step := 24 * time.Hour / (benchDecisions / benchBatch)
	types := []string{"$login", "$login", "$login", "$registration", "$transaction", "$profile_update"}
	actions := []decision.Action{decision.ActionAllow, decision.ActionAllow, decision.ActionAllow, decision.ActionChallenge, decision.ActionDeny}
	rs := make([]store.Result, benchBatch)
	for batch := range benchDecisions / benchBatch {
		clock.Store(t0.Add(time.Duration(batch) * step).UnixNano())
		for j := range rs {
			i := batch*benchBatch + j
			user := fmt.Sprintf("u%05d", (i*7919)%benchUsers)
			if j == 0 {
				user = benchJourney
			}
			typ := types[i%len(types)]
			req, _ := json.Marshal(map[string]any{"type": typ, "status": "$succeeded",
				"user": map[string]string{"user_id": user, "user_ip": fmt.Sprintf("10.%d.%d.%d", i%7, i%251, i%253)}})
			rs[j] = store.Result{Decision: decision.Decision{
				EventID: fmt.Sprintf("e%07d", i), Source: "bench", ReceivedAt: t0, Type: typ, Status: "$succeeded",
				UserID: user, IP: fmt.Sprintf("10.%d.%d.%d", i%7, i%251, i%253), Country: "DE",
				Risk: float64(i % 101), AccountTakeover: float64((i * 3) % 101), Bot: float64((i * 7) % 101),
				AccountAbuse: float64((i * 11) % 101), Signals: []string{"new_device"}, Policy: "default",
				Action: actions[i%len(actions)], HTTPStatus: 200, Latency: 20 * time.Millisecond, Attempts: 1,
				Request:  req,
				Response: json.RawMessage(`{"risk":42,"account_abuse":3,"account_takeover":5,"bot":1,"signals":["new_device"],"policy":{"name":"default","action":"Allow"}}`),
			}}
		}
		if _, err := db.Complete(context.Background(), rs); err != nil {
			b.Fatal(err)
		}
	}
	return db, t0.Add(24 * time.Hour)
}
