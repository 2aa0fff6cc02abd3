package live

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// harness drives a Live view synchronously: commands run at once, the
// view's own query answers go back into Update, anything else is kept in
// out for the test to inspect.
type harness struct {
	t   testing.TB
	m   Model
	r   *fixture.Reader
	out []tea.Msg
}

func newHarness(t testing.TB, stored, ringSize, w, h int) *harness {
	t.Helper()
	return newHarnessWith(t, fixture.New(stored), fixture.Now, ringSize, w, h)
}

// newHarnessWith is newHarness reading r with clock.
func newHarnessWith(t testing.TB, r *fixture.Reader, clock func() time.Time, ringSize, w, h int) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := common.New(ctx, r, clock)
	c.Styles = common.NewStyles(common.Theme{Plain: true})
	hs := &harness{t: t, m: New(c, ringSize), r: r}
	hs.m.SetSize(w, h)
	hs.run(hs.m.Init())
	return hs
}

func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	case common.Routed:
		h.send(msg)
	default:
		h.out = append(h.out, msg)
	}
}

func (h *harness) send(msg tea.Msg) {
	var cmd tea.Cmd
	h.m, cmd = h.m.Update(msg)
	h.run(cmd)
}

func (h *harness) key(keys ...string) {
	for _, k := range keys {
		h.send(fixture.KeyPress(k))
	}
}

