package hist

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// run drives the view alone on r at w x h and waits for its first chart.
func run(t *testing.T, r api.Reader, w, h int) (*fixture.Driver, *fixture.Host[Model]) {
	t.Helper()
	c := common.New(context.Background(), r, fixture.Now)
	host := fixture.ViewHost(New(c))
	d := fixture.NewDriver(t, host, w, h)
	waitData(d, host)
	return d, host
}

func waitData(d *fixture.Driver, host *fixture.Host[Model]) {
	d.WaitFor("the histogram", func() bool { return host.M.data != nil && !host.M.req.Busy() })
}

// screen checks the view is exactly its size and returns it as the ASCII
// profile shows it, and as plain text.
func screen(t *testing.T, m Model) (ascii, plain string) {
	t.Helper()
	return fixture.Screen(t, m.View(), m.width, m.height)
}

// The shaped data's last hour holds 100 scored decisions, heavy at low
// risk (40, 20, 12, 8, 6, 5, 4, 3, 1, 1 per decade), and the hour before
// 60 (30, 15, 6, 4, 2, 1, 1, 0, 0, 1). Each golden selects a bar with
// left/right and checks its count, share, split and comparison.
func TestGolden(t *testing.T) {
	tests := []struct {
		w, h   int
		rights int // bars to move right from 0
		want   []string
	}{
		// 34 chart columns: bars of 10 points. Decade 4 holds 6.
		{40, 10, 4, []string{"[risk]", "[1h]", "risk 40-49: 6 of 100 (6.0%)"}},
		// 74 columns: bars of 5 points. 40, 42, 43 now; 40, 43 before.
		{80, 24, 8, []string{"100 scored", "prev 60 +67%", "┊≥50 ┃≥80 what-if", "╎≥50 ╏≥80 today's policy", "│ prev",
			"risk 40-44: 3 of 100 (3.0%) │ allow 3 (100.0%) │ challenge 0 │ deny 0",
			"prev 1h 2 +50%", "enter: show in Live"}},
		// 194 columns: bars of 2 points. Only 70 is in 70-71, challenged;
		// nothing was there the hour before.
		{200, 50, 35, []string{"risk 70-71: 1 of 100 (1.0%)", "challenge 1 (100.0%)", "prev 1h 0 new"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%dx%d", tc.w, tc.h), func(t *testing.T) {
			d, host := run(t, fixture.NewShaped(), tc.w, tc.h)
			d.PressN("right", tc.rights)
			ascii, plain := screen(t, host.M)
			fixture.Contains(t, plain, tc.want...)
			golden.RequireEqual(t, ascii)
		})
	}
}

func TestLogScaleGolden(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), 80, 24)
	before := host.M.View()
	d.Key("l")
	ascii, plain := screen(t, host.M)
	if host.M.View() == before {
		t.Fatal("the log scale drew the same chart")
	}
	fixture.Contains(t, plain, "log scale")
	golden.RequireEqual(t, ascii)
}

// Counting by hand what the view must show for a score and window.
func countIn(r *fixture.Reader, s decision.Score, win common.Window, lo, hi int) (total, in uint64) {
	from, to := win.Bounds(fixture.Now())
	for _, d := range r.All() {
		if d.Action == decision.ActionError || d.Time.Before(from) || !d.Time.Before(to) {
			continue
		}
		total++
		if b := decision.Bucket(d.ScoreValue(s)); b >= lo && b < hi {
			in++
		}
	}
	return total, in
}

