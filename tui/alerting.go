package tui

import (
	"context"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// alertHistory is how many transitions the dashboard reads.
const alertHistory = 50

// fetchAlerts reads the alerts.
func (m *Model) fetchAlerts() tea.Cmd {
	data := m.c.Data
	return m.alertsReq.Go(m.c, func(ctx context.Context) (api.Alerts, error) {
		a, err := data.Alerts(ctx, api.AlertsQuery{History: alertHistory})
		if err != nil {
			err = fmt.Errorf("alerts: %w", err)
		}
		return a, err
	})
}

// alertKey names a transition.
func alertKey(e *api.AlertEvent) string {
	return e.Collector + "\x00" + e.Alert + "\x00" + e.State + "\x00" + e.At.String()
}

// onAlerts keeps the alerts for the banner, rings for each firing of a
// rule that notifies "bell" that was not in the previous answer (none for
// the first answer: what fired before the dashboard started is history),
// and hands the alerts to the views.
func (m *Model) onAlerts(msg common.Answer[api.Alerts]) tea.Cmd {
	if !m.alertsReq.Take(msg) {
		return nil
	}
	if msg.Err != nil {
		return m.broadcast(common.AlertsMsg{Err: msg.Err})
	}
	a := msg.Value
	seen := make(map[string]bool, len(a.History))
	var cmds []tea.Cmd
	for i := range a.History {
		e := &a.History[i]
		k := alertKey(e)
		seen[k] = true
		if m.alertSeen != nil && !m.alertSeen[k] && e.State == api.AlertFiring && e.Bell {
			cmds = append(cmds, tea.Raw(m.ring(e)))
		}
	}
	m.alertSeen, m.al, m.haveAlerts = seen, a, true
	return tea.Batch(append(cmds, m.broadcast(common.AlertsMsg{Alerts: a}))...)
}

// ring is what tells the user of a new firing: the terminal bell and a
// desktop notification (OSC 777 where VTE or rxvt reads it, OSC 9
// elsewhere), passed through tmux when inside it. tmux relays the bell
// itself, and the OSC only with allow-passthrough on.
func (m *Model) ring(e *api.AlertEvent) string {
	title := oscText("riskwatch: " + e.Alert + " firing")
	body := oscText(fmt.Sprintf("%s: %s", e.Alert, alertValue(e.Kind, e.Value, e.Threshold)))
	osc := "\x1b]9;" + title + ": " + body + "\x07"
	if m.term.osc777 {
		osc = "\x1b]777;notify;" + title + ";" + body + "\x07"
	}
	if m.term.tmux {
		osc = "\x1bPtmux;" + strings.ReplaceAll(osc, "\x1b", "\x1b\x1b") + "\x1b\\"
	}
	return "\a" + osc
}

// oscText makes s safe inside an OSC string: printable, without the ";"
// that separates OSC 777's fields, and short.
func oscText(s string) string {
	s = strings.ReplaceAll(common.Sanitize(s), ";", ",")
	return common.Truncate(s, 120)
}

// alertValue writes a value against its threshold in its kind's unit.
func alertValue(kind string, v, th float64) string {
	f := func(x float64) string {
		switch kind {
		case "share":
			return fmt.Sprintf("%.1f%%", 100*x)
		case "shift":
			return fmt.Sprintf("PSI %.3f", x)
		}
		return fmt.Sprintf("%.4g/min", x)
	}
	op := "<"
	if v > th {
		op = ">"
	}
	return f(v) + " " + op + " " + f(th)
}

// alertBanner is the status line's loud segment while alerts fire: the
// first firing rule and how many others fire.
func (m *Model) alertBanner() (widget.Segment, bool) {
	var firing []api.AlertStatus
	for _, s := range m.al.Alerts {
		if s.Phase == api.AlertFiring {
			firing = append(firing, s)
		}
	}
	if len(firing) == 0 {
		return widget.Segment{}, false
	}
	s := firing[0]
	name := s.Name
	if s.Collector != "" {
		name = s.Collector + ": " + name
	}
	text := "ALERT " + common.Sanitize(name) + ": " + alertValue(s.Kind, s.Value, s.Threshold)
	if n := len(firing) - 1; n > 0 {
		text += fmt.Sprintf(" (+%d more)", n)
	}
	return widget.Segment{Text: text + " · 6 Alerts", Style: m.c.Styles.Banner, Priority: 0}, true
}
