package tui

import (
	"fmt"
	"image/color"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// The sizes every view's golden is taken at: the smallest supported, the
// classic terminal, a large one.
var goldenSizes = [][2]int{{40, 10}, {80, 24}, {200, 50}}

// goldenCase sets a dashboard up for one screen.
type goldenCase struct {
	name  string
	setup func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader)
	check func(t *testing.T, screen string, w, h int)
}

// The golden screens are plain text (ANSI stripped, as under the Ascii
// profile) of the whole terminal at a fixed clock; run
// `go test ./tui/... -update` to rewrite them after a deliberate change.
func TestGolden(t *testing.T) {
	cases := []goldenCase{
		{name: "live", check: checkLiveNumbers},
		{name: "live_paused", setup: func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("space")
			push(t, d, r, newDecisions(stored+1, 7))
		}, check: func(t *testing.T, screen string, w, h int) {
			if !strings.Contains(screen, "PAUSED 7 new") {
				t.Errorf("paused after a batch of 7: no \"PAUSED 7 new\":\n%s", screen)
			}
			// The batch was stored at 10:00:01-07; none of it may show.
			if strings.Contains(screen, "\n10:00:0") {
				t.Errorf("a row of the batch is on the paused screen:\n%s", screen)
			}
		}},
		{name: "live_filter_error", setup: func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("/")
			d.Type("action:deny risk>=x")
		}, check: func(t *testing.T, screen string, w, h int) {
			if !strings.Contains(screen, "^") {
				t.Errorf("the filter error does not point at the bad term:\n%s", screen)
			}
		}},
		{name: "detail", setup: func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("k")
			d.Key("k")
			d.Key("enter")
			d.WaitFor("the detail view", func() bool { return (m.focus() == common.ViewDetail) && m.detail.Formatted() })
		}, check: func(t *testing.T, screen string, w, h int) {
			// Decision 38 is a deny with risk 93.
			want := []string{"Decision 0000", "login / failed"}
			if h >= 24 {
				want = append(want, "Decision 00000000000000000000000000000026", "DENY", "93")
			}
			for _, want := range want {
				if !strings.Contains(screen, want) {
					t.Errorf("detail lacks %q:\n%s", want, screen)
				}
			}
		}},
		{name: "health", setup: func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("5")
			d.WaitFor("the store's counts", func() bool { return !m.health.Loading() })
		}, check: func(t *testing.T, screen string, w, h int) {
			if !strings.Contains(screen, "Pipeline") {
				t.Errorf("health lacks the pipeline line:\n%s", screen)
			}
		}},
		{name: "help", setup: func(t *testing.T, d *fixture.Driver, m *Model, r *fixture.Reader) {
			d.Key("?")
		}, check: func(t *testing.T, screen string, w, h int) {
			// Every key fits, except at 24 rows and less: Live's keys alone
			// fill them since labels, links and explain.
			want := "Global"
			if h <= 24 {
				want = "↓/j down" // it does not: say how to scroll
			}
			if !strings.Contains(screen, want) || !strings.Contains(screen, "close help") {
				t.Errorf("help overlay lacks %q:\n%s", want, screen)
			}
		}},
	}
	for _, tc := range cases {
		for _, sz := range goldenSizes {
			w, h := sz[0], sz[1]
			t.Run(fmt.Sprintf("%s/%dx%d", tc.name, w, h), func(t *testing.T) {
				d, m, r := start(t, w, h)
				if tc.setup != nil {
					tc.setup(t, d, m, r)
				}
				screen := checkScreen(t, d.View(), w, h)
				if tc.check != nil {
					tc.check(t, screen, w, h)
				}
				golden.RequireEqual(t, screen)
			})
		}
	}
}

