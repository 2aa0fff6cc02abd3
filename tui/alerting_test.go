package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// firingAlerts is one rule firing since a minute before the fixed clock,
// with its firing (ringing the bell) in the history.
func firingAlerts(name string, at time.Time) api.Alerts {
	w := api.AlertWindow{From: at.Add(-time.Minute), To: at}
	return api.Alerts{
		Alerts: []api.AlertStatus{{Name: name, Kind: "rate", Filter: "action:deny", Phase: api.AlertFiring,
			Since: at, LastEval: at, Value: 240, Threshold: 100, Peak: 240, Window: w}},
		History: []api.AlertEvent{{Alert: name, State: api.AlertFiring, At: at, Kind: "rate", Value: 240, Threshold: 100,
			Peak: 240, Filter: "action:deny", Window: w, Bell: true,
			Drivers: []api.AlertDriver{{Dimension: "ip24", Value: "203.0.113.0/24", Window: 180, Excess: 170, Term: "ip:203.0.113.0/24"}}}},
	}
}

// TestAlertBannerOnEveryView: while an alert fires, every view's status
// line says so; once it resolves the banner goes.
func TestAlertBannerOnEveryView(t *testing.T) {
	d, m, r := start(t, 120, 30)
	r.SetAlerts(firingAlerts("deny spike", fixture.Now().Add(-time.Minute)))
	d.WaitFor("the firing alert", func() bool { return len(m.al.Alerts) == 1 })
	for _, k := range []string{"1", "2", "3", "4", "5", "6"} {
		d.Key(k)
		scr := checkScreen(t, d.View(), 120, 30)
		if !strings.Contains(scr, "ALERT deny spike: 240/min > 100/min") {
			t.Errorf("view %s has no alert banner:\n%s", k, scr)
		}
	}
	r.SetAlerts(api.Alerts{Alerts: []api.AlertStatus{{Name: "deny spike", Phase: api.AlertResolved}}})
	d.WaitFor("the resolution", func() bool { return m.al.Alerts[0].Phase == api.AlertResolved })
	if scr := checkScreen(t, d.View(), 120, 30); strings.Contains(scr, "ALERT") {
		t.Errorf("the banner outlives the firing:\n%s", scr)
	}
}

// TestAlertRingsOnNewFiring: a firing already in the first answer does
// not ring; a new one rings the bell and sends a desktop notification,
// wrapped for tmux inside tmux.
func TestAlertRingsOnNewFiring(t *testing.T) {
	r := fixture.New(stored)
	old := firingAlerts("old", fixture.Now().Add(-time.Hour))
	r.SetAlerts(old)
	m, err := New(testOptions(r))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	d := fixture.NewDriver(t, m, 120, 30)
	d.WaitFor("the first alerts", func() bool { return m.haveAlerts })
	d.Send(tea.EnvMsg{"TMUX=/tmp/tmux-0/default,1,0"})
	next := firingAlerts("deny spike", fixture.Now())
	next.History = append(next.History, old.History...)
	r.SetAlerts(next)
	var raw string
	d.WaitMsg("the ring", func(msg tea.Msg) bool {
		if rm, ok := msg.(tea.RawMsg); ok {
			raw, _ = rm.Msg.(string)
			return true
		}
		return false
	})
	if !strings.HasPrefix(raw, "\a\x1bPtmux;\x1b\x1b]9;riskwatch: deny spike firing: deny spike: 240/min > 100/min\a\x1b\\") {
		t.Errorf("ring %q", raw)
	}
	if strings.Contains(raw, "old") {
		t.Errorf("a firing from before the dashboard started rang: %q", raw)
	}
}

// TestAlertsViewOpensTheWindowInLive: enter on a firing opens Live on the
// alert's filter over its window.
func TestAlertsViewOpensTheWindowInLive(t *testing.T) {
	d, m, r := start(t, 160, 30)
	at := fixture.Now().Add(-2 * time.Minute)
	r.SetAlerts(firingAlerts("deny spike", at))
	d.WaitFor("the alerts", func() bool { return len(m.al.Alerts) == 1 })
	d.Key("6")
	scr := checkScreen(t, d.View(), 160, 30)
	for _, want := range []string{"FIRING    deny spike  240/min > 100/min", "drivers: ip:203.0.113.0/24 ×180 (+170)"} {
		if !strings.Contains(scr, want) {
			t.Errorf("the Alerts view lacks %q:\n%s", want, scr)
		}
	}
	d.Key("j")
	d.Key("enter")
	d.WaitFor("Live", func() bool { return m.focus() == common.ViewLive })
	want := "action:deny since:3m until:" + at.UTC().Format(time.RFC3339)
	if got := m.live.Filter(); got != want {
		t.Errorf("Live's filter %q, want %q", got, want)
	}
}

// TestAlertsViewExplainsTheWindow: x on a firing opens the Explain view
// on the alert's filter over its window, ending when the window ended.
func TestAlertsViewExplainsTheWindow(t *testing.T) {
	d, m, r := start(t, 160, 30)
	at := fixture.Now().Add(-2 * time.Minute)
	r.SetAlerts(firingAlerts("deny spike", at))
	d.WaitFor("the alerts", func() bool { return len(m.al.Alerts) == 1 })
	d.Key("6")
	d.Key("j")
	d.Key("x")
	d.WaitFor("Explain", func() bool { return m.focus() == common.ViewExplain })
	q := m.explain.Query()
	if q.Filter != "action:deny" || q.Window != "1m" || q.Until != at.UTC().Format(time.RFC3339Nano) {
		t.Errorf("Explain asks %+v, want action:deny over the minute to %s", q, at.UTC())
	}
	d.WaitFor("the explanation", func() bool { return !m.explain.Loading() })
	if scr := d.Screen(); !strings.Contains(scr, "Explain") {
		t.Errorf("the Explain view is not shown:\n%s", scr)
	}
}