func (h *harness) typeText(s string) {
	for _, r := range s {
		h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// batch delivers decisions numbered first.. (fixture numbering) as one
// subscription batch, stored one second apart from Now+1s (n < 60, so all
// in the minute starting at Now).
func (h *harness) batch(first, n int) []decision.Decision {
	ds := make([]decision.Decision, n)
	for k := range ds {
		ds[k] = fixture.Decision(first+k, fixture.Now().Add(time.Duration(k+1)*time.Second))
	}
	h.send(common.BatchMsg{Batch: api.Batch{Decisions: ds}})
	return ds
}

// num is the fixture number of a decision ID.
func num(t *testing.T, id string) int {
	t.Helper()
	n, err := strconv.ParseInt(id, 16, 64)
	if err != nil {
		t.Fatalf("decision ID %q: %v", id, err)
	}
	return int(n)
}

func (h *harness) screen() string {
	h.t.Helper()
	out := h.m.View()
	lines := strings.Split(out, "\n")
	if len(lines) != h.m.height {
		h.t.Fatalf("view has %d lines, want %d", len(lines), h.m.height)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > h.m.width {
			h.t.Fatalf("line %q is %d wide in %d", ansi.Strip(l), w, h.m.width)
		}
	}
	return ansi.Strip(out)
}

// shownIDs lists the IDs the ring holds, oldest first.
func (h *harness) shownIDs() []string { return dequeIDs(h.m.rows) }

func TestLoadShowsNewestRowsAndRates(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	if h.m.Loading() {
		t.Fatal("still loading after the queries answered")
	}
	if got := h.m.rows.Len(); got != 40 {
		t.Fatalf("ring holds %d rows, want all 40 stored", got)
	}
	sel, ok := h.m.Selected()
	if !ok || sel.ID != fixture.Decision(40, time.Time{}).ID {
		t.Fatalf("selection %q, want the newest (40) while following", sel.ID)
	}
	// 09:59 holds decisions 31..40 (one every 6 s); at 10:00:00 the
	// trailing minute is exactly that minute.
	var want [decision.NumActions]uint64
	for _, d := range fixture.Decisions(31, 10, fixture.Now()) {
		want[d.Action.Index()]++
	}
	now := fixture.Now()
	if got := h.m.rates.PerMinute(now, common.SeriesEvents); got != 10 {
		t.Errorf("events %d/min, want 10", got)
	}
	for s, a := range map[common.Series]decision.Action{common.SeriesAllow: decision.ActionAllow,
		common.SeriesChallenge: decision.ActionChallenge, common.SeriesDeny: decision.ActionDeny} {
		if got := h.m.rates.PerMinute(now, s); got != want[a.Index()] {
			t.Errorf("%s %d/min, want %d", a, got, want[a.Index()])
		}
	}
	scr := h.screen()
	if !strings.Contains(scr, "● following") || !strings.Contains(scr, "last event 6s ago") {
		t.Errorf("info line missing follow state or last event age:\n%s", scr)
	}
	if !strings.Contains(scr, "events") || !strings.Contains(scr, "10/min") {
		t.Errorf("header should show 10 events/min:\n%s", scr)
	}
}

func TestEmptyAndLoadingStates(t *testing.T) {
	h := newHarness(t, 0, 0, 80, 20)
	if scr := h.screen(); !strings.Contains(scr, "no decisions yet: waiting for events") {
		t.Errorf("empty store:\n%s", scr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := New(common.New(ctx, fixture.New(5), fixture.Now), 0)
	m.SetSize(80, 20)
	_ = m.Init() // not run: the answer has not come
	if !strings.Contains(m.View(), "loading…") {
		t.Errorf("before the first answer the table should say loading")
	}
}

func TestBatchFollowsNewest(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	ds := h.batch(41, 5)
	if got := h.m.rows.Len(); got != 45 {
		t.Fatalf("ring holds %d, want 45", got)
	}
	if sel, _ := h.m.Selected(); sel.ID != ds[4].ID {
		t.Errorf("following: selection %q, want the newest %q", sel.ID, ds[4].ID)
	}
	if !h.m.LastEvent().Equal(ds[4].Time) {
		t.Errorf("last event %v, want %v", h.m.LastEvent(), ds[4].Time)
	}
	// The batch is in 10:00 (Now+1s..Now+5s): counted in the rates.
	if got := minuteSeries(h.m.rates, fixture.Now(), 1, common.SeriesEvents)[0]; got != 5 {
		t.Errorf("10:00 counts %d, want the 5 new decisions", got)
	}
}

func TestPauseCountsNewAndResumeShowsThem(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	before := h.screen()
	h.key("space")
	if !h.m.Paused() {
		t.Fatal("space must pause")
	}
	ds := h.batch(41, 7)
	if got := h.m.NewCount(); got != 7 {
		t.Fatalf("NewCount %d, want 7", got)
	}
	if got := h.m.rows.Len(); got != 40 {
		t.Fatalf("the paused table changed: %d rows", got)
	}
	scr := h.screen()
	if !strings.Contains(scr, "PAUSED 7 new (G resume)") {
		t.Errorf("paused screen lacks the count:\n%s", scr)
	}
	if tableOf(scr) != tableOf(before) {
		t.Errorf("rows moved while paused:\nbefore\n%s\nafter\n%s", before, scr)
	}
	// Rates keep counting while the display is paused.
	if got := minuteSeries(h.m.rates, fixture.Now(), 1, common.SeriesEvents)[0]; got != 7 {
		t.Errorf("rates while paused: %d, want 7", got)
	}
	h.key("G")
	if h.m.Paused() || h.m.NewCount() != 0 {
		t.Fatal("G must resume and clear the count")
	}
	if got := h.m.rows.Len(); got != 47 {
		t.Fatalf("after resume %d rows, want 47", got)
	}
	if sel, _ := h.m.Selected(); sel.ID != ds[6].ID {
		t.Errorf("after resume the newest is selected: got %q", sel.ID)
	}
	if !strings.Contains(h.screen(), "● following") {
		t.Error("resumed screen should say following")
	}
	// space toggles too.
	h.key("space", "space")
	if h.m.Paused() {
		t.Error("second space must resume")
	}
}

// tableOf returns the screen from the table header on.
func tableOf(scr string) string {
	if i := strings.Index(scr, "TIME"); i >= 0 {
		return scr[i:]
	}
	return ""
}

func TestScrollUpPausesAndMovesSelection(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 15)
	h.key("k", "k")
	if !h.m.Paused() {
		t.Fatal("scrolling up must pause")
	}
	if sel, _ := h.m.Selected(); sel.ID != fixture.Decision(38, time.Time{}).ID {
		t.Errorf("two up from 40: selected %q, want 38", sel.ID)
	}
	h.key("j")
	if sel, _ := h.m.Selected(); sel.ID != fixture.Decision(39, time.Time{}).ID {
		t.Errorf("one down: selected %q, want 39", sel.ID)
	}
	h.key("g")
	if sel, _ := h.m.Selected(); sel.ID != fixture.Decision(1, time.Time{}).ID {
		t.Errorf("g: selected %q, want the oldest", sel.ID)
	}
	if scr := h.screen(); !strings.Contains(scr, "usr_001") {
		t.Errorf("the oldest row (usr_001) should be in view after g:\n%s", scr)
	}
	h.key("pgdown")
	if sel, _ := h.m.Selected(); sel.ID == fixture.Decision(1, time.Time{}).ID {
		t.Error("pgdown did not move")
	}
	h.key("end")
	if h.m.Paused() {
		t.Error("end must resume following")
	}
}

func TestFilterRequeriesAndMatchesIncoming(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	calls := h.r.LatestCalls(PageRows)
	h.key("/")
	if !h.m.InputActive() {
		t.Fatal("/ must open the filter bar")
	}
	h.typeText("ACTION:Deny")
	h.key("enter")
	if h.m.InputActive() {
		t.Fatal("enter must close the bar")
	}
	if h.r.LatestCalls(PageRows) != calls+1 {
		t.Fatalf("Latest called %d times, want one re-query", h.r.LatestCalls(PageRows)-calls)
	}
	if h.m.Filter() != "action:deny" {
		t.Errorf("filter %q, want the canonical action:deny", h.m.Filter())
	}
	wantDeny := 0
	for _, d := range fixture.Decisions(1, 40, fixture.Now()) {
		if d.Action == decision.ActionDeny {
			wantDeny++
		}
	}
	if got := h.m.rows.Len(); got != wantDeny || wantDeny == 0 {
		t.Fatalf("%d rows after filtering, want the %d denies", got, wantDeny)
	}
	ds := h.batch(41, 20)
	newDeny := 0
	for _, d := range ds {
		if d.Action == decision.ActionDeny {
			newDeny++
		}
	}
	if got := h.m.rows.Len(); got != wantDeny+newDeny {
		t.Errorf("%d rows after a mixed batch, want %d (only the new denies)", got, wantDeny+newDeny)
	}
	for _, id := range h.shownIDs() {
		for _, d := range ds {
			if d.ID == id && d.Action != decision.ActionDeny {
				t.Fatalf("row %s (%s) does not match the filter", id, d.Action)
			}
		}
	}
	// Rates count everything, filter or not.
	if got := minuteSeries(h.m.rates, fixture.Now().Add(20*time.Second), 1, common.SeriesEvents)[0]; got != 20 {
		t.Errorf("rates counted %d of the 20 new decisions", got)
	}
	scr := h.screen()
	if !strings.Contains(scr, "filter: action:deny") || strings.Contains(scr, "ALLOW") {
		t.Errorf("filtered screen:\n%s", scr)
	}
	// Reopening edits the applied filter; up recalls history; esc keeps it.
	h.key("/")
	if h.m.bar.Value() != "action:deny" {
		t.Errorf("bar reopened with %q", h.m.bar.Value())
	}
	h.key("esc")
	if h.m.Filter() != "action:deny" || h.m.InputActive() {
		t.Error("esc must keep the applied filter")
	}
}

func TestFilterBarKeepsKeysFromView(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	h.key("/")
	h.typeText("q y space")
	if h.m.Paused() || len(h.out) != 0 {
		t.Errorf("keys typed in the filter bar acted on the view: paused %v, messages %v", h.m.Paused(), h.out)
	}
	if got := h.m.bar.Value(); got != "q y space" {
		t.Errorf("bar holds %q", got)
	}
}

func TestStaleLatestDropped(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	first := h.m.applyFilter("action:deny") // not run yet
	second := h.m.applyFilter("action:allow")
	h.run(second)
	h.run(first) // the old answer arrives last
	if h.m.rows.Len() == 0 {
		t.Fatal("no rows")
	}
	for _, id := range h.shownIDs() {
		if a := fixture.Decision(num(t, id), time.Time{}).Action; a != decision.ActionAllow {
			t.Fatalf("row %s is %s: the stale deny answer replaced the allow rows", id, a)
		}
	}
	if h.m.Loading() {
		t.Error("the current answer arrived: not loading")
	}
}

func TestEarlyRowsMergedWithoutDuplicates(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := fixture.New(40)
	c := common.New(ctx, r, fixture.Now)
	h := &harness{t: t, m: New(c, 0), r: r}
	h.m.SetSize(120, 30)
	init := h.m.Init() // in flight
	// Two decisions arrive before the answer; the store already has the
	// first when it answers, so it is in both.
	ds := fixture.Decisions(41, 2, fixture.Now().Add(2*time.Second))
	if err := r.Push(ctx, api.Batch{Decisions: ds[:1]}); err != nil {
		t.Fatal(err)
	}
	h.send(common.BatchMsg{Batch: api.Batch{Decisions: ds}})
	if h.m.rows.Len() != 0 {
		t.Fatal("rows shown before the initial answer")
	}
	h.run(init)
	got := h.shownIDs()
	if len(got) != 42 {
		t.Fatalf("%d rows, want 40 + 2 with no duplicate", len(got))
	}
	if got[40] != ds[0].ID || got[41] != ds[1].ID {
		t.Errorf("newest rows %v, want %s then %s", got[40:], ds[0].ID, ds[1].ID)
	}
}

func TestResumeAfterOverflowReloads(t *testing.T) {
	h := newHarness(t, 40, 10, 120, 30)
	if h.m.rows.Len() != 10 {
		t.Fatalf("ring of 10 holds %d", h.m.rows.Len())
	}
	h.key("space")
	ds := h.batch(41, 15)
	if err := h.r.Push(context.Background(), api.Batch{Decisions: ds}); err != nil {
		t.Fatal(err)
	}
	if got := h.m.NewCount(); got != 15 {
		t.Errorf("NewCount %d, want 15 even past the ring's size", got)
	}
	calls := h.r.LatestCalls(10) // the newest rows, as many as the ring holds
	h.key("G")
	if h.r.LatestCalls(10) != calls+1 {
		t.Fatal("resuming after more new rows than the ring holds must reload")
	}
	got := h.shownIDs()
	if len(got) != 10 || got[9] != ds[14].ID {
		t.Errorf("after reload %d rows ending %q, want 10 ending %q", len(got), got[len(got)-1], ds[14].ID)
	}
}

func TestResumeSkipsRowsAlreadyShown(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	h.key("space")
	// A row the table already shows arrives again (a replayed batch).
	dup := fixture.Decisions(40, 1, fixture.Now().Add(-fixture.Step))
	h.send(common.BatchMsg{Batch: api.Batch{Decisions: dup}})
	h.batch(41, 2)
	h.key("G")
	if got := h.m.rows.Len(); got != 42 {
		t.Errorf("%d rows after resume, want 42: the duplicate must be skipped", got)
	}
}

func TestMissedDecisionsReload(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	calls := h.r.LatestCalls(PageRows)
	h.send(common.BatchMsg{Batch: api.Batch{Missed: 3}})
	if h.r.LatestCalls(PageRows) != calls+1 {
		t.Error("a batch with missed decisions must reload the rows while following")
	}
	if scr := h.screen(); !strings.Contains(scr, "missed 3 (reloaded)") {
		t.Errorf("missed count not shown:\n%s", scr)
	}
	// While paused the reload waits for resume.
	h.key("space")
	calls = h.r.LatestCalls(PageRows)
	h.send(common.BatchMsg{Batch: api.Batch{Missed: 1}})
	if h.r.LatestCalls(PageRows) != calls {
		t.Fatal("reloaded the rows while paused")
	}
	h.key("G")
	if h.r.LatestCalls(PageRows) != calls+1 {
		t.Error("resume after missed decisions must reload")
	}
}

func TestReloadWhilePausedWaitsForResume(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	h.key("k")
	calls := h.r.LatestCalls(PageRows)
	h.run(h.m.Reload())
	if h.r.LatestCalls(PageRows) != calls {
		t.Fatal("Reload replaced the rows of a paused display")
	}
	h.key("G")
	if h.r.LatestCalls(PageRows) != calls+1 {
		t.Error("resume must reload after a reconnect")
	}
}

func TestOpenCopyJourney(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	h.key("k") // decision 39
	h.key("enter")
	h.key("y")
	h.key("u")
	var opened *common.OpenDetailMsg
	var journey *common.OpenJourneyMsg
	var clip string
	var status []string
	for _, m := range h.out {
		switch m := m.(type) {
		case common.OpenDetailMsg:
			opened = &m
		case common.OpenJourneyMsg:
			journey = &m
		case common.StatusMsg:
			status = append(status, m.Text)
		default:
			// tea.SetClipboard's message is a string type.
			if v := reflect.ValueOf(m); v.Kind() == reflect.String {
				clip = v.String()
			}
		}
	}
	want := fixture.Decision(39, time.Time{}).ID
	if opened == nil || opened.Decision.ID != want {
		t.Fatalf("enter opened %+v, want decision %s", opened, want)
	}
	var back decision.Decision
	if err := json.Unmarshal([]byte(clip), &back); err != nil || back.ID != want {
		t.Fatalf("clipboard %q (%v), want decision %s as JSON", clip, err, want)
	}
	if len(back.Request) == 0 || len(back.Response) == 0 {
		t.Error("copied JSON lacks the raw request or response")
	}
	if strings.Join(status, "|") != "copied decision JSON to clipboard" {
		t.Errorf("status messages %q", status)
	}
	if u := fixture.Decision(39, time.Time{}).UserID; journey == nil || journey.UserID != u {
		t.Errorf("u asked for the journey of %+v, want %s", journey, u)
	}
}

func TestCopyWithNothingSelected(t *testing.T) {
	h := newHarness(t, 0, 0, 80, 20)
	h.key("y", "enter")
	if len(h.out) != 1 {
		t.Fatalf("messages %v, want only a warning", h.out)
	}
	if s, ok := h.out[0].(common.StatusMsg); !ok || s.Level != common.LevelWarn {
		t.Errorf("got %#v, want a warning status", h.out[0])
	}
}

func TestHeaderCompactsWhenShort(t *testing.T) {
	h := newHarness(t, 40, 0, 80, 8)
	scr := h.screen()
	if strings.Contains(scr, "▁") || !strings.Contains(scr, "events 10/min") {
		t.Errorf("a short view should show one line of rates without sparklines:\n%s", scr)
	}
	h.m.SetSize(200, 40)
	if scr := h.screen(); !strings.Contains(scr, "▁") {
		t.Errorf("a tall view should draw sparklines:\n%s", scr)
	}
}

func TestHealthFeedsInfoLine(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	hl := fixture.Health(fixture.Now().Add(-2 * time.Second))
	h.send(common.HealthMsg{Health: hl})
	scr := h.screen()
	for _, want := range []string{"Safe-e p50 45ms p99 180ms", "errors 6", "last event 2s ago"} {
		if !strings.Contains(scr, want) {
			t.Errorf("info line lacks %q:\n%s", want, scr)
		}
	}
}

func TestPauseWhileLoadingCountsNew(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := fixture.New(40)
	h := &harness{t: t, m: New(common.New(ctx, r, fixture.Now), 0), r: r}
	h.m.SetSize(120, 30)
	init := h.m.Init()
	h.key("space")
	h.batch(41, 3)
	h.run(init)
	if got := h.m.rows.Len(); got != 40 {
		t.Errorf("%d rows: what arrived after the pause must wait, not join the table", got)
	}
	if got := h.m.NewCount(); got != 3 {
		t.Errorf("NewCount %d, want 3", got)
	}
	h.key("G")
	if got := h.m.rows.Len(); got != 43 {
		t.Errorf("after resume %d rows, want 43", got)
	}
}

// hostile returns a decision whose every text field carries s.
func hostile(s string) decision.Decision {
	d := fixture.Decision(1, fixture.Now())
	d.Type, d.Status, d.UserID, d.Email, d.IP, d.Policy = s, s, s, s, s, s
	d.Signals = []string{s, s + s}
	d.Action = decision.Action(s)
	return d
}

func TestHostileFieldsCannotReachTheTerminal(t *testing.T) {
	h := newHarness(t, 0, 0, 120, 12)
	evil := "\x1b[2J\x1b]52;c;aGk=\x07line\nbreak\r\u009b31m東京\xff"
	h.send(common.BatchMsg{Batch: api.Batch{Decisions: []decision.Decision{hostile(evil)}}})
	raw := h.m.View()
	for _, bad := range []string{"\x1b[2J", "\x1b]52", "\u009b", "\n" + "break", "\r"} {
		if strings.Contains(raw, bad) {
			t.Errorf("the screen carries %q from an event", bad)
		}
	}
	h.screen() // exact height, every line within the width
}

func FuzzRowRender(f *testing.F) {
	f.Add("usr_001", 80)
	f.Add("\x1b[2J\n東京\u200b\u0301", 41)
	f.Add("\xff\xfe\t", 7)
	f.Fuzz(func(t *testing.T, s string, width int) {
		width = 1 + int(uint(width)%200)
		h := newHarness(t, 0, 0, width, 8)
		h.send(common.BatchMsg{Batch: api.Batch{Decisions: []decision.Decision{hostile(s), fixture.Decision(2, fixture.Now())}}})
		raw := h.m.View()
		if strings.ContainsRune(ansi.Strip(raw), '\x1b') {
			t.Fatalf("escape character on screen for %q", s)
		}
		h.screen()
	})
}

// TestBackfillShowsEventTimeInArrivalOrder: events of last night arriving
// now stay at the bottom of the tail in arrival order, show their own time
// in TIME, leave the rates of the last hour alone (the rates count event
// time), and make "last event" now (arrival).
func TestBackfillShowsEventTimeInArrivalOrder(t *testing.T) {
	h := newHarness(t, 40, 0, 120, 30)
	before := minuteSeries(h.m.rates, fixture.Now(), RateWindow, common.SeriesEvents)
	night := time.Date(2026, 11, 24, 23, 0, 0, 0, fixture.Now().Location())
	ds := make([]decision.Decision, 3)
	for k := range ds {
		ds[k] = fixture.Decision(41+k, fixture.Now().Add(time.Duration(k+1)*time.Second))
		ds[k].EventTime = night.Add(time.Duration(2-k) * time.Hour) // arrives newest first
	}
	h.send(common.BatchMsg{Batch: api.Batch{Decisions: ds}})

	ids := h.shownIDs()
	if got := ids[len(ids)-3:]; !reflect.DeepEqual(got, []string{ds[0].ID, ds[1].ID, ds[2].ID}) {
		t.Fatalf("the tail ends with %v, want the batch in arrival order", got)
	}
	scr := h.screen()
	var tail []string
	for _, l := range strings.Split(scr, "\n") {
		if strings.Contains(l, "203.0.113.") {
			tail = append(tail, l)
		}
	}
	for k, want := range []string{"01:00:00", "00:00:00", "23:00:00"} {
		if l := tail[len(tail)-3+k]; !strings.HasPrefix(l, want) {
			t.Errorf("row of %s starts %q, want its event time %s", ds[k].EventID, l, want)
		}
	}
	if !h.m.LastEvent().Equal(ds[2].Time) {
		t.Errorf("last event %v, want the arrival %v", h.m.LastEvent(), ds[2].Time)
	}
	if after := minuteSeries(h.m.rates, fixture.Now(), RateWindow, common.SeriesEvents); !reflect.DeepEqual(after, before) {
		t.Errorf("events of last night changed the last hour's rates:\n%v\n%v", before, after)
	}
	// One of 09:30 arriving now counts in 09:30, not in 10:00.
	late := fixture.Decision(44, fixture.Now().Add(5*time.Second))
	late.EventTime = fixture.Now().Add(-30 * time.Minute)
	h.send(common.BatchMsg{Batch: api.Batch{Decisions: []decision.Decision{late}}})
	after := minuteSeries(h.m.rates, fixture.Now(), RateWindow, common.SeriesEvents)
	if n := len(after); after[n-31] != before[n-31]+1 || after[n-1] != before[n-1] {
		t.Errorf("a 09:30 event arriving at 10:00: 09:30 %d -> %d, 10:00 %d -> %d; want +1 in 09:30 only",
			before[n-31], after[n-31], before[n-1], after[n-1])
	}
}

// minuteSeries is series s of the n minutes ending with now's, oldest
// first.
func minuteSeries(r *Rates, now time.Time, n int, s common.Series) []uint64 {
	out, _ := r.Chart(now, chartShape{minutes: n}, s, nil)
	return out
}

// TestShadowColumnFollowsTheShadowPolicy: the SHADOW column shows the
// shadow policy's action and rule only while the collector runs one.
func TestShadowColumnFollowsTheShadowPolicy(t *testing.T) {
	h := newHarness(t, 5, 0, 200, 30)
	if scr := h.screen(); strings.Contains(scr, "SHADOW") {
		t.Errorf("a shadow column without a shadow policy:\n%s", scr)
	}
	hl := fixture.Health(fixture.Now())
	hl.Shadow = &api.ShadowHealth{File: "shadow.toml", Rules: 3}
	h.send(common.HealthMsg{Health: hl})
	ds := []decision.Decision{fixture.Decision(6, fixture.Now().Add(time.Second)), fixture.Decision(7, fixture.Now().Add(2*time.Second))}
	ds[0].ShadowAction, ds[0].ShadowRule = decision.ActionDeny, "tor\x1b[31m"
	ds[1].ShadowAction = decision.ActionAllow
	h.send(common.BatchMsg{Batch: api.Batch{Decisions: ds}})
	scr := h.screen()
	if !strings.Contains(scr, "SHADOW") || !strings.Contains(scr, "deny tor") || strings.Contains(scr, "\x1b[31m") {
		t.Errorf("with a shadow policy:\n%s", scr)
	}
	hl.Shadow = nil
	h.send(common.HealthMsg{Health: hl})
	if scr := h.screen(); strings.Contains(scr, "SHADOW") {
		t.Errorf("the shadow column stays after the shadow policy went:\n%s", scr)
	}
}
