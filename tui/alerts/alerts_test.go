package alerts

import (
	"context"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

func newView(w, h int) Model {
	c := common.New(context.Background(), fixture.New(0), fixture.Now)
	c.Styles = common.NewStyles(common.Theme{Plain: true})
	m := New(c)
	m.SetSize(w, h)
	return m
}

// TestWindowFilter: the window as filter terms, since: rounded up.
func TestWindowFilter(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 30, 500, time.UTC)
	w := api.AlertWindow{From: now.Add(-90*time.Second - 500), To: now.Add(-30 * time.Second)}
	if got, want := WindowFilter("action:deny", w, now), "action:deny since:91s until:2026-11-25T10:00:00Z"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := WindowFilter("", w, now); !strings.HasPrefix(got, "since:91s ") {
		t.Errorf("no filter: %q", got)
	}
}

// TestHostileAlertText: names, filters, drivers and errors from a
// collector are sanitised and every line fits.
func TestHostileAlertText(t *testing.T) {
	m := newView(60, 12)
	at := fixture.Now()
	m, _ = m.Update(common.AlertsMsg{Alerts: api.Alerts{
		Error:  "boom\x1b[2J",
		Alerts: []api.AlertStatus{{Collector: "east\x1b]0;x\a", Name: "spike\x1b[31m", Phase: api.AlertFiring, Kind: "rate", Filter: "ip:\x1b[1m"}},
		History: []api.AlertEvent{{Alert: "spike\x07", State: api.AlertFiring, At: at, Kind: "share", Value: 0.5, Threshold: 0.2,
			Drivers: []api.AlertDriver{{Dimension: "ua\x1b", Value: "curl\x1b[0m"}}}},
	}})
	view := m.View()
	lines := strings.Split(view, "\n")
	if len(lines) != 12 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if ansi.StringWidth(l) > 60 {
			t.Errorf("line %q is too wide", ansi.Strip(l))
		}
	}
	plain := ansi.Strip(view)
	if strings.ContainsAny(plain, "\x1b\x07") {
		t.Errorf("control characters reach the screen: %q", plain)
	}
	if !strings.Contains(plain, "FIRING") || !strings.Contains(plain, "50.0% > 20.0%") {
		t.Errorf("screen:\n%s", plain)
	}
}

// TestEnterBeforeEvaluation: a rule not evaluated yet has no window to
// open.
func TestEnterBeforeEvaluation(t *testing.T) {
	m := newView(80, 10)
	m, _ = m.Update(common.AlertsMsg{Alerts: api.Alerts{Alerts: []api.AlertStatus{{Name: "new"}}}})
	_, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if cmd == nil {
		t.Fatal("enter did nothing")
	}
	if msg, ok := cmd().(common.StatusMsg); !ok || !strings.Contains(msg.Text, "not evaluated yet") {
		t.Errorf("enter gave %#v", cmd())
	}
	if !key.Matches(tea.KeyPressMsg{Code: tea.KeyEnter}, m.open) {
		t.Error("enter is not the open key")
	}
}
