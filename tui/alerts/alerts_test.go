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

// TestExplainAlert: x on a transition and on a firing rule asks the root
// for the explanation of that alert's filter, window and baseline.
func TestExplainAlert(t *testing.T) {
	to := time.Date(2026, 11, 25, 9, 40, 0, 0, time.UTC)
	win := api.AlertWindow{From: to.Add(-10 * time.Minute), To: to}
	prev := &api.AlertWindow{From: win.From.Add(-time.Hour), To: win.From}
	long := api.AlertWindow{From: to.Add(-90 * time.Minute), To: to}
	day := &api.AlertWindow{From: long.From.Add(-24 * time.Hour), To: long.To.Add(-24 * time.Hour)}
	m := newView(100, 12)
	m, _ = m.Update(common.AlertsMsg{Alerts: api.Alerts{
		Alerts: []api.AlertStatus{
			{Name: "deny spike", Phase: api.AlertFiring, Kind: "rate", Filter: "action:deny", Window: api.AlertWindow{From: to.Add(-2 * time.Minute), To: to.Add(-time.Minute)}},
		},
		History: []api.AlertEvent{
			{Alert: "deny spike", State: api.AlertFiring, At: to, Kind: "rate", Filter: "action:deny", Window: win, Baseline: prev},
			{Alert: "daily", State: api.AlertResolved, At: to, Kind: "share", Filter: "type:$login", Window: long, Baseline: day},
			{Alert: "band", State: api.AlertFiring, At: to, Kind: "rate", Filter: "", Window: win},
		},
	}})
	explainOf := func(m Model) common.ExplainMsg {
		t.Helper()
		_, cmd := m.Update(fixture.KeyPress("x"))
		if cmd == nil {
			t.Fatal("x did nothing")
		}
		msg, ok := cmd().(common.ExplainMsg)
		if !ok {
			t.Fatalf("x gave %#v", cmd())
		}
		return msg
	}
	// The firing rule: its last window, the baseline of its firing.
	if got, want := explainOf(m), (common.ExplainMsg{Filter: "action:deny", Window: "1m", Baseline: "1h", Until: "2026-11-25T09:39:00Z"}); got != want {
		t.Errorf("x on the firing rule: %+v, want %+v", got, want)
	}
	for _, c := range []struct {
		down int
		want common.ExplainMsg
	}{
		{1, common.ExplainMsg{Filter: "action:deny", Window: "10m", Baseline: "1h", Until: "2026-11-25T09:40:00Z"}},
		{2, common.ExplainMsg{Filter: "type:$login", Window: "1h30m", Baseline: "1d", Until: "2026-11-25T09:40:00Z"}},
		{3, common.ExplainMsg{Filter: "", Window: "10m", Until: "2026-11-25T09:40:00Z"}},
	} {
		m.sel = c.down
		if got := explainOf(m); got != c.want {
			t.Errorf("x on history row %d: %+v, want %+v", c.down, got, c.want)
		}
	}
	// A rule not evaluated yet has no window.
	m, _ = m.Update(common.AlertsMsg{Alerts: api.Alerts{Alerts: []api.AlertStatus{{Name: "new"}}}})
	if _, cmd := m.Update(fixture.KeyPress("x")); cmd == nil {
		t.Error("x before an evaluation says nothing")
	} else if _, ok := cmd().(common.StatusMsg); !ok {
		t.Errorf("x before an evaluation: %#v", cmd())
	}
}
