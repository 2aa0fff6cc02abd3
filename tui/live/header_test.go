package live

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// headerNow is the clock of the header tests: 25 seconds into a minute,
// so the current 10-second bucket (10:00:20-10:00:30) is incomplete.
func headerNow() time.Time { return fixture.Now().Add(25 * time.Second) }

// rateDecisions returns n fixture decisions with event (and arrival)
// times drawn from [from, to), numbered and stored in time order, and a
// burst of burst more in the 10 seconds starting at burstAt.
func rateDecisions(seed uint64, n int, from, to time.Time, burst int, burstAt time.Time) []decision.Decision {
	r := rand.New(rand.NewPCG(seed, 7))
	times := make([]time.Time, 0, n+burst)
	for range n {
		times = append(times, from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))))
	}
	for range burst {
		times = append(times, burstAt.Add(time.Duration(r.Int64N(int64(FineStep)))))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	out := make([]decision.Decision, len(times))
	for i, t := range times {
		out[i] = fixture.Decision(i+1, t.Truncate(time.Millisecond))
	}
	return out
}

// headerStore holds two hours of steady traffic and a day-old hour, with
// a burst 70 seconds ago.
func headerStore() *fixture.Reader {
	now := headerNow()
	ds := rateDecisions(1, 600, now.Add(-25*time.Hour), now.Add(-23*time.Hour), 0, time.Time{})
	recent := rateDecisions(2, 1500, now.Add(-2*time.Hour), now, 120, now.Add(-70*time.Second).Truncate(FineStep))
	for i := range recent {
		recent[i] = fixture.Decision(len(ds)+i+1, recent[i].EventTime)
	}
	return fixture.NewWith(append(ds, recent...))
}

// TestHeaderGolden draws the rates header in full (a chart per series,
// the time axis, the baselines) and compact, at several widths, from a
// store with a burst 70 seconds ago.
func TestHeaderGolden(t *testing.T) {
	h := newHarnessWith(t, headerStore(), headerNow, 0, 200, 40)
	var b strings.Builder
	for _, w := range []int{200, 120, 80, 40} {
		h.m.SetSize(w, 40)
		for _, full := range []bool{true, false} {
			out := h.m.rateHeader(headerNow(), full)
			for _, l := range strings.Split(out, "\n") {
				if lw := ansi.StringWidth(l); lw > w {
					t.Fatalf("width %d: header line %d wide", w, lw)
				}
			}
			b.WriteString(ansi.Strip(out) + "\n---\n")
		}
	}
	text := b.String()
	for _, want := range []string{"▲now", "│per 10s", "m ago, per min", "last 5m: deny", "1h ago", "yesterday"} {
		if !strings.Contains(text, want) {
			t.Errorf("header lacks %q", want)
		}
	}
	golden.RequireEqual(t, text)
}

// The burst's bucket is the tallest of the events chart, the actions
// share one scale, and the current bucket is marked on the axis.
func TestHeaderShowsBurstAndCurrentBucket(t *testing.T) {
	h := newHarnessWith(t, headerStore(), headerNow, 0, 120, 40)
	lines := strings.Split(ansi.Strip(h.m.rateHeader(headerNow(), true)), "\n")
	events, axis := []rune(lines[0]), []rune(lines[common.NumSeries])
	top := slices.Index(events, '█')
	if top < 0 || slices.Index(events[top+1:], '█') >= 0 {
		t.Fatalf("want exactly one full block in the events chart:\n%s", lines[0])
	}
	now := slices.Index(axis, '▲')
	if now < 0 {
		t.Fatalf("the current bucket is not marked:\n%s", lines[common.NumSeries])
	}
	// The burst began in the bucket 70s ago: seven buckets before the
	// current one (10:00:20), which is 10:59:10... i.e. 09:59:10.
	if now-top != 7 {
		t.Errorf("the tallest bucket is %d cells before now, want 7 (the burst)", now-top)
	}
	scale := func(l string) string { return strings.TrimSpace(l[strings.LastIndex(l, "max"):]) }
	for s := common.SeriesChallenge; s < common.NumSeries; s++ {
		if got, want := scale(lines[s]), scale(lines[common.SeriesAllow]); got != want {
			t.Errorf("%s scale %q, allow %q: the actions share one scale", seriesLabels[s], got, want)
		}
	}
}

