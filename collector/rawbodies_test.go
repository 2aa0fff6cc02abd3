package collector

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

// compressingStore writes enough emulator-scored decisions to the store at
// path for it to train a raw body dictionary, waits for the dictionary and
// closes the store: what is stored in it from then on is compressed.
func compressingStore(t *testing.T, path string) {
	t.Helper()
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	client := emulatorScorer(t)
	g, err := emulator.NewGenerator("mixed", 4, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 5 {
		rs := make([]store.Result, 1000)
		for j := range rs {
			line := g.Next()
			ev, err := safee.ParseEvent(line)
			if err != nil {
				t.Fatal(err)
			}
			res, err := client.Score(ctx, ev)
			rs[j].Decision = newDecision(store.InboxEvent{EventID: ev.EventID, Source: "file:/x", ReceivedAt: time.Now(), Body: line}, ev, res, err)
		}
		if _, err := db.Complete(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a raw body dictionary", 30*time.Second, func() bool {
		info, err := db.Info()
		return err == nil && info.RawDict != 0
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRawBodiesExactThroughProxyAndAPI proxies events to Safe-e through a
// collector whose store compresses raw bodies: the API's detail and lists
// give back each event exactly as the application sent it and each answer
// exactly as the proxy passed it on, spacing and escapes included.
func TestRawBodiesExactThroughProxyAndAPI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raw.db")
	compressingStore(t, path)
	emu := newEmulator(t)
	lc := startLiveCollector(t, path, "127.0.0.1:0", emu.URL, readToken)
	g, err := emulator.NewGenerator("mixed", 9, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	type sent struct{ req, resp []byte }
	byEvent := map[string]sent{}
	for i := range 60 {
		body := g.Next()
		switch i % 3 {
		case 1:
			body = bytes.ReplaceAll(body, []byte(`":`), []byte("\" :\n\t "))
		case 2:
			body = bytes.Replace(body, []byte(`"$login"`), []byte(`"$\u006cogin"`), 1)
		}
		ev, err := safee.ParseEvent(body)
		if err != nil {
			t.Fatal(err)
		}
		status, _, answer := post(t, lc.url+"/api/v1/"+string(ev.Route())+"/"+ev.Name(),
			http.Header{"Authorization": {"Bearer " + readToken}, "Content-Type": {"application/json"}}, body)
		if status != http.StatusOK {
			t.Fatalf("event %d: proxy answered %d: %s", i, status, answer)
		}
		byEvent[ev.EventID] = sent{body, answer}
	}
	remote := dialRemote(t, lc.url, readToken)
	ctx := context.Background()
	latest, err := remote.Latest(ctx, api.LatestQuery{Filter: "source:proxy", N: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != len(byEvent) {
		t.Fatalf("%d proxied decisions listed, want %d", len(latest), len(byEvent))
	}
	for _, d := range latest {
		s, ok := byEvent[d.EventID]
		if !ok {
			t.Fatalf("decision of an event not sent: %q", d.EventID)
		}
		if !bytes.Equal(d.Request, s.req) || !bytes.Equal(d.Response, s.resp) {
			t.Fatalf("Latest: event %s: stored\n%s\n%s\nsent\n%s\n%s", d.EventID, d.Request, d.Response, s.req, s.resp)
		}
		one, err := remote.Decision(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(one.Request, s.req) || !bytes.Equal(one.Response, s.resp) {
			t.Fatalf("Decision %s: the detail's bodies differ from what was sent", d.ID)
		}
		if strings.Contains(string(s.req), "\n\t") && !bytes.Contains(one.Request, []byte("\" :\n\t ")) {
			t.Fatalf("Decision %s: spacing lost", d.ID)
		}
	}
}
