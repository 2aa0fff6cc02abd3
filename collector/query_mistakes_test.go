package collector

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
)

// recordingHandler keeps the level of every record logged through it.
type recordingHandler struct {
	mu     sync.Mutex
	levels []slog.Level
	msgs   []string
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.levels = append(h.levels, r.Level)
	h.msgs = append(h.msgs, r.Message)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) errors() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for i, l := range h.levels {
		if l >= slog.LevelError {
			out = append(out, h.msgs[i])
		}
	}
	return out
}

// TestQueryClientMistakesAre400 asks every read route, over a real HTTP
// server and store, what a client may get wrong while each parameter
// still parses: a window too long to answer, bounds in the wrong order,
// times at the ends of the calendar, limits out of range. Each is the
// client's mistake or an answerable question: a 400 with a JSON error or a
// 200, never a 500, and never an ERROR in the log (issue 19, defect 13:
// /v1/rates answered 500 and logged an ERROR per request for a window over
// 100,000 minutes).
func TestQueryClientMistakesAre400(t *testing.T) {
	logs := &recordingHandler{}
	db := openTestStore(t)
	health := func(context.Context) api.Health { return api.Health{Mode: ModeEmulator, Pipeline: PipelineRunning} }
	ts := startTestServerOn(t, db, func(o *ServerOptions) {
		o.Logger = slog.New(logs)
		o.Reader = &Reader{db: db, health: health, now: time.Now}
	})
	hs := ts.url
	completeN(t, db, "m", 5)

	const (
		epoch   = "0001-01-01T00:00:00Z"
		far     = "9999-12-31T23:59:59.999999999Z"
		now     = "2026-01-01T00:00:00Z"
		yearAgo = "2025-01-01T00:00:00Z"
	)
	win := func(from, to string) string { return "from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to) }
	routes := map[string][]string{
		"/v1/rates":              {win(yearAgo, now), win(epoch, now), win(epoch, far), "from=" + epoch, "to=" + far, win(now, yearAgo)},
		"/v1/stats":              {win(epoch, far), win(now, yearAgo), "to=" + epoch},
		"/v1/histogram":          {"score=risk&" + win(epoch, far), "score=bot&" + win(now, yearAgo)},
		"/v1/whatif":             {"score=risk&challenge=90&deny=10&" + win(epoch, far), "score=ato&challenge=-5&deny=1000"},
		"/v1/flips":              {"score=risk&challenge=90&deny=10&limit=-1", "score=risk&challenge=10&deny=20&" + win(epoch, far) + "&limit=999999999"},
		"/v1/decisions":          {win(epoch, far) + "&limit=-5", win(now, yearAgo), "limit=999999999999", "reverse=true&" + win(epoch, far)},
		"/v1/decisions/latest":   {"n=-1", "n=0", "n=999999999999", "before=" + strings.Repeat("f", 32)},
		"/v1/users":              {"limit=-1", "ip=not-an-ip", "search=" + url.QueryEscape("%\x00*")},
		"/v1/users/search":       {"limit=-1", "ip=" + url.QueryEscape("10.0.0.0/8"), "search=" + url.QueryEscape(strings.Repeat("x", 5000))},
		"/v1/users/u1/journey":   {"limit=-1", "limit=999999999999"},
		"/v1/decisions/" + "zz":  {""},
		"/v1/decisions/" + "%00": {""},
	}
	client := &http.Client{Timeout: 20 * time.Second}
	for path, queries := range routes {
		for _, q := range queries {
			u := hs + path
			if q != "" {
				u += "?" + q
			}
			resp, err := client.Get(u)
			if err != nil {
				t.Fatalf("GET %s: %v", u, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
			case resp.StatusCode >= 400 && resp.StatusCode < 500:
				var e api.WireError
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Errorf("GET %s?%s: %d without a JSON error: %s", path, q, resp.StatusCode, body)
				}
			default:
				t.Errorf("GET %s?%s: %d, want 200 or 4xx: %s", path, q, resp.StatusCode, body)
			}
		}
	}
	resp, err := client.Get(hs + "/v1/rates?" + win("1970-01-01T00:00:00Z", now))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "100000 minutes") {
		t.Errorf("a window over 100,000 minutes: %d %s, want 400 naming the limit", resp.StatusCode, body)
	}
	if errs := logs.errors(); len(errs) > 0 {
		t.Errorf("client mistakes logged %d ERRORs: %q", len(errs), errs)
	}
}