func TestScoreAndWindowKeys(t *testing.T) {
	r := fixture.NewShaped()
	d, host := run(t, r, 80, 24)
	d.Key("t")
	waitData(d, host)
	if host.M.Score() != decision.ScoreATO || host.M.data.score != decision.ScoreATO {
		t.Fatalf("score %s, data %s", host.M.Score(), host.M.data.score)
	}
	_, plain := screen(t, host.M)
	// ATO is half the risk: 0-4 holds risks 0-9, 40 of them.
	fixture.Contains(t, plain, "[ato]", "ato 0-4: 40 of 100 (40.0%)", "what-if thresholds are on risk")
	if strings.Contains(plain, "┃≥80") {
		t.Errorf("risk thresholds drawn on the ATO chart:\n%s", plain)
	}

	d.Key("w") // 24h
	waitData(d, host)
	total, in := countIn(r, decision.ScoreATO, common.Windows[2], 0, 5)
	_, plain = screen(t, host.M)
	fixture.Contains(t, plain, "[24h]", fmt.Sprintf("%d scored", total), fmt.Sprintf("ato 0-4: %d of %d", in, total))
	if total <= 160 {
		t.Errorf("24h should hold more than the two skewed hours: %d", total)
	}

	d.Key("W")
	d.Key("W") // back past 1h to 5m
	waitData(d, host)
	if w := host.M.Window(); w.Label != "5m" {
		t.Fatalf("window %s, want 5m", w.Label)
	}
	total, _ = countIn(r, decision.ScoreATO, common.Windows[0], 0, 5)
	fixture.Contains(t, ansi.Strip(host.M.View()), fmt.Sprintf("%d scored", total))
}

func TestEnterFiltersLive(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), 80, 24)
	d.PressN("right", 8)
	d.Key("enter")
	d.WaitFor("the Live filter", func() bool { return len(host.Sent()) > 0 })
	got, ok := host.Sent()[0].(common.LiveFilterMsg)
	if !ok || got.Filter != "risk>=40 risk<45 since:1h" {
		t.Fatalf("sent %#v", host.Sent())
	}
	// The filter selects exactly the bar's decisions.
	f, err := decision.ParseFilter(got.Filter, fixture.Now())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dec := range fixture.ShapedDecisions() {
		if f.Match(&dec) {
			n++
		}
	}
	if n != 3 {
		t.Errorf("the filter matches %d decisions, the bar holds 3", n)
	}
}

func TestSelectionKeepsPositionAcrossSizes(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), 80, 24)
	d.PressN("right", 9) // 45-49: the selection is at score 45
	d.Send(tea.WindowSizeMsg{Width: 40, Height: 10})
	_, plain := screen(t, host.M)
	fixture.Contains(t, plain, "risk 40-49:")
	d.Send(tea.WindowSizeMsg{Width: 200, Height: 50})
	_, plain = screen(t, host.M)
	fixture.Contains(t, plain, "risk 44-45:")
	d.PressN("left", 100)
	fixture.Contains(t, ansi.Strip(host.M.View()), "risk 0-1:")
	d.Key("G")
	fixture.Contains(t, ansi.Strip(host.M.View()), "risk 98-100:")
}

// loaded returns a view on r sized w x h with its first answer applied,
// without a driver.
func loaded(t *testing.T, r api.Reader, clock func() time.Time, w, h int) Model {
	t.Helper()
	c := common.New(context.Background(), r, clock)
	m := New(c)
	m.SetSize(w, h)
	m, _ = m.Update(m.load()())
	if m.data == nil || m.data.failed {
		t.Fatalf("no histogram: %+v", m.data)
	}
	return m
}

func TestAnySizeFits(t *testing.T) {
	r := fixture.NewShaped()
	m := loaded(t, r, fixture.Now, 80, 24)
	for w := 0; w <= 45; w++ {
		for h := 0; h <= 14; h++ {
			m.SetSize(w, h)
			out := m.View()
			if w == 0 || h == 0 {
				if out != "" {
					t.Fatalf("%dx%d: %q", w, h, out)
				}
				continue
			}
			screen(t, m)
		}
	}
	for _, sz := range [][2]int{{80, 24}, {200, 50}, {300, 100}} {
		m.SetSize(sz[0], sz[1])
		for _, k := range []string{"l", "p", "right", "G", "g"} {
			m, _ = m.Update(fixture.Press(k))
			screen(t, m)
		}
	}
}

