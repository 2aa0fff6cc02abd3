package collector

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/safee/emulator"
)

// subscriberLog collects what a subscriber was given.
type subscriberLog struct {
	mu     sync.Mutex
	ids    []string
	missed int
}

func (r *subscriberLog) add(b api.Batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range b.Decisions {
		r.ids = append(r.ids, d.ID)
	}
	r.missed += b.Missed
}

func (r *subscriberLog) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

func (r *subscriberLog) snapshot() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids), r.missed
}

// feed posts events of g to the collector at url, through the ingest
// (batches of 10) and the proxy (one each round), every 10 ms until ctx
// ends, whether or not the collector is up.
func feed(ctx context.Context, url, token string, g *emulator.Generator) {
	client := &http.Client{Timeout: 2 * time.Second}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var body bytes.Buffer
		for range 10 {
			body.Write(g.Next())
			body.WriteByte('\n')
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/events", &body)
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
		proxyEvent(client, url, token, g.Next())
	}
}

func TestRemoteSubscribeSurvivesCollectorRestart(t *testing.T) {
	emu := newEmulator(t)
	path := filepath.Join(t.TempDir(), "rw.db")
	first := startLiveCollector(t, path, "127.0.0.1:0", emu.URL, readToken)
	r := dialRemote(t, first.url, readToken)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got subscriberLog
	sub := r.Subscribe(ctx)
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for b := range sub {
			got.add(b)
		}
	}()
	waitFor(t, "the stream to connect", 10*time.Second, func() bool { ok, _, _ := r.Connection(); return ok })

	g, err := emulator.NewGenerator("mixed", 31, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	feedCtx, stopFeed := context.WithCancel(ctx)
	var feeding sync.WaitGroup
	feeding.Go(func() { feed(feedCtx, first.url, readToken, g) })
	defer func() { stopFeed(); feeding.Wait() }()

	waitFor(t, "decisions before the restart", 20*time.Second, func() bool { return got.count() >= 150 })
	first.stop()
	var downSince time.Time
	waitFor(t, "Connection to say disconnected", 10*time.Second, func() bool {
		ok, since, err := r.Connection()
		downSince = since
		return !ok && err != nil
	})
	atRestart := got.count()

	second := startLiveCollector(t, path, first.addr, emu.URL, readToken)
	waitFor(t, "Connection to say connected again", 10*time.Second, func() bool {
		ok, since, err := r.Connection()
		return ok && err == nil && since.After(downSince)
	})
	waitFor(t, "decisions after the restart", 20*time.Second, func() bool { return got.count() >= atRestart+150 })
	stopFeed()
	feeding.Wait()

	waitFor(t, "the inbox to empty", 20*time.Second, func() bool { return second.db.InboxDepth() == 0 })
	want := storedIDs(t, second.db)
	waitFor(t, "every stored decision to arrive", 20*time.Second, func() bool { return got.count() >= len(want) })
	ids, missed := got.snapshot()
	if missed != 0 {
		t.Errorf("the subscriber was told %d decisions were missed", missed)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("subscriber got %d decisions (%d distinct), the store holds %d: not each exactly once in store order",
			len(ids), len(distinct(ids)), len(want))
	}
	cancel()
	<-consumed
}

func distinct(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
