package common

import (
	"fmt"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/riskwatch/riskwatch/decision"
)

func TestPlainStylesHaveNoColour(t *testing.T) {
	st := NewStyles(Theme{Plain: true})
	for i := range st.Action {
		out := st.Action[i].Render("DENY")
		if strings.Contains(out, "38;") || strings.Contains(out, "48;") {
			t.Errorf("plain action style emits colour: %q", out)
		}
	}
	if out := st.Selected.Render("row"); !strings.Contains(out, "\x1b[7m") {
		t.Errorf("plain selection must use reverse video, got %q", out)
	}
}

func TestPalettesDiffer(t *testing.T) {
	dark := NewStyles(Theme{Dark: true}).Action[decision.ActionDeny.Index()].Render("DENY")
	light := NewStyles(Theme{Dark: false}).Action[decision.ActionDeny.Index()].Render("DENY")
	if dark == light {
		t.Errorf("dark and light palettes render deny the same: %q", dark)
	}
	if !strings.Contains(dark, "38;2;") {
		t.Errorf("dark deny has no true-colour foreground: %q", dark)
	}
}

func TestActionStyleUnknown(t *testing.T) {
	st := NewStyles(Theme{Dark: true})
	if got := st.ActionStyle("weird").Render("x"); got != st.Bold.Render("x") {
		t.Errorf("unknown action style = %q", got)
	}
}

// TestPaletteGolden keeps every style of each theme, escape sequences
// included (true colour), so a palette change is a deliberate one.
func TestPaletteGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		theme Theme
	}{{"dark", Theme{Dark: true}}, {"light", Theme{}}, {"plain", Theme{Plain: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			st := NewStyles(tc.theme)
			var b strings.Builder
			swatch := func(name string, s lipgloss.Style) {
				b.WriteString(fmt.Sprintf("%-12s %s\n", name, s.Render("sample")))
			}
			for _, sw := range []struct {
				name  string
				style lipgloss.Style
			}{
				{"Brand", st.Brand}, {"Tab", st.Tab}, {"TabActive", st.TabActive}, {"Title", st.Title},
				{"Label", st.Label}, {"Dim", st.Dim}, {"Bold", st.Bold}, {"Selected", st.Selected},
				{"TableHeader", st.TableHeader}, {"Good", st.Good}, {"Warn", st.Warn}, {"Bad", st.Bad},
				{"Banner", st.Banner}, {"Emulator", st.Emulator}, {"StatusText", st.StatusText},
				{"StatusInfo", st.StatusInfo}, {"StatusWarn", st.StatusWarn}, {"StatusErr", st.StatusErr},
				{"HelpKey", st.HelpKey}, {"HelpDesc", st.HelpDesc}, {"FilterPrompt", st.FilterPrompt},
				{"FilterError", st.FilterError},
			} {
				swatch(sw.name, sw.style)
			}
			for i, a := range decision.Actions {
				swatch("Action "+string(a), st.Action[i])
			}
			for i := range st.Spark {
				swatch(fmt.Sprintf("Spark %d", i), st.Spark[i])
			}
			golden.RequireEqual(t, b.String())
		})
	}
}