func TestStaleAnswerDropped(t *testing.T) {
	m := loaded(t, fixture.NewShaped(), fixture.Now, 80, 24)
	stale := m.load()
	fresh := m.load()
	m, _ = m.Update(fresh())
	want := m.data.cur.Total
	msg := stale().(common.Answer[result])
	msg.Value.cur.Total = 999_999
	m, _ = m.Update(msg)
	if m.data.cur.Total != want {
		t.Fatalf("a stale answer replaced the chart: %d", m.data.cur.Total)
	}
}

// failing answers every Histogram with an error after ok calls.
type failing struct {
	api.Reader
	ok int
}

func (f *failing) Histogram(ctx context.Context, q api.HistogramQuery) (decision.Histogram, error) {
	if f.ok > 0 {
		f.ok--
		return f.Reader.Histogram(ctx, q)
	}
	return decision.Histogram{}, errors.New("collector unreachable")
}

func TestErrors(t *testing.T) {
	c := common.New(context.Background(), &failing{Reader: fixture.NewShaped()}, fixture.Now)
	m := New(c)
	m.SetSize(80, 24)
	m, _ = m.Update(m.load()())
	_, plain := screen(t, m)
	fixture.Contains(t, plain, "histogram of risk over last 1h: collector unreachable")

	// A failed refresh keeps the last chart and says so.
	f := &failing{Reader: fixture.NewShaped(), ok: 2}
	m = loaded(t, f, fixture.Now, 80, 24)
	m, _ = m.Update(m.load()())
	_, plain = screen(t, m)
	fixture.Contains(t, plain, "100 scored", "refresh failed: histogram of risk")
}

func TestRefresh(t *testing.T) {
	now := fixture.Now()
	clock := func() time.Time { return now }
	r := fixture.NewShaped()
	m := loaded(t, r, clock, 80, 24)
	batch := common.BatchMsg{Batch: api.Batch{Decisions: []decision.Decision{fixture.Decision(1, now)}}}

	// Hidden: a batch only marks the data stale; showing reads it.
	m, cmd := m.Update(batch)
	if cmd != nil || m.req.Busy() {
		t.Fatal("a hidden view read on a batch")
	}
	if m.Show(); !m.req.Busy() {
		t.Fatal("showing a stale view did not read it")
	}
	m, _ = m.Update(m.load()()) // stands in for the read Show started

	// Visible: a batch reads at most once per BatchGap.
	now = now.Add(BatchGap)
	if m, cmd = m.Update(batch); cmd == nil || !m.req.Busy() {
		t.Fatal("a visible view did not read on a batch")
	}
	m, _ = m.Update(m.load()())

	// Within BatchGap a batch only marks the chart stale, and the next
	// tick reads it. A tick from before Hide is ignored.
	m.refresh.Every = time.Millisecond
	tick := m.Show() // a new tick chain; nothing to read yet
	if m.req.Busy() {
		t.Fatal("an up-to-date view read on Show")
	}
	if m, cmd = m.Update(batch); cmd != nil {
		t.Fatal("a second batch within BatchGap read again")
	}
	msg := tick()
	if m, cmd = m.Update(msg); cmd == nil || !m.req.Busy() {
		t.Fatal("the tick did not read the stale chart")
	}
	m, _ = m.Update(m.load()())
	m.Hide()
	if m, cmd = m.Update(msg); cmd != nil || m.req.Busy() {
		t.Fatal("a tick from before Hide was taken")
	}
	// The clock moving into a new minute moves the window: Show reads.
	now = now.Add(time.Minute)
	m.refresh.Started(now) // nothing pending
	if m.Show(); !m.req.Busy() {
		t.Fatal("a moved window was not read on Show")
	}
}

