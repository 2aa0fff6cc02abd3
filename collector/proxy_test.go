package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

// startCollector runs a collector with an HTTP server on loopback until the
// test ends.
func startCollector(t *testing.T, db *store.DB, safeeURL string) *Collector {
	t.Helper()
	client, err := safee.New(safee.Config{BaseURL: safeeURL, APIKey: testKey, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	col, err := New(Options{DB: db, Client: client, Listen: "127.0.0.1:0", Pipeline: fastPipeline(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "collector", 15*time.Second, col.Run)
	return col
}

func post(t *testing.T, url string, header http.Header, body []byte) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// TestProxyAnswersExactlyAsSafeeDoes sends the same events straight to one
// emulator and through the proxy to an identical one: every status, content
// type and body must be byte-identical, and every proxied call stored.
func TestProxyAnswersExactlyAsSafeeDoes(t *testing.T) {
	direct := httptest.NewServer(emulator.New(emulator.Options{Key: testKey, Seed: 5}).Handler("/api/v1"))
	defer direct.Close()
	behind := httptest.NewServer(emulator.New(emulator.Options{Key: testKey, Seed: 5}).Handler("/api/v1"))
	defer behind.Close()
	db := openTestStore(t)
	col := startCollector(t, db, behind.URL+"/api/v1")

	g, err := emulator.NewGenerator("mixed", 3, func() time.Time { return time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		body := g.Next()
		if i == 7 {
			// A body Safe-e refuses: the proxy must pass the 4xx through.
			body = []byte(`{"type":"$login","status":"$succeeded"}`)
		}
		ev, err := safee.ParseEvent(body)
		if err != nil {
			t.Fatal(err)
		}
		path := "/api/v1/" + string(ev.Route()) + "/" + ev.Name()
		ds, dct, db1 := post(t, direct.URL+path, http.Header{"Authorization-API": {testKey}, "Content-Type": {"application/json"}}, body)
		ps, pct, pb := post(t, "http://"+col.Addr()+path, http.Header{"Authorization-API": {"the-apps-own-key"}, "Content-Type": {"application/json"}}, body)
		if ds != ps || dct != pct || !bytes.Equal(db1, pb) {
			t.Fatalf("event %d: direct %d %q %s\nproxied %d %q %s", i, ds, dct, db1, ps, pct, pb)
		}
		if i == 7 && ds < 400 {
			t.Fatalf("the bad event was accepted by the emulator: %d", ds)
		}
	}
	info, err := db.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Decisions != n {
		t.Fatalf("stored %d decisions for %d proxied calls", info.Decisions, n)
	}
	latest, err := db.Latest(context.Background(), nil, n, "")
	if err != nil {
		t.Fatal(err)
	}
	errs := 0
	for _, d := range latest {
		if d.Source != "proxy" || len(d.Request) == 0 || len(d.Response) == 0 {
			t.Fatalf("proxied decision incomplete: %+v", d)
		}
		if d.Action == decision.ActionError {
			errs++
		}
	}
	if errs != 1 {
		t.Errorf("%d error decisions, want 1 (the refused event)", errs)
	}
}

func TestProxyWhenSafeeIsDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close() // nothing listens there any more
	db := openTestStore(t)
	col := startCollector(t, db, url)
	body := []byte(`{"type":"$login","status":"$succeeded","event_id":"p-1","user":{"user_id":"u1","user_ip":"10.0.0.1"}}`)
	status, ct, resp := post(t, "http://"+col.Addr()+"/api/v1/risk/login", http.Header{"Content-Type": {"application/json"}}, body)
	if status != http.StatusServiceUnavailable || !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("status %d %q: %s", status, ct, resp)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(resp, &e); err != nil || !strings.Contains(e.Error, "could not be reached") {
		t.Errorf("body %s", resp)
	}
	if strings.Contains(string(resp), testKey) {
		t.Error("the answer leaks the key")
	}
	d, err := db.Latest(context.Background(), nil, 1, "")
	if err != nil || len(d) != 1 || d[0].EventID != "p-1" || d[0].Action != decision.ActionError || d[0].Source != "proxy" {
		t.Fatalf("the failed call was not recorded as an error decision: %+v %v", d, err)
	}
}

// TestProxyRetryIsPublishedOnce: an application retrying a call with the
// same event_id gets Safe-e's answer again, but the dashboards see one
// decision, as the store holds one.
func TestProxyRetryIsPublishedOnce(t *testing.T) {
	emu := httptest.NewServer(emulator.New(emulator.Options{Key: testKey, Seed: 1}).Handler("/api/v1"))
	defer emu.Close()
	db := openTestStore(t)
	col := startCollector(t, db, emu.URL+"/api/v1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := col.Hub().Subscribe(ctx, SubscribeOptions{Interval: time.Millisecond})
	url := "http://" + col.Addr() + "/api/v1/risk/login"
	hdr := http.Header{"Content-Type": {"application/json"}}
	retried := []byte(`{"type":"$login","status":"$succeeded","event_id":"retried","user":{"user_id":"u1","user_ip":"10.0.0.1"}}`)
	last := []byte(`{"type":"$login","status":"$succeeded","event_id":"last","user":{"user_id":"u2","user_ip":"10.0.0.2"}}`)
	for _, body := range [][]byte{retried, retried, last} {
		if status, _, resp := post(t, url, hdr, body); status != http.StatusOK {
			t.Fatalf("status %d: %s", status, resp)
		}
	}
	var got []string
	deadline := time.After(10 * time.Second)
	for len(got) == 0 || got[len(got)-1] != "last" {
		select {
		case b := <-sub:
			for _, d := range b.Decisions {
				got = append(got, d.EventID)
			}
		case <-deadline:
			t.Fatalf("published so far: %v", got)
		}
	}
	if strings.Join(got, ",") != "retried,last" {
		t.Errorf("published %v, want retried once, then last", got)
	}
}
