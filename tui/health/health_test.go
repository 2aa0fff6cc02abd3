package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

func newHealth(w, h int) Model {
	c := common.New(context.Background(), fixture.New(0), fixture.Now)
	c.Styles = common.NewStyles(common.Theme{Plain: true})
	m := New(c)
	m.SetSize(w, h)
	return m
}

func show(m Model, h api.Health, err error) Model {
	m, _ = m.Update(common.HealthMsg{Health: h, Err: err})
	return m
}

func screen(t *testing.T, m Model) string {
	t.Helper()
	lines := strings.Split(m.View(), "\n")
	if len(lines) != m.height {
		t.Fatalf("%d lines, want %d", len(lines), m.height)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > m.width {
			t.Fatalf("line %q is %d wide in %d", ansi.Strip(l), w, m.width)
		}
	}
	return ansi.Strip(m.View())
}

// TestHealthShowsEveryCounter checks each counter of the snapshot, and
// the store's throughput and totals against a recount of its decisions.
func TestHealthShowsEveryCounter(t *testing.T) {
	h := fixture.Health(fixture.Now().Add(-3 * time.Second))
	h.Errors["quota"] = 2 // a kind this version does not name: still shown
	r := fixture.New(40)
	c := common.New(context.Background(), r, fixture.Now)
	c.Styles = common.NewStyles(common.Theme{Plain: true})
	m := New(c)
	m.SetSize(120, 40)
	m, _ = m.Update(m.loadStore()())
	m = show(m, h, nil)
	scr := screen(t, m)

	var by [decision.NumActions]uint64
	var thisMinute, busiest uint64
	perMinute := map[time.Time]uint64{}
	for _, d := range r.All() {
		by[d.Action.Index()]++
		perMinute[d.EventTime.Truncate(time.Minute)]++
	}
	for minute, n := range perMinute {
		busiest = max(busiest, n)
		if minute.Equal(fixture.Now().Truncate(time.Minute)) {
			thisMinute = n
		}
	}
	for _, want := range []string{
		"running · mode EMULATOR · Safe-e http://127.0.0.1:7677/api/v1 · reachable",
		"inbox 12 · in flight 4 · retries 7 · breaker closed",
		"unauthorized 0 · bad_event 0 · retryable 5 · timeout 1 · network 0 · quota 2",
		"p50 45ms ", "p99 180ms ", "highest each minute",
		"200 ×1,234 · 429 ×3 · 503 ×2",
		"/home/u/.local/share/riskwatch/riskwatch.db · 12.3 MiB · 1,234 decisions · 3 rejected",
		"updated just now · last event 3s ago",
		"11-25 09:59:00 file:/var/log/app.ndjson offset 9120: not JSON",
		"11-24 08:00:00 file:/var/log/app.ndjson offset 512: no type",
		"12,345",
		"2.0 KiB",
		fmt.Sprintf("allow %d · challenge %d · deny %d · error %d", by[0], by[1], by[2], by[3]),
		fmt.Sprintf("%d/min this minute", thisMinute),
		fmt.Sprintf("busiest %d/min in the last 60m", busiest),
	} {
		if !strings.Contains(scr, want) {
			t.Errorf("health lacks %q:\n%s", want, scr)
		}
	}
	golden.RequireEqual(t, scr)
}

func TestHealthPausedIsLoud(t *testing.T) {
	h := fixture.Health(fixture.Now())
	h.Pipeline, h.PauseReason = "paused", "Safe-e rejected the API key (401)\x1b[2J"
	h.Breaker, h.SafeeReachable = "open", false
	m := show(newHealth(80, 12), h, nil)
	raw := m.View()
	if strings.Contains(raw, "\x1b[2J") {
		t.Fatal("the pause reason's escape sequence reached the screen")
	}
	scr := ansi.Strip(raw)
	first := strings.SplitN(scr, "\n", 2)[0]
	if !strings.HasPrefix(first, "SCORING PAUSED: Safe-e rejected the API key (401)") {
		t.Errorf("the banner must be the first line: %q", first)
	}
	// Scrolling moves the body, never the banner.
	for range 30 {
		m, _ = m.Update(fixture.KeyPress("j"))
	}
	if got := strings.SplitN(screen(t, m), "\n", 2)[0]; got != first {
		t.Errorf("banner scrolled away: %q", got)
	}
	for _, want := range []string{"UNREACHABLE", "breaker open"} {
		if !strings.Contains(scr, want) {
			t.Errorf("lacks %q:\n%s", want, scr)
		}
	}
	if PauseText(api.Health{Pipeline: "paused"}) != "SCORING PAUSED: no reason given" {
		t.Error("a pause without a reason must still say so")
	}
}