// Every number of the header against a recount of the store's
// decisions: each chart cell, each rate per minute, each share of the
// baseline line; with the seed covering all recent decisions and with it
// covering only the newest.
func TestHeaderNumbersRecount(t *testing.T) {
	for _, n := range []int{1500, SeedRows + 2000} {
		now := headerNow()
		ds := rateDecisions(3, n, now.Add(-26*time.Hour), now, 0, time.Time{})
		h := newHarnessWith(t, fixture.NewWith(ds), headerNow, 0, 200, 50)
		h.run(h.m.loadBaseline())
		all := ds
		countIn := func(from, to time.Time, s common.Series) uint64 {
			var n uint64
			for i := range all {
				d := &all[i]
				if d.EventTime.Before(from) || !d.EventTime.Before(to) {
					continue
				}
				var by [decision.NumActions]uint64
				by[actionIndex(d.Action)]++
				n += seriesValue(by, s)
			}
			return n
		}
		shape := shapeFor(150)
		firstFine := now.Truncate(time.Minute).Add(-time.Duration(shape.fineMinutes-1) * time.Minute)
		seedFrom := time.Time{}
		if len(all) > SeedRows {
			seedFrom = all[len(all)-SeedRows].Time.Truncate(FineStep).Add(FineStep)
		}
		for s := range common.NumSeries {
			cells, cur := h.m.rates.Chart(now, shape, s, nil)
			if len(cells) != shape.cells() {
				t.Fatalf("%d cells, want %d", len(cells), shape.cells())
			}
			for i, got := range cells {
				var want uint64
				if i < shape.minutes {
					m0 := firstFine.Add(-time.Duration(shape.minutes-i) * time.Minute)
					want = countIn(m0, m0.Add(time.Minute), s)
				} else {
					b0 := firstFine.Add(time.Duration(i-shape.minutes) * FineStep)
					switch {
					case b0.After(now):
						want = 0
					case i == cur:
						c := countIn(b0, b0.Add(FineStep), s)
						want = uint64(float64(c)*float64(time.Minute)/float64(now.Sub(b0)) + 0.5)
					case b0.Before(seedFrom):
						m0 := b0.Truncate(time.Minute)
						want = countIn(m0, m0.Add(time.Minute), s)
					default:
						want = 6 * countIn(b0, b0.Add(FineStep), s)
					}
				}
				if got != want {
					t.Fatalf("%d decisions, %s cell %d: %d, recount %d", n, seriesLabels[s], i, got, want)
				}
			}
			m0 := now.Truncate(time.Minute)
			prev := countIn(m0.Add(-time.Minute), m0, s)
			want := countIn(m0, now.Add(time.Nanosecond), s) + uint64(float64(prev)*float64(m0.Add(time.Minute).Sub(now))/float64(time.Minute)+0.5)
			if got := h.m.rates.PerMinute(now, s); got != want {
				t.Errorf("%s per minute %d, recount %d", seriesLabels[s], got, want)
			}
		}
		line := ansi.Strip(h.m.baselineLine(now))
		// The last five minutes (this one so far), and the same five
		// whole minutes an hour and a day before.
		from := now.Truncate(time.Minute).Add(-(BaselineMinutes - 1) * time.Minute)
		share := func(back time.Duration, s common.Series) string {
			f, to := from.Add(-back), now.Truncate(time.Minute).Add(time.Minute-back)
			if back == 0 {
				to = now.Add(time.Nanosecond)
			}
			return common.Share(countIn(f, to, s), countIn(f, to, common.SeriesEvents))
		}
		for _, s := range []common.Series{common.SeriesDeny, common.SeriesChallenge, common.SeriesError} {
			want := seriesLabels[s] + " " + share(0, s) +
				" (1h ago " + share(time.Hour, s) + ", yesterday " + share(24*time.Hour, s) + ")"
			if !strings.Contains(line, want) {
				t.Errorf("%d decisions: baseline line %q lacks the recount %q", n, line, want)
			}
		}
	}
}

func TestHeaderCachedUntilInputsChange(t *testing.T) {
	h := newHarness(t, 40, 0, 200, 40)
	first := h.m.rateHeader(fixture.Now(), true)
	h.m.header.text = "cached"
	if got := h.m.rateHeader(fixture.Now(), true); got != "cached" {
		t.Fatal("header re-rendered with nothing changed")
	}
	if got := h.m.rateHeader(fixture.Now().Add(time.Second), true); got == "cached" {
		t.Error("a new second must re-render (the trailing minute moved)")
	}
	h.m.header.text = "cached"
	h.batch(41, 1)
	if got := h.m.rateHeader(fixture.Now().Add(time.Second), true); got == "cached" || got == first {
		t.Error("new counts must re-render")
	}
}
