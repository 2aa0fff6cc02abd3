package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// stored is how many decisions the test collector holds: 09:56:00 to
// 09:59:54, one every 6 s, the newest 6 s before the fixed clock.
const stored = 40

// testOptions are the options of every test dashboard: the fixture, the
// fixed clock, a dark theme (no background query), EMULATOR mode.
func testOptions(r *fixture.Reader) Options {
	return Options{
		Data:   r,
		Theme:  "dark",
		Clock:  fixture.Now,
		Source: "file:/var/log/app.ndjson",
		Mode:   "EMULATOR",
	}
}

// start runs a dashboard on a fixture of stored decisions at w x h and
// waits for its first rows, rates, health and subscription.
func start(t testing.TB, w, h int) (*fixture.Driver, *Model, *fixture.Reader) {
	t.Helper()
	r := fixture.New(stored)
	m, err := New(testOptions(r))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	d := fixture.NewDriver(t, m, w, h)
	d.WaitFor("first rows, rates, health and subscription", func() bool {
		return !m.live.Loading() && m.haveHealth && m.sub != nil
	})
	return d, m, r
}

// push delivers decisions through the fixture's subscription and waits
// until the dashboard has taken them.
func push(t testing.TB, d *fixture.Driver, r *fixture.Reader, ds []decision.Decision) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fixture.WaitTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Push(ctx, api.Batch{Decisions: ds}) }()
	d.WaitMsg("the pushed batch", func(msg tea.Msg) bool {
		b, ok := msg.(subBatchMsg)
		return ok && len(b.batch.Decisions) == len(ds) && (len(ds) == 0 || b.batch.Decisions[0].ID == ds[0].ID)
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// newDecisions returns decisions numbered first.. stored one second apart
// from Now+1s.
func newDecisions(first, n int) []decision.Decision {
	ds := make([]decision.Decision, n)
	for k := range ds {
		ds[k] = fixture.Decision(first+k, fixture.Now().Add(time.Duration(k+1)*time.Second))
	}
	return ds
}

// checkScreen fails unless the screen is exactly h lines of at most w
// cells, and returns it as plain text.
func checkScreen(t testing.TB, view string, w, h int) string {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Fatalf("%dx%d: screen has %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Fatalf("%dx%d: line %d is %d wide: %q", w, h, i, lw, ansi.Strip(l))
		}
	}
	return ansi.Strip(view)
}