// checkLiveNumbers compares what the Live screen says with the fixture's
// known shape: per-minute counts in the header, one row per stored
// decision with its action written out, the age of the last event.
func checkLiveNumbers(t *testing.T, screen string, w, h int) {
	var perMinute [decision.NumActions]int // 09:59: decisions 31-40
	for _, d := range fixture.Decisions(31, 10, fixture.Now()) {
		perMinute[d.Action.Index()]++
	}
	header := strings.Join(strings.Fields(screen), " ")
	if w >= 80 {
		for _, want := range []string{
			"events 10/min",
			fmt.Sprintf("allow %d/min", perMinute[decision.ActionAllow.Index()]),
			fmt.Sprintf("deny %d/min", perMinute[decision.ActionDeny.Index()]),
		} {
			if !strings.Contains(header, want) {
				t.Errorf("header lacks %q:\n%s", want, screen)
			}
		}
	}
	if h < 50 {
		return
	}
	// At 200x50 most stored rows are on screen, the newest at the
	// bottom: count their actions.
	var want, got [decision.NumActions]int
	rows := 0
	for _, line := range strings.Split(screen, "\n") {
		if !strings.HasPrefix(line, "09:5") {
			continue
		}
		rows++
		for i, a := range decision.Actions {
			if strings.Contains(line, " "+common.ActionLabel(a)+" ") {
				got[i]++
			}
		}
	}
	for _, d := range fixture.Decisions(1, stored, fixture.Now())[stored-rows:] {
		want[d.Action.Index()]++
	}
	if rows < stored*3/4 || got != want {
		t.Errorf("screen shows %d rows with actions %v (allow, challenge, deny, error), want the newest %d of %d with %v",
			rows, got, rows, stored, want)
	}
	if !strings.Contains(screen, fmt.Sprintf("%d decisions", stored)) {
		t.Errorf("the count of stored decisions is not shown:\n%s", screen)
	}
	if !strings.Contains(screen, "last event 6s ago") {
		t.Errorf("the newest decision was stored 6 s before the clock:\n%s", screen)
	}
}

func TestGoldenDetailOfError(t *testing.T) {
	d, m, _ := start(t, 80, 24)
	bad := fixture.Decision(41, fixture.Now()) // every 41st cannot be scored
	d.Send(common.OpenDetailMsg{Decision: bad})
	d.WaitFor("the detail view", func() bool { return (m.focus() == common.ViewDetail) && m.detail.Formatted() })
	screen := checkScreen(t, d.View(), 80, 24)
	for _, want := range []string{"ERROR", "Safe-e answered 400", "none: the event was not scored"} {
		if !strings.Contains(screen, want) {
			t.Errorf("error detail lacks %q:\n%s", want, screen)
		}
	}
	golden.RequireEqual(t, screen)
}

func TestGoldenScoringPaused(t *testing.T) {
	d, m, r := start(t, 80, 24)
	h := fixture.Health(fixture.Now().Add(-fixture.Step))
	h.Pipeline = "paused"
	h.PauseReason = "Safe-e rejected the API key (401): events kept"
	h.Errors["unauthorized"] = 1
	r.SetHealth(h, nil)
	d.Key("5")
	d.Send(tickMsg{}) // the refresh tick, without waiting a second for it
	d.WaitFor("a health refresh", func() bool {
		return m.h.Pipeline == "paused" && !m.healthReq.Busy() && !m.health.Loading()
	})
	screen := checkScreen(t, d.View(), 80, 24)
	if strings.Count(screen, "SCORING PAUSED: Safe-e rejected the API key") < 2 {
		t.Errorf("the pause must be loud in the view and the status line:\n%s", screen)
	}
	golden.RequireEqual(t, screen)
}

func TestGoldenJourneys(t *testing.T) {
	d, m, _ := start(t, 80, 24)
	d.Key("3")
	d.WaitFor("the users", func() bool { return !m.journeys.Loading() })
	screen := checkScreen(t, d.View(), 80, 24)
	// 17 users, usr_006 seen last (decision 40).
	for _, want := range []string{"[3 Journeys]", "Users │ sort: last seen │ 17 users", "usr_006", "enter open"} {
		if !strings.Contains(screen, want) {
			t.Errorf("journeys lacks %q:\n%s", want, screen)
		}
	}
	golden.RequireEqual(t, screen)
}

