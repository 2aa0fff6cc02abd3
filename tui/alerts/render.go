package alerts

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/tui/common"
)

// render returns the view's lines and the index of the selected row's
// line (-1 when there is none).
func (m Model) render() ([]string, int) {
	st := m.c.Styles
	w := m.width
	switch {
	case !m.have && m.err == nil:
		return []string{st.Dim.Render(common.Truncate("waiting for the alerts…", w))}, -1
	case !m.have:
		return []string{st.Bad.Render(common.Truncate("alerts unreadable: "+common.Sanitize(m.err.Error()), w))}, -1
	}
	var out []string
	sel := -1
	row := func(i int, text string, style lipgloss.Style) {
		mark := "  "
		if i == m.sel {
			mark, style, sel = "› ", st.Selected, len(out)
		}
		out = append(out, style.Render(common.Fit(mark+text, w, false)))
	}
	if m.err != nil {
		out = append(out, st.Bad.Render(common.Truncate("refresh failed: "+common.Sanitize(m.err.Error()), w)))
	}
	if m.a.Error != "" {
		out = append(out, st.Bad.Render(common.Truncate("evaluation failed: "+common.Sanitize(m.a.Error), w)))
	}
	out = append(out, st.Title.Render(common.Truncate("Rules", w)))
	if len(m.a.Alerts) == 0 {
		out = append(out, st.Dim.Render(common.Truncate("  no alert rules: add [[alert]] tables to the config file, or run the collector with --alerts FILE", w)))
	}
	now := m.c.Clock()
	for i, s := range m.a.Alerts {
		phase := strings.ToUpper(orDash(s.Phase))
		text := fmt.Sprintf("%-9s %s%s  %s", phase, who(s.Collector), common.Sanitize(s.Name), measure(s.Kind, s.Score, s.Value, s.Threshold))
		if s.Phase == api.AlertFiring {
			text += "  peak " + format(s.Kind, s.Peak)
		}
		if !s.Since.IsZero() {
			text += "  since " + common.Age(now, s.Since)
		}
		text += "  " + scope(s.Filter)
		row(i, text, phaseStyle(s.Phase, st))
	}
	out = append(out, "", st.Title.Render(common.Truncate("Firings and resolutions, newest first", w)))
	if len(m.a.History) == 0 {
		out = append(out, st.Dim.Render(common.Truncate("  none yet", w)))
	}
	loc := now.Location()
	for j, e := range m.a.History {
		text := fmt.Sprintf("%s %-8s %s%s  %s", e.At.In(loc).Format("01-02 15:04"), strings.ToUpper(e.State),
			who(e.Collector), common.Sanitize(e.Alert), measure(e.Kind, e.Score, e.Value, e.Threshold))
		if e.State == api.AlertResolved {
			text += "  peak " + format(e.Kind, e.Peak)
		}
		text += "  window " + e.Window.From.In(loc).Format("15:04") + "-" + e.Window.To.In(loc).Format("15:04")
		if d := drivers(e.Drivers); d != "" {
			text += "  drivers: " + d
		}
		row(len(m.a.Alerts)+j, text, phaseStyle(e.State, st))
	}
	return out, sel
}

// who names a federation's collector.
func who(collector string) string {
	if collector == "" {
		return ""
	}
	return common.Sanitize(collector) + ": "
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func phaseStyle(phase string, st *common.Styles) lipgloss.Style {
	switch phase {
	case api.AlertFiring:
		return st.Bad
	case api.AlertPending:
		return st.Warn
	case api.AlertResolved:
		return st.Good
	}
	return lipgloss.Style{}
}

// measure writes a value against its threshold in the kind's unit.
func measure(kind, score string, v, th float64) string {
	op := "≤"
	if v > th {
		op = ">"
	}
	s := format(kind, v) + " " + op + " " + format(kind, th)
	if kind == "shift" && score != "" {
		s = common.Sanitize(score) + " " + s
	}
	return s
}

// format writes v in the unit of kind: per minute, a share, a PSI.
func format(kind string, v float64) string {
	switch kind {
	case "share":
		return fmt.Sprintf("%.1f%%", 100*v)
	case "shift":
		return fmt.Sprintf("PSI %.3f", v)
	}
	return fmt.Sprintf("%.4g/min", v)
}

func scope(filter string) string {
	if filter == "" {
		return "all decisions"
	}
	return common.Sanitize(filter)
}

// drivers writes the top drivers as their filter terms (dimension=value
// when there is none), the count in the window and the excess.
func drivers(ds []api.AlertDriver) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		what := d.Term
		if what == "" {
			what = d.Dimension + "=" + d.Value
		}
		parts = append(parts, fmt.Sprintf("%s ×%d (%+.0f)", common.Sanitize(what), d.Window, d.Excess))
	}
	return strings.Join(parts, ", ")
}
