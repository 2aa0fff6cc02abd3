package live

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// contiguous checks that the rows held are the fixture decisions lo..hi,
// in order, with nothing missing.
func contiguous(t *testing.T, h *harness, lo, hi int) {
	t.Helper()
	ids := h.shownIDs()
	if len(ids) != hi-lo+1 {
		t.Fatalf("%d rows held, want %d..%d", len(ids), lo, hi)
	}
	for i, id := range ids {
		if got := num(t, id); got != lo+i {
			t.Fatalf("row %d is decision %d, want %d (rows %d..%d)", i, got, lo+i, lo, hi)
		}
	}
}

// Scrolling up past the rows read reads older pages from the store, never
// holding more than the ring size: the newest pages are given up, read
// again on the way back down, and reaching the newest follows again.
func TestPagingThroughHistory(t *testing.T) {
	const stored, ring = 2600, 1000
	h := newHarness(t, stored, ring, 120, 30)
	contiguous(t, h, stored-PageRows+1, stored)
	if !strings.Contains(h.screen(), "2,600 decisions") {
		t.Errorf("the count of stored decisions is not shown:\n%s", h.screen())
	}

	// g goes to the oldest row read; each time, the page before it comes.
	want := []struct{ lo, hi int }{
		{1601, 2600}, // one page more, within the ring
		{1101, 2100}, // the newest page given up
		{601, 1600},
		{101, 1100},
		{1, 1000}, // the last, short page: the oldest there is
	}
	for i, w := range want {
		h.key("g")
		contiguous(t, h, w.lo, w.hi)
		if h.m.Len() > ring {
			t.Fatalf("step %d: %d rows held, more than the ring's %d", i, h.m.Len(), ring)
		}
	}
	if !h.m.hist.atOldest {
		t.Fatal("the first decision was read: at the oldest")
	}
	h.key("g")
	if sel, _ := h.m.Selected(); num(t, sel.ID) != 1 || !strings.Contains(h.screen(), "oldest row") {
		t.Errorf("g at the oldest selects decision 1 and says so:\n%s", h.screen())
	}
	if !strings.Contains(h.screen(), "PAUSED in history") {
		t.Errorf("an older part of history is not said:\n%s", h.screen())
	}
	calls := h.r.LatestCalls(0)
	h.key("g")
	if h.r.LatestCalls(0) != calls {
		t.Error("read again before the oldest decision")
	}

	// Back down: the pages given up come back, in order, one at a time.
	for _, w := range []struct{ lo, hi int }{{101, 1100}, {601, 1600}, {1101, 2100}} {
		for range 100 {
			if num(t, h.m.rows.Oldest().ID) == w.lo {
				break
			}
			h.key("pgdown")
		}
		contiguous(t, h, w.lo, w.hi)
	}
	// The last page given up was the newest: reaching it follows again.
	for range 100 {
		if !h.m.Paused() {
			break
		}
		h.key("pgdown")
	}
	if h.m.Paused() || h.m.hist.detached() {
		t.Fatalf("reaching the newest rows does not follow again:\n%s", h.screen())
	}
	contiguous(t, h, stored-PageRows+1, stored)

	// G from deep in history reads the newest rows again.
	h.key("g", "g", "g")
	if !h.m.hist.detached() {
		t.Fatal("three pages back with a ring of two: the newest were given up")
	}
	ds := h.batch(stored+1, 3) // arrives meanwhile: counted, not shown
	if err := h.r.Push(context.Background(), api.Batch{Decisions: ds}); err != nil {
		t.Fatal(err)
	}
	if h.m.NewCount() != 3 {
		t.Errorf("%d new, want 3", h.m.NewCount())
	}
	h.key("G")
	contiguous(t, h, stored+3-PageRows+1, stored+3)
	if h.m.Paused() {
		t.Error("G must follow")
	}
}