func TestHelpScrollsWhenShort(t *testing.T) {
	d, m, _ := start(t, 40, 10)
	d.Key("?")
	lines := m.helpLines()
	last := strings.TrimSpace(ansi.Strip(lines[len(lines)-1]))
	if strings.Contains(d.Screen(), last) {
		t.Fatal("the whole help fits in 40x10: nothing to test")
	}
	d.Key("G")
	if scr := d.Screen(); !strings.Contains(scr, last) || strings.Contains(scr, "pause/resume") {
		t.Errorf("G in the help should show its end:\n%s", scr)
	}
	d.Key("k")
	d.Key("g")
	if scr := d.Screen(); !strings.Contains(scr, "pause/resume") {
		t.Errorf("g should go back to the top:\n%s", scr)
	}
	for range 50 {
		d.Key("j")
	}
	d.Key("k")
	if scr := d.Screen(); strings.Contains(scr, last) {
		t.Errorf("scrolling past the end must stop there, so one k moves back:\n%s", scr)
	}
	d.Key("esc")
	if m.helpOpen || m.live.Paused() {
		t.Error("esc closes the help; keys while it was open must not reach the view")
	}
}

func TestGoldenTooSmall(t *testing.T) {
	for _, sz := range [][2]int{{39, 10}, {40, 9}, {20, 5}} {
		w, h := sz[0], sz[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			d, _, _ := start(t, w, h)
			screen := d.Screen()
			if lines := strings.Split(screen, "\n"); len(lines) != 1 || ansi.StringWidth(lines[0]) > w {
				t.Fatalf("too small: %q", screen)
			}
			if w >= len(tooSmall) && screen != tooSmall {
				t.Errorf("screen %q, want %q", screen, tooSmall)
			}
			golden.RequireEqual(t, screen)
		})
	}
}

// TestGoldenTheme keeps the colours: the whole Live screen in true colour,
// escape sequences included, in the dark and the light palette.
func TestGoldenTheme(t *testing.T) {
	for _, theme := range []string{"dark", "light"} {
		t.Run(theme, func(t *testing.T) {
			d, m, _ := start(t, 80, 24)
			if theme == "light" {
				m.setTheme(common.Theme{Dark: false})
			}
			view := d.View()
			checkScreen(t, view, 80, 24)
			if !strings.Contains(view, "\x1b[") {
				t.Fatal("no escape sequences in a true-colour screen")
			}
			golden.RequireEqual(t, view)
		})
	}
}

// The themed screen changes with the palette and the NO_COLOR switch.
func TestThemeSwitches(t *testing.T) {
	d, m, _ := start(t, 80, 24)
	dark := d.View()
	d.Send(tea.BackgroundColorMsg{Color: color.White})
	if d.View() != dark {
		t.Error("a fixed dark theme must ignore the terminal's background")
	}
	m.themeAuto = true
	d.Send(tea.BackgroundColorMsg{Color: color.White})
	light := d.View()
	if light == dark {
		t.Error("a light background did not change the palette")
	}
	d.Send(tea.EnvMsg{"TERM=xterm-256color", "NO_COLOR=1"})
	plain := d.View()
	if strings.Contains(plain, "38;2;") || strings.Contains(plain, "48;2;") {
		t.Error("NO_COLOR left colours on screen")
	}
	if !strings.Contains(plain, "DENY") {
		t.Error("NO_COLOR screen must still write the action")
	}
	d.Send(tea.BackgroundColorMsg{Color: color.Black})
	if strings.Contains(d.View(), "38;2;") {
		t.Error("a background reply brought colours back despite NO_COLOR")
	}
}
