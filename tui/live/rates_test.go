package live

import (
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func TestRatesAddAndSeries(t *testing.T) {
	var r Rates
	v0 := r.Version()
	r.Add(t0.Add(-90*time.Second), decision.ActionDeny)  // 09:58
	r.Add(t0.Add(-30*time.Second), decision.ActionAllow) // 09:59
	r.Add(t0.Add(-20*time.Second), decision.ActionAllow)
	r.Add(t0.Add(-10*time.Second), "weird") // unknown: counted as an error
	r.Add(t0.Add(5*time.Second), decision.ActionChallenge)
	if r.Version() == v0 {
		t.Fatal("Add must change the version")
	}
	now := t0.Add(10 * time.Second)
	tests := []struct {
		s    common.Series
		want []uint64 // 09:57 .. 10:00
	}{
		{common.SeriesEvents, []uint64{0, 1, 3, 1}},
		{common.SeriesAllow, []uint64{0, 0, 2, 0}},
		{common.SeriesChallenge, []uint64{0, 0, 0, 1}},
		{common.SeriesDeny, []uint64{0, 1, 0, 0}},
		{common.SeriesError, []uint64{0, 0, 1, 0}},
	}
	for _, tc := range tests {
		got := minuteSeries(&r, now, 4, tc.s)
		if len(got) != 4 {
			t.Fatalf("series %d: %d values", tc.s, len(got))
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("series %d = %v, want %v", tc.s, got, tc.want)
				break
			}
		}
	}
}

func TestRatesPerMinuteSlides(t *testing.T) {
	var r Rates
	for range 60 {
		r.Add(t0.Add(-30*time.Second), decision.ActionAllow) // 60 in 09:59
	}
	for range 10 {
		r.Add(t0.Add(5*time.Second), decision.ActionDeny) // 10 in 10:00
	}
	tests := []struct {
		at     time.Duration // after 10:00
		events uint64
		deny   uint64
	}{
		{0, 60 + 10, 10},                // the whole previous minute still counts
		{15 * time.Second, 45 + 10, 10}, // three quarters of it
		{30 * time.Second, 30 + 10, 10}, // half
		{59 * time.Second, 1 + 10, 10},  // one sixtieth
		{60 * time.Second, 10, 10},      // 10:01: 09:59 is out, 10:00 whole
		{125 * time.Second, 0, 0},       // both out of the trailing minute
		{-50 * time.Second, 60, 0},      // during 09:59: what it has so far
		{-70 * time.Second, 0, 0},       // 09:58: nothing then, nor before
	}
	for _, tc := range tests {
		now := t0.Add(tc.at)
		if got := r.PerMinute(now, common.SeriesEvents); got != tc.events {
			t.Errorf("at %s: events %d/min, want %d", now.Format("15:04:05"), got, tc.events)
		}
		if got := r.PerMinute(now, common.SeriesDeny); got != tc.deny {
			t.Errorf("at %s: deny %d/min, want %d", now.Format("15:04:05"), got, tc.deny)
		}
	}
}

func TestRatesWindowReusesSlots(t *testing.T) {
	var r Rates
	r.Add(t0, decision.ActionAllow)
	// RateWindow minutes later the same slot holds the new minute.
	later := t0.Add(RateWindow * time.Minute)
	r.Add(later, decision.ActionDeny)
	if got := minuteSeries(&r, later, RateWindow, common.SeriesAllow); sum(got) != 0 {
		t.Errorf("allow from an hour ago still counted: %v", got)
	}
	// A late decision for a minute the slot no longer holds is ignored.
	r.Add(t0, decision.ActionAllow)
	if got := minuteSeries(&r, later, 1, common.SeriesEvents); got[0] != 1 {
		t.Errorf("the current minute holds %d, want 1", got[0])
	}
}

func TestRatesLoadReplaces(t *testing.T) {
	var r Rates
	r.Add(t0, decision.ActionError)
	v := r.Version()
	r.Load([]decision.MinuteCounts{
		{Minute: t0.Add(-2 * time.Minute), ByAction: [decision.NumActions]uint64{5, 1, 2, 0}},
		{Minute: t0.Add(-time.Minute), ByAction: [decision.NumActions]uint64{3, 0, 0, 0}},
		{Minute: t0},
	})
	if r.Version() == v {
		t.Error("Load must change the version")
	}
	got := minuteSeries(&r, t0, 3, common.SeriesEvents)
	if got[0] != 8 || got[1] != 3 || got[2] != 0 {
		t.Errorf("loaded series %v, want [8 3 0]: Load replaces, the error added before is gone", got)
	}
	if got := minuteSeries(&r, t0, 3, common.SeriesDeny); got[0] != 2 {
		t.Errorf("deny series %v", got)
	}
}

func sum(v []uint64) uint64 {
	var n uint64
	for _, x := range v {
		n += x
	}
	return n
}