// A filter pages through its own rows only, and the count says how many
// of all decisions match, as a recount of the store does.
func TestFilteredCountAndPaging(t *testing.T) {
	const stored = 3000
	h := newHarness(t, stored, 600, 120, 30)
	h.key("/")
	h.typeText("action:deny")
	h.key("enter")
	var deny []int
	for _, d := range h.r.All() {
		if d.Action == decision.ActionDeny {
			deny = append(deny, num(t, d.ID))
		}
	}
	want := strconv.Itoa(len(deny)) + " of 3,000"
	if !strings.Contains(h.screen(), want) {
		t.Fatalf("want %q:\n%s", want, h.screen())
	}
	for range 20 {
		h.key("g")
	}
	ids := h.shownIDs()
	if len(ids) == 0 || num(t, ids[0]) != deny[0] {
		t.Fatalf("paging back did not reach the oldest deny %d", deny[0])
	}
	for i, id := range ids {
		if num(t, id) != deny[i] {
			t.Fatalf("row %d is %s, want deny %d", i, id, deny[i])
		}
	}
	// Arrivals keep the count: 2 of 5 new decisions match.
	ds := h.batch(stored+1, 5)
	n := 0
	for _, d := range ds {
		if d.Action == decision.ActionDeny {
			n++
		}
	}
	if want := strconv.Itoa(len(deny)+n) + " of 3,005"; !strings.Contains(h.screen(), want) {
		t.Errorf("after a batch want %q:\n%s", want, h.screen())
	}
}

func TestParseJump(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, loc)
	for in, want := range map[string]time.Time{
		"15m":                       now.Add(-15 * time.Minute),
		"1d12h":                     now.Add(-36 * time.Hour),
		"09:30":                     time.Date(2026, 11, 25, 9, 30, 0, 0, loc),
		"09:30:05":                  time.Date(2026, 11, 25, 9, 30, 5, 0, loc),
		"23:00":                     time.Date(2026, 11, 24, 23, 0, 0, 0, loc), // later than now: yesterday
		"2026-11-20 02:00":          time.Date(2026, 11, 20, 2, 0, 0, 0, loc),
		" 2026-11-20 02:00:30 ":     time.Date(2026, 11, 20, 2, 0, 30, 0, loc),
		"2026-11-20T02:00:00Z":      time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC),
		"2026-11-20T02:00:00+05:00": time.Date(2026, 11, 19, 21, 0, 0, 0, time.UTC),
	} {
		got, err := ParseJump(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseJump(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "25:00", "-5m", "2026-13-01 00:00", `"15m"`} {
		if _, err := ParseJump(bad, now); err == nil {
			t.Errorf("ParseJump(%q) accepted", bad)
		}
	}
}

// T jumps to a time: the rows are the newest with an event time before
// it, and esc clears the jump with the filter.
func TestJumpToTime(t *testing.T) {
	h := newHarness(t, 600, 0, 120, 30)
	h.key("T")
	if !h.m.InputActive() || !strings.Contains(h.screen(), "jump to:") {
		t.Fatalf("T opens the prompt:\n%s", h.screen())
	}
	h.typeText("nonsense")
	h.key("enter")
	if !strings.Contains(h.screen(), "want 15m, 14:30") {
		t.Fatalf("a bad time is explained:\n%s", h.screen())
	}
	h.key("ctrl+u")
	h.typeText("30m")
	h.key("enter")
	at := fixture.Now().Add(-30 * time.Minute)
	if h.m.InputActive() || h.m.Filter() != "until:"+at.Format(time.RFC3339) {
		t.Fatalf("filter %q after jumping", h.m.Filter())
	}
	newest := h.m.rows.Newest()
	if newest == nil || !newest.EventTime.Before(at) || !newest.EventTime.After(at.Add(-fixture.Step-time.Second)) {
		t.Fatalf("the newest row %v is not the last one before %v", newest, at)
	}
	if sel, _ := h.m.Selected(); sel.ID != newest.ID {
		t.Error("the row before the time is selected")
	}
	h.key("esc")
	if h.m.Filter() != "" {
		t.Errorf("esc leaves filter %q", h.m.Filter())
	}
}

// With a ring smaller than a page, pages shrink to half the ring: paging
// back and forth keeps the rows contiguous and bounded.
func TestPagingWithASmallRing(t *testing.T) {
	const stored, ring = 450, 100
	h := newHarness(t, stored, ring, 120, 30)
	contiguous(t, h, stored-ring+1, stored)
	for range 20 {
		h.key("g")
		ids := h.shownIDs()
		lo := num(t, ids[0])
		contiguous(t, h, lo, lo+len(ids)-1)
		if len(ids) > ring {
			t.Fatalf("%d rows held with a ring of %d", len(ids), ring)
		}
	}
	if ids := h.shownIDs(); num(t, ids[0]) != 1 {
		t.Fatalf("paging did not reach the first decision: %s", ids[0])
	}
	for range 200 {
		if !h.m.Paused() {
			break
		}
		h.key("pgdown")
		ids := h.shownIDs()
		lo := num(t, ids[0])
		contiguous(t, h, lo, lo+len(ids)-1)
	}
	if h.m.Paused() {
		t.Fatal("paging down never reached the newest rows")
	}
	contiguous(t, h, stored-ring+1, stored)
}
