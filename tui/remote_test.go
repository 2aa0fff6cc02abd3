package tui

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// The dashboard's representative flow, attached over HTTP: stored rows
// appear, a decision posted to the collector arrives live through the
// stream, the filter re-queries, the detail opens and esc comes back.
func TestFlowRemoteRowsLiveFilterDetail(t *testing.T) {
	c := startCollector(t, fixture.Decisions(1, stored, fixture.Now()))
	url, db := c.URL, c.DB
	remote, err := api.Dial(url, remoteToken, api.RemoteOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	m, err := New(Options{Data: remote, Theme: "dark", Source: "collector " + url, Mode: "EMULATOR"})
	if err != nil {
		t.Fatal(err)
	}
	f := startFlow(t, m, nil, "usr_006", "following")

	// A decision posted to the collector reaches the screen through the
	// stream. The stream starts after the newest decision when it
	// connects, so post until one arrives.
	deadline := time.Now().Add(flowWait)
	for i := 1; !f.shows("usr_live_", 300*time.Millisecond); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no posted decision reached the screen in %s", flowWait)
		}
		c.post(t, loginEvent(fmt.Sprintf("usr_live_%02d", i)))
	}
	f.wait(t, "following")
	c.waitScored(t, stored+1)

	f.keys("/")
	f.wait(t, "enter apply")
	f.tm.Type("action:deny")
	f.keys("enter")
	deny, err := db.Latest(context.Background(), mustFilter(t, "action:deny"), 1, "")
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

// shows reports whether the screen shows text within d, checking after
// each update.
func (f *flow) shows(text string, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		if s := f.screen.Load(); s != nil && strings.Contains(*s, text) {
			return true
		}
		select {
		case <-f.updated:
		case <-timer.C:
			return false
		}
	}
}

func mustFilter(t *testing.T, expr string) *decision.Filter {
	t.Helper()
	f, err := decision.ParseFilter(expr, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A federation with one collector down shows the other's decisions and
// names the one that cannot be reached in the status line.
func TestFlowFederationNamesTheCollectorDown(t *testing.T) {
	c := startCollector(t, fixture.Decisions(1, stored, fixture.Now()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	fed, err := api.DialAll([]string{c.URL, down}, remoteToken, api.RemoteOptions{Timeout: 5 * time.Second,
		MinBackoff: time.Hour, MaxBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer fed.Close()
	m, err := New(Options{Data: fed, Theme: "dark", Source: "impls", Mode: api.ModeEmulator})
	if err != nil {
		t.Fatal(err)
	}
	f := startFlow(t, m, nil, "usr_006", "following")
	f.wait(t, "collector "+down+" unreachable")
	f.keys("5")
	f.wait(t, "[5 Health]", c.URL+" http")
}
