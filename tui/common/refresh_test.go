package common

import (
	"testing"
	"time"
)

func TestRefresher(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	r := Refresher{View: ViewHistograms, Every: time.Second, MinGap: time.Second}
	if r.Visible() {
		t.Fatal("the zero Refresher is visible")
	}
	// Hidden: batches only mark the data stale.
	if r.Batch(t0) {
		t.Fatal("a hidden view may refresh on a batch")
	}
	if !r.Dirty() {
		t.Fatal("a batch did not mark the data stale")
	}
	if r.Show() == nil || !r.Visible() {
		t.Fatal("Show did not start ticking")
	}
	first := RefreshMsg{View: ViewHistograms, gen: r.gen}
	r.Started(t0)
	if r.Dirty() {
		t.Fatal("Started left the data stale")
	}
	if first.Target() != ViewHistograms {
		t.Fatalf("tick routed to %v", first.Target())
	}
	ok, next := r.Tick(first)
	if !ok || next == nil {
		t.Fatal("the current tick was not taken")
	}
	// Batches refresh at most once per MinGap.
	if r.Batch(t0.Add(500 * time.Millisecond)) {
		t.Fatal("refresh allowed within MinGap")
	}
	if !r.Batch(t0.Add(time.Second)) {
		t.Fatal("refresh refused after MinGap")
	}
	// A second Show starts a new chain: the old tick is stale.
	r.Show()
	if ok, next := r.Tick(first); ok || next != nil {
		t.Fatal("a tick of an old chain was taken")
	}
	cur := RefreshMsg{View: ViewHistograms, gen: r.gen}
	r.Hide()
	if ok, next := r.Tick(cur); ok || next != nil {
		t.Fatal("a hidden view took a tick")
	}
	// Every <= 0 never ticks.
	quiet := Refresher{}
	if quiet.Show() != nil {
		t.Fatal("a Refresher without Every ticks")
	}
}

func TestWindows(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	hour := Windows[1]
	from, to := hour.Bounds(now)
	if !to.Equal(time.Date(2026, 11, 25, 10, 1, 0, 0, time.UTC)) || !from.Equal(to.Add(-time.Hour)) {
		t.Fatalf("1h at 10:00:30 = [%s, %s)", from, to)
	}
	pf, pt, ok := hour.Previous(now)
	if !ok || !pt.Equal(from) || !pf.Equal(from.Add(-time.Hour)) {
		t.Fatalf("previous hour = [%s, %s) %v", pf, pt, ok)
	}
	all := Windows[len(Windows)-1]
	if f, _ := all.Bounds(now); !f.IsZero() || !all.All() {
		t.Fatalf("all history starts at %s", f)
	}
	if _, _, ok := all.Previous(now); ok {
		t.Fatal("all history has a previous window")
	}
	for _, tc := range []struct {
		w           Window
		since, text string
	}{{Windows[0], "since:5m", "last 5m"}, {Windows[2], "since:24h", "last 24h"}, {all, "", "all history"}} {
		if tc.w.Since() != tc.since || tc.w.Describe() != tc.text {
			t.Errorf("%s: %q %q", tc.w.Label, tc.w.Since(), tc.w.Describe())
		}
	}
}
