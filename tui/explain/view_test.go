package explain

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// spiked is an hour of the fixture's traffic (one decision every 6 s, all
// from 203.0.113.0/24), then ten minutes with 60 more from
// 198.51.100.0/24 with curl.
func spiked() []decision.Decision {
	now := fixture.Now()
	ds := fixture.Decisions(1, 700, now.Add(-fixture.Step))
	for i := range 60 {
		d := fixture.Decision(1000+i, now.Add(-time.Duration(5+9*i)*time.Second))
		d.IP, d.UserAgent = fmt.Sprintf("198.51.100.%d", 1+i), "curl/8.5.0"
		ds = append(ds, d)
	}
	return ds
}

// run drives the view alone on r at w x h, opened on filter, and waits
// for its answer.
func run(t *testing.T, r api.Reader, filter string, w, h int) (*fixture.Driver, *fixture.Host[Model]) {
	t.Helper()
	c := common.New(context.Background(), r, fixture.Now)
	host := &fixture.Host[Model]{
		M:       New(c),
		Start:   func(m *Model) tea.Cmd { return m.Open(filter, "", "", "") },
		Size:    func(m *Model, w, h int) { m.SetSize(w, h) },
		ForRoot: fixture.ForRoot,
	}
	d := fixture.NewDriver(t, host, w, h)
	waitAnswer(d, host)
	return d, host
}

func waitAnswer(d *fixture.Driver, host *fixture.Host[Model]) {
	d.WaitFor("the explanation", func() bool { return !host.M.Loading() && (host.M.data != nil || host.M.err != nil) })
}

func TestGolden(t *testing.T) {
	_, host := run(t, fixture.NewWith(spiked()), "", 120, 12)
	ascii, plain := fixture.Screen(t, host.M.View(), 120, 12)
	fixture.Contains(t, plain, "Explain all decisions", "against the 1h before", "ip24=198.51.100.0/24 + ua_family=curl", "RATE")
	golden.RequireEqual(t, ascii)
}

// enter shows Live filtered to the driver within the view's filter; w, b
// and m ask again.
func TestKeys(t *testing.T) {
	d, host := run(t, fixture.NewWith(spiked()), "type:$login", 110, 12)
	if len(host.M.data.Drivers) == 0 {
		t.Fatalf("no driver:\n%s", d.Screen())
	}
	d.Key("enter")
	d.WaitFor("the Live filter", func() bool { return len(host.Sent()) > 0 })
	sent := host.Sent()
	if len(sent) != 1 || sent[0] != (common.LiveFilterMsg{Filter: "type:$login ip:198.51.100.0/24 ua:curl"}) {
		t.Errorf("enter sent %#v", sent)
	}
	d.Key("w")
	waitAnswer(d, host)
	d.Key("b")
	waitAnswer(d, host)
	d.Key("m")
	waitAnswer(d, host)
	if q := host.M.Query(); q.Window != "30m" || q.Baseline != "24h" || q.Mode != api.ExplainDeny || q.Filter != "type:$login" {
		t.Errorf("query %+v", q)
	}
	fixture.Contains(t, d.Screen(), "denies against")
}

// A bad filter says why, and nothing else is there to select.
func TestError(t *testing.T) {
	d, host := run(t, fixture.NewWith(spiked()), "risk>=x", 80, 8)
	fixture.Contains(t, d.Screen(), "explain failed", "filter")
	d.Key("enter")
	if len(host.Sent()) != 0 {
		t.Errorf("enter without a driver sent %v", host.Sent())
	}
}

// Only the answer to the latest query is shown: w pressed twice before
// the first answer leaves the view on the second window.
func TestStaleAnswerDropped(t *testing.T) {
	d, host := run(t, fixture.NewWith(spiked()), "", 80, 8)
	d.Key("w")
	d.Key("w")
	waitAnswer(d, host)
	if q := host.M.Query(); q.Window != "1h" || host.M.data.Window.To.Sub(host.M.data.Window.From) != time.Hour {
		t.Errorf("window %s, answer for %v", q.Window, host.M.data.Window)
	}
}

// An alert's window ends in the past: opened with until, the view
// explains the window ending then, and opened again without, one ending
// now.
func TestOpenUntil(t *testing.T) {
	until := fixture.Now().Add(-30 * time.Minute).UTC()
	c := common.New(context.Background(), fixture.NewWith(spiked()), fixture.Now)
	host := &fixture.Host[Model]{
		M:       New(c),
		Start:   func(m *Model) tea.Cmd { return m.Open("action:deny", "5m", "24h", until.Format(time.RFC3339)) },
		Size:    func(m *Model, w, h int) { m.SetSize(w, h) },
		ForRoot: fixture.ForRoot,
	}
	d := fixture.NewDriver(t, host, 100, 10)
	waitAnswer(d, host)
	if e := host.M.data; e == nil || !e.Window.To.Equal(until) || e.Window.To.Sub(e.Window.From) != 5*time.Minute {
		t.Fatalf("answer %+v, err %v; want the 5m to %s", e, host.M.err, until)
	}
	if q := host.M.Query(); q.Filter != "action:deny" || q.Baseline != "24h" {
		t.Errorf("query %+v", q)
	}
	d.Send(tea.BatchMsg{host.M.Open("", "", "", "")})
	waitAnswer(d, host)
	if e := host.M.data; e == nil || !e.Window.To.Equal(fixture.Now()) {
		t.Errorf("reopened without until: %+v", e)
	}
}