func TestHealthStates(t *testing.T) {
	m := newHealth(60, 10)
	if !m.Loading() || !strings.Contains(screen(t, m), "waiting for the collector") {
		t.Error("before the first snapshot")
	}
	m = show(m, api.Health{}, errors.New("dial tcp: connection refused"))
	if scr := screen(t, m); !strings.Contains(scr, "collector unreachable: dial tcp: connection refused") {
		t.Errorf("first refresh failed:\n%s", scr)
	}
	m = show(m, fixture.Health(fixture.Now()), nil)
	m = show(m, api.Health{}, errors.New("timeout"))
	scr := screen(t, m)
	if !strings.Contains(scr, "refresh failed: timeout") || !strings.Contains(scr, "inbox 12") {
		t.Errorf("a failed refresh keeps the last snapshot and says so:\n%s", scr)
	}
	h := fixture.Health(fixture.Now())
	h.Sources = nil
	h.StatusCodes = nil
	m = show(newHealth(60, 20), h, nil)
	scr = screen(t, m)
	if !strings.Contains(scr, "no sources configured") || !strings.Contains(scr, "none yet") {
		t.Errorf("empty lists:\n%s", scr)
	}
}

func TestHealthScrollClamps(t *testing.T) {
	m := show(newHealth(40, 5), fixture.Health(fixture.Now()), nil)
	total := len(m.lines())
	m, _ = m.Update(fixture.KeyPress("end"))
	if m.offset != total-5 {
		t.Errorf("end: offset %d, want %d", m.offset, total-5)
	}
	m, _ = m.Update(fixture.KeyPress("pgdown"))
	if m.offset != total-5 {
		t.Error("scrolled past the end")
	}
	m, _ = m.Update(fixture.KeyPress("home"))
	m, _ = m.Update(fixture.KeyPress("up"))
	if m.offset != 0 {
		t.Errorf("offset %d above the top", m.offset)
	}
	// A snapshot with fewer lines clamps the offset.
	m, _ = m.Update(fixture.KeyPress("end"))
	short := fixture.Health(fixture.Now())
	short.Sources = nil
	m = show(m, short, nil)
	if m.offset > len(m.lines())-5 {
		t.Errorf("offset %d beyond %d lines", m.offset, len(m.lines()))
	}
	screen(t, m)
}

func TestHealthEverySize(t *testing.T) {
	h := fixture.Health(fixture.Now())
	h.Pipeline = "paused"
	for w := 1; w <= 120; w += 7 {
		for hh := 1; hh <= 30; hh += 3 {
			m := show(newHealth(w, hh), h, nil)
			m, _ = m.Update(fixture.KeyPress("j"))
			screen(t, m)
		}
	}
}

// TestHealthBeforeItsSize is the order a fast terminal produces: the first
// health snapshot (with sources) arrives before the first window size. The
// view must wait for its size, not panic on a table of negative width.
func TestHealthBeforeItsSize(t *testing.T) {
	h := fixture.Health(fixture.Now())
	if len(h.Sources) == 0 {
		t.Fatal("the fixture has no sources: the table would not be drawn")
	}
	c := common.New(context.Background(), fixture.New(0), fixture.Now)
	c.Styles = common.NewStyles(common.Theme{Plain: true})
	m := New(c)
	m = show(m, h, nil)
	if v := m.View(); v != "" {
		t.Fatalf("view before a size = %q, want empty", v)
	}
	m.SetSize(80, 20)
	if scr := screen(t, m); !strings.Contains(scr, "Sources") {
		t.Fatalf("after sizing, no sources section:\n%s", scr)
	}
}

// TestHealthShowsKafkaPartitions lists a Kafka source's partitions under
// its row, the ones furthest behind first, and its total lag in records.
func TestHealthShowsKafkaPartitions(t *testing.T) {
	h := fixture.Health(fixture.Now())
	k := api.Source{Name: "kafka:events", State: "reading", LinesRead: 900}
	for p := range int32(10) {
		k.Partitions = append(k.Partitions, api.Partition{Partition: p, Offset: 100, HighWatermark: 100 + int64(p), Lag: int64(p)})
	}
	k.Partitions[0].HighWatermark = -1
	h.Sources = append(h.Sources, k)
	scr := screen(t, show(newHealth(100, 60), h, nil))
	for _, want := range []string{
		"45 rec",
		"partition 9: offset 100 · end 109 · lag 9",
		"partition 2: offset 100 · end 102 · lag 2",
		"2 more partitions, lag 1",
	} {
		if !strings.Contains(scr, want) {
			t.Errorf("health lacks %q:\n%s", want, scr)
		}
	}
	if strings.Contains(scr, "partition 1:") || strings.Index(scr, "partition 9:") > strings.Index(scr, "partition 8:") {
		t.Errorf("want the 8 partitions furthest behind, furthest first:\n%s", scr)
	}
	for w := 1; w <= 100; w += 9 {
		screen(t, show(newHealth(w, 60), h, nil))
	}
}
