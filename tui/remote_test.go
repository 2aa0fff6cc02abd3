package tui

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// remoteToken is the token of the collector the remote flow attaches to.
const remoteToken = "tui-remote-token"

// remoteCollector runs a real collector on loopback over a store holding
// the fixture's decisions (with the times the store gives them), scoring
// with the emulator, until the test ends. It returns the collector's URL
// and the store.
func remoteCollector(t *testing.T) (string, *store.DB) {
	t.Helper()
	emu := httptest.NewServer(emulator.New(emulator.Options{Key: "k", Seed: 1}).Handler("/api/v1"))
	t.Cleanup(emu.Close)
	db, err := store.Open(filepath.Join(t.TempDir(), "remote.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var rs []store.Result
	for _, d := range fixture.Decisions(1, stored, fixture.Now()) {
		rs = append(rs, store.Result{Decision: d})
	}
	if _, err := db.Complete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	client, err := safee.New(safee.Config{BaseURL: emu.URL + "/api/v1", APIKey: "k", Timeout: 5 * time.Second, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col, err := collector.New(collector.Options{DB: db, Client: client, Mode: collector.ModeEmulator, Listener: ln,
		Token: remoteToken, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("collector: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return "http://" + col.Addr(), db
}

// The dashboard's representative flow, attached over HTTP: stored rows
// appear, a decision posted to the collector arrives live through the
// stream, the filter re-queries, the detail opens and esc comes back.
func TestFlowRemoteRowsLiveFilterDetail(t *testing.T) {
	url, db := remoteCollector(t)
	remote, err := api.Dial(url, remoteToken, api.RemoteOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	m, err := New(Options{Data: remote, Theme: "dark", Source: "collector " + url, Mode: "EMULATOR"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	f := &flow{screen: &atomic.Pointer[string]{}}
	f.tm = teatest.NewTestModel(t, recorder{m: m, screen: f.screen},
		teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	t.Cleanup(func() { _ = f.tm.Quit() })
	teatest.WaitFor(t, f.tm.Output(), func(b []byte) bool {
		plain := ansi.Strip(string(b))
		return strings.Contains(plain, "usr_006") && strings.Contains(plain, "following")
	}, teatest.WithDuration(flowWait), teatest.WithCheckInterval(10*time.Millisecond))

	// A decision posted to the collector reaches the screen through the
	// stream. The stream starts after the newest decision when it
	// connects, so post until one arrives.
	deadline := time.Now().Add(flowWait)
	for i := 1; !f.shows("usr_live_", 300*time.Millisecond); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no posted decision reached the screen in %s", flowWait)
		}
		postLive(t, url, fmt.Sprintf("usr_live_%02d", i))
	}
	f.wait(t, "following")
	for db.InboxDepth() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the posted events were not all scored")
		}
		time.Sleep(5 * time.Millisecond)
	}

	f.keys("/")
	f.wait(t, "enter apply")
	f.tm.Type("action:deny")
	f.keys("enter")
	deny, err := db.Latest(context.Background(), mustFilter(t, "action:deny"), 1)
	if err != nil || len(deny) != 1 {
		t.Fatalf("newest deny: %v", err)
	}
	// The re-query answered: only denies are listed, the newest selected.
	teatest.WaitFor(t, f.tm.Output(), func([]byte) bool {
		s := f.screen.Load()
		return s != nil && strings.Contains(*s, "filter: action:deny") && strings.Contains(*s, deny[0].UserID) &&
			!strings.Contains(*s, "ALLOW") && !strings.Contains(*s, "CHALLENGE")
	}, teatest.WithDuration(flowWait), teatest.WithCheckInterval(5*time.Millisecond))
	f.keys("enter")
	f.wait(t, "Decision "+deny[0].ID, "Signals", deny[0].UserID)
	f.keys("esc")
	f.wait(t, "TIME", "filter: action:deny")
	final := f.finalModel(t)
	screen := ansi.Strip(final.View().Content)
	if strings.Contains(screen, "ALLOW") || strings.Contains(screen, "CHALLENGE") || !strings.Contains(screen, "DENY") {
		t.Errorf("the filtered table over HTTP shows other actions or no denies:\n%s", screen)
	}
}

// shows reports whether the screen shows text within d.
func (f *flow) shows(text string, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if s := f.screen.Load(); s != nil && strings.Contains(*s, text) {
			return true
		}
	}
	return false
}

// postLive posts one login of user to the collector's ingest.
func postLive(t *testing.T, url, user string) {
	t.Helper()
	body := fmt.Sprintf(`{"type":"$login","status":"$succeeded","user":{"user_id":%q,"user_email":"live@example.com","user_ip":"198.51.100.7"}}`, user)
	req, err := http.NewRequest(http.MethodPost, url+"/v1/events", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+remoteToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("posting a live event: %s", resp.Status)
	}
}

func mustFilter(t *testing.T, expr string) *store.Filter {
	t.Helper()
	f, err := store.ParseFilter(expr, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return f
}
