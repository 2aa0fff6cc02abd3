package widget

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/riskwatch/riskwatch/tui/common"
)

// TestWidgetsGolden keeps the plain-text look of the filter bar in its
// states and of the help at two sizes.
func TestWidgetsGolden(t *testing.T) {
	st := common.NewStyles(common.Theme{Plain: true})
	var b strings.Builder
	section := func(title, body string) {
		b.WriteString("== " + title + "\n" + ansi.Strip(body) + "\n")
	}
	for _, tc := range []struct {
		title, expr string
		width       int
	}{
		{"empty bar", "", 60},
		{"valid expression", "action:deny risk>=60 since:15m", 60},
		{"bad term", "action:deny ip:10.0.0.0/33", 60},
		{"bad term, narrow", "action:deny ip:10.0.0.0/33", 30},
		{"unknown field", "foo:bar", 60},
	} {
		f := newBar()
		f.Open(tc.expr)
		section(tc.title, f.View(tc.width, st))
	}
	groups := []HelpGroup{{Title: "Live", Bindings: bindings()}, {Title: "Global", Bindings: bindings()[:2]}}
	section("full help 80x20", FullHelp(80, 20, st, groups...))
	section("full help 60x4", FullHelp(60, 4, st, groups...))
	section("short help 40", ShortHelp(40, st, bindings()...))
	golden.RequireEqual(t, b.String())
}
