package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// sizes returns the sizes the property test renders: every size around
// the minimum, every width at two heights and every height at two widths,
// and a grid up to 220 x 60. The race detector slows rendering about ten
// times, so under it the lines and the grid take coarser steps.
func sizes() [][2]int {
	step, line := 4, 1
	if raceEnabled {
		step, line = 13, 4
	}
	seen := map[[2]int]bool{}
	var out [][2]int
	add := func(w, h int) {
		if !seen[[2]int{w, h}] {
			seen[[2]int{w, h}] = true
			out = append(out, [2]int{w, h})
		}
	}
	for w := 1; w <= 220; w += step {
		for h := 1; h <= 60; h += step {
			add(w, h)
		}
	}
	for w := 1; w <= 220; w += line { // widths at the minimum height and at 24
		add(w, MinHeight)
		add(w, 24)
	}
	for h := 1; h <= 60; h += line { // heights at the minimum width and at 80
		add(MinWidth, h)
		add(80, h)
	}
	for w := MinWidth - 3; w <= MinWidth+3; w++ {
		for h := MinHeight - 3; h <= MinHeight+3; h++ {
			add(w, h)
		}
	}
	return out
}

// TestEverySizeFits resizes each view through every size: no panic, every
// line within the width, and from 40x10 up exactly the terminal's height.
func TestEverySizeFits(t *testing.T) {
	states := []struct {
		name  string
		setup func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader)
	}{
		{"live", nil},
		{"live_paused", func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("k")
			push(t, d, r, newDecisions(stored+1, 12))
		}},
		{"live_filter", func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("/")
			d.Type("action:deny ip:10.0.0.0/8 東京 risk>=x")
		}},
		{"detail", func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("enter")
			d.WaitFor("detail", func() bool { return (m.focus() == common.ViewDetail) })
			d.Key("pgdown")
		}},
		{"health", func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			h := fixture.Health(fixture.Now())
			h.Pipeline, h.PauseReason = "paused", "Safe-e rejected the API key (401)"
			r.SetHealth(h, nil)
			d.Key("5")
			d.Send(tickMsg{})
			d.WaitFor("paused health", func() bool { return m.h.Pipeline == "paused" })
			d.Key("j")
		}},
		{"help", func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("?")
			d.Key("j")
		}},
		{"histograms", func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("2")
			d.WaitFor("the histogram", func() bool { return !m.hist.Loading() })
			d.Key("right")
		}},
		{"journey", func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("3")
			d.WaitFor("the users", func() bool { return !m.journeys.Loading() })
			d.Key("enter")
			d.WaitFor("the journey", func() bool { return m.journeys.TimelineOpen() && !m.journeys.Loading() })
		}},
		{"whatif", func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("4")
			d.WaitFor("the matrix", func() bool { return !m.whatif.Loading() })
			d.Send(tea.KeyPressMsg{Code: tea.KeyLeft})
			d.WaitFor("the new matrix", func() bool { return !m.whatif.Loading() })
		}},
	}
	all := sizes()
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			d, m, r := start(t, 80, 24)
			if st.setup != nil {
				st.setup(t, d, m, r)
			}
			for _, sz := range all {
				w, h := sz[0], sz[1]
				d.Send(tea.WindowSizeMsg{Width: w, Height: h})
				view := d.View()
				lines := strings.Split(view, "\n")
				if w >= MinWidth && h >= MinHeight && len(lines) != h {
					t.Fatalf("%dx%d: %d lines", w, h, len(lines))
				}
				if (w < MinWidth || h < MinHeight) && len(lines) != 1 {
					t.Fatalf("%dx%d: too small, but %d lines", w, h, len(lines))
				}
				for i, l := range lines {
					if lw := ansi.StringWidth(l); lw > w {
						t.Fatalf("%dx%d: line %d is %d wide: %q", w, h, i, lw, ansi.Strip(l))
					}
				}
			}
			// Back to a normal size, the view still works.
			d.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
			checkScreen(t, d.View(), 80, 24)
		})
	}
}