func TestCacheFollowsInputs(t *testing.T) {
	m := loaded(t, fixture.NewShaped(), fixture.Now, 80, 24)
	a := m.View()
	if b := m.View(); a != b || m.cache.text != a {
		t.Fatal("the frame is not cached")
	}
	m, _ = m.Update(fixture.Press("right"))
	if m.View() == a {
		t.Fatal("moving the selection kept the old frame")
	}
	th := decision.Thresholds{Score: decision.ScoreRisk, Challenge: 30, Deny: 60}
	m.c.Thresholds = &th
	_, plain := screen(t, m)
	fixture.Contains(t, plain, "┊≥30 ┃≥60")
}

// = goes to the bar holding the score typed; a bad one is explained.
func TestJumpToScore(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), 80, 24)
	d.Key("=")
	if !host.M.InputActive() {
		t.Fatal("= does not ask for a score")
	}
	d.Type("101")
	d.Key("enter")
	_, plain := screen(t, host.M)
	fixture.Contains(t, plain, "go to score:", "type a score from 0 to 100")
	d.Key("backspace")
	d.Key("backspace")
	d.Key("backspace")
	d.Type("73")
	d.Key("enter")
	if host.M.InputActive() {
		t.Fatal("the prompt stayed open")
	}
	_, plain = screen(t, host.M)
	fixture.Contains(t, plain, "risk 70-74: ")
	d.Key("=")
	d.Key("esc")
	if host.M.InputActive() {
		t.Fatal("esc left the prompt open")
	}
}

// Today's policy is drawn with its own glyphs beside the what-if
// thresholds, and the previous window stands beside each bar as high as
// its count, on the same scale; the y axis ticks stand where bars of
// their counts reach.
func TestTodaysPolicyPrevAndTicks(t *testing.T) {
	c := common.New(context.Background(), fixture.NewShaped(), fixture.Now)
	th := decision.Thresholds{Score: decision.ScoreRisk, Challenge: 30, Deny: 60}
	c.Thresholds = &th
	host := fixture.ViewHost(New(c))
	d := fixture.NewDriver(t, host, 120, 30)
	waitData(d, host)
	_, plain := screen(t, host.M)
	fixture.Contains(t, plain, "┊≥30 ┃≥60 what-if", "╎≥50 ╏≥80 today's policy", "today's policy reproduces 100.0%")
	for _, g := range []string{"┊", "┃", "╎", "╏"} {
		if strings.Count(plain, g) < 10 {
			t.Errorf("the %s line is not drawn", g)
		}
	}

	m := host.M
	lay := m.layout()
	w := m.bucketWidth()
	bars := group(&m.data.cur, &m.data.prev, w)
	ch := chart{bars: bars, rows: lay.rows, cw: columnWidth(m.width-axisWidth, w), compare: true}
	lines := ch.render(m.c.Styles)
	peak := ch.peak()
	bw, _, _ := ch.columns()
	for i, b := range bars {
		x := axisWidth + i*ch.cw + bw
		got := 0
		for r := range lay.rows {
			if []rune(ansi.Strip(lines[r]))[x] == glyphPrev {
				got++
			}
		}
		if want := level(b.prev, peak, lay.rows, false); got != want {
			t.Errorf("bar %d-%d: previous window %d cells high, want %d (%d of peak %d)", b.lo, b.hi, got, want, b.prev, peak)
		}
	}
	for _, log := range []bool{false, true} {
		ch.log = log
		for lvl, label := range ch.ticks(peak) {
			if label == "" || lvl == lay.rows {
				continue
			}
			v, err := strconv.ParseUint(label, 10, 64)
			if err != nil {
				t.Fatalf("tick %q", label)
			}
			if level(v, peak, lay.rows, log) != lvl {
				t.Errorf("log %v: tick %d at level %d, where a bar of %d reaches %d", log, v, lvl, v, level(v, peak, lay.rows, log))
			}
		}
	}
}
