package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

func TestReconnectReloads(t *testing.T) {
	d, m, r := start(t, 100, 24)
	ctx, cancel := context.WithTimeout(context.Background(), fixture.WaitTimeout)
	defer cancel()
	if err := r.WaitSubscribed(ctx); err != nil { // the first subscription
		t.Fatal(err)
	}
	calls := r.LatestCalls(0)
	r.Disconnect()
	d.WaitFor("the closed subscription", func() bool { return m.disconnected })
	if scr := d.Screen(); !strings.Contains(scr, "DISCONNECTED: reconnecting") {
		t.Errorf("a lost subscription must be loud:\n%s", scr)
	}
	d.Send(resubscribeMsg{}) // what the retry timer sends
	if err := r.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	d.WaitFor("reconnected and reloaded", func() bool {
		return !m.disconnected && r.LatestCalls(0) > calls && !m.live.Loading()
	})
	d.Send(resubscribeMsg{}) // a late timer must not subscribe twice
	push(t, d, r, newDecisions(stored+1, 3))
	if got := m.live.Len(); got != stored+3 {
		t.Errorf("%d rows after reconnect and a batch, want %d", got, stored+3)
	}
	if strings.Contains(d.Screen(), "DISCONNECTED") {
		t.Error("still says disconnected")
	}
}

func TestHealthErrorShown(t *testing.T) {
	d, m, r := start(t, 100, 24)
	r.SetHealth(fixture.Health(fixture.Now()), context.DeadlineExceeded)
	d.Key("5")
	d.Send(tickMsg{})
	d.WaitFor("the failed refresh", func() bool { return m.healthErr != nil })
	scr := d.Screen()
	for _, want := range []string{"collector unreachable", "refresh failed: health: context deadline exceeded"} {
		if !strings.Contains(scr, want) {
			t.Errorf("screen lacks %q:\n%s", want, scr)
		}
	}
}

func TestStatusMessageExpires(t *testing.T) {
	d, m, _ := start(t, 100, 24)
	d.Send(common.StatusMsg{Text: "copied decision JSON to clipboard"})
	if !strings.Contains(d.Screen(), "copied decision JSON") {
		t.Fatal("status message not shown")
	}
	for range statusTicks {
		m.onTick()
	}
	if strings.Contains(d.Screen(), "copied") {
		t.Error("status message outlived its ticks")
	}
}

func TestKeysRouting(t *testing.T) {
	d, m, _ := start(t, 100, 24)
	// Digits and q typed in the filter bar are text, not global keys.
	d.Key("/")
	d.Type("q risk>=5")
	if m.activeTab() != common.ViewLive || !m.live.InputActive() || m.c.Context().Err() != nil {
		t.Fatalf("typing in the filter acted globally: view %v, bar open %v", m.activeTab(), m.live.InputActive())
	}
	d.Key("esc")
	d.Key("enter")
	d.WaitFor("detail", func() bool { return (m.focus() == common.ViewDetail) })
	d.Key("5")
	if (m.focus() == common.ViewDetail) || m.activeTab() != common.ViewHealth {
		t.Error("a view key from the detail must switch and close it")
	}
	d.Key("shift+tab")
	if m.activeTab() != common.ViewWhatIf {
		t.Errorf("shift+tab from Health went to %v", m.activeTab())
	}
}

func TestStatusLineStates(t *testing.T) {
	d, m, r := start(t, 120, 24)
	status := func() string {
		lines := strings.Split(d.Screen(), "\n")
		return lines[len(lines)-2]
	}
	if got := status(); got != " EMULATOR  │ last event 6s ago │ errors 6 │ file:/var/log/app.ndjson" {
		t.Errorf("running: %q", got)
	}
	for _, tc := range []struct {
		pipeline  string
		reachable bool
		want      string
	}{
		{"paused", true, "SCORING PAUSED: key rejected"},
		{"stopped", true, "scoring stopped"},
		{"running", false, "Safe-e unreachable: retrying"},
	} {
		h := fixture.Health(fixture.Now().Add(-fixture.Step))
		h.Pipeline, h.PauseReason, h.SafeeReachable = tc.pipeline, "key rejected", tc.reachable
		r.SetHealth(h, nil)
		d.Send(tickMsg{})
		d.WaitFor("a health refresh", func() bool {
			return m.h.Pipeline == tc.pipeline && m.h.SafeeReachable == tc.reachable && !m.healthReq.Busy()
		})
		if got := status(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s, reachable %v: status %q, want it to start with %q", tc.pipeline, tc.reachable, got, tc.want)
		}
	}
	d.Key("space")
	if got := status(); !strings.Contains(got, "display paused") {
		t.Errorf("display pause not in the status line: %q", got)
	}
}

func TestQuitEndsQueriesAndProgram(t *testing.T) {
	d, m, _ := start(t, 80, 24)
	d.Key("enter")
	d.WaitFor("detail", func() bool { return m.focus() == common.ViewDetail })
	d.Key("q") // in a screen opened from a tab, q closes it
	if m.focus() != common.ViewLive || m.c.Context().Err() != nil {
		t.Fatalf("q in the detail: focus %v, context %v; want Live and the program running", m.focus(), m.c.Context().Err())
	}
	d.Key("q") // on a tab, q quits
	if m.c.Context().Err() == nil {
		t.Error("quitting must end the running queries and the subscription")
	}
	d.WaitFor("the quit message", d.Quit)
}
