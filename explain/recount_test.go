package explain

import (
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// countMatches counts the decisions of ds that keep accepts and that have
// every value of d, by brute force.
func countMatches(ds []decision.Decision, d *Driver, keep func(*decision.Decision) bool) uint64 {
	var n uint64
	for i := range ds {
		if keep(&ds[i]) && d.Match(&ds[i]) {
			n++
		}
	}
	return n
}

func all(*decision.Decision) bool { return true }

func action(a decision.Action) func(*decision.Decision) bool {
	return func(d *decision.Decision) bool { return d.Action == a }
}

// recountScenario has several kinds of drivers at once: pairs (the /24
// spike; stuffing, which is denied) and a single value (a burst of
// sign-ups from a throwaway email domain).
func recountScenario() (window, baseline []decision.Decision) {
	window, baseline = spikeScenario(7)
	g := newGen(8)
	throwaway := g.traffic(winPeriod.From, 10*time.Minute, 80)
	for i := range throwaway {
		throwaway[i].Email = throwaway[i].UserID + "@mailinator.com"
	}
	return slices.Concat(window, g.stuffing(winPeriod.From, 10*time.Minute, 120), throwaway), baseline
}

// Every driver's numbers equal a brute-force recount over the decisions:
// Window and Baseline are the decisions with all its values, Excess is
// Window - Baseline × (10m / 60m), and the leave-one-out remainder is the
// total excess without the driver's events over the total excess.
func TestVolumeDriversMatchRecount(t *testing.T) {
	window, baseline := recountScenario()
	r := mustVolume(t, window, baseline)
	if len(r.Drivers) < 3 || len(r.Drivers[0].With) != 1 || len(r.Drivers[len(r.Drivers)-1].With) != 0 {
		t.Fatalf("want pairs and a single, got %d drivers", len(r.Drivers))
	}
	const scale = float64(10*time.Minute) / float64(time.Hour)
	nw, nb := uint64(len(window)), uint64(len(baseline))
	total := float64(nw) - float64(nb)*scale
	if r.Window.Count != nw || r.Baseline.Count != nb || r.Excess != total || r.Window.Seconds != 600 || r.Baseline.Seconds != 3600 {
		t.Errorf("sides %+v %+v excess %v", r.Window, r.Baseline, r.Excess)
	}
	for i := range r.Drivers {
		d := &r.Drivers[i]
		w, b := countMatches(window, d, all), countMatches(baseline, d, all)
		excess := float64(w) - float64(b)*scale
		remaining := (total - excess) / total
		if d.Window != w || d.Baseline != b || d.Excess != excess || d.Remaining == nil || *d.Remaining != remaining || d.Bound {
			t.Errorf("%v: window %d baseline %d excess %v remaining %v bound %v; recount %d %d %v %v",
				d.Values(), d.Window, d.Baseline, d.Excess, d.Remaining, d.Bound, w, b, excess, remaining)
		}
		checkShares(t, d, nw, nb)
	}
}

// In deny mode Window and Baseline count the driver's denies and allows,
// Excess is denies - allows × (denies / allows) over the window, and the
// deny rate without the driver is recounted without its decisions.
func TestDenyDriversMatchRecount(t *testing.T) {
	window, _ := recountScenario()
	r := mustDeny(t, window)
	if len(r.Drivers) < 2 {
		t.Fatalf("want several drivers, got %d", len(r.Drivers))
	}
	isDeny, isAllow := action(decision.ActionDeny), action(decision.ActionAllow)
	nd := countMatches(window, &Driver{Dimension: decision.DimAction, Value: "deny"}, all)
	na := countMatches(window, &Driver{Dimension: decision.DimAction, Value: "allow"}, all)
	if r.Window.Count != nd || r.Baseline.Count != na || r.Excess != 0 || *r.DenyRate != float64(nd)/float64(nd+na) {
		t.Errorf("sides %+v %+v excess %v deny rate %v", r.Window, r.Baseline, r.Excess, *r.DenyRate)
	}
	for i := range r.Drivers {
		d := &r.Drivers[i]
		if d.Dimension == decision.DimAction {
			t.Errorf("deny mode reports the action it splits on: %v", d.Values())
		}
		w, b := countMatches(window, d, isDeny), countMatches(window, d, isAllow)
		excess := float64(w) - float64(b)*(float64(nd)/float64(na))
		without := float64(nd-w) / float64(nd-w+na-b)
		if d.Window != w || d.Baseline != b || d.Excess != excess || d.DenyRateWithout == nil || *d.DenyRateWithout != without {
			t.Errorf("%v: denies %d allows %d excess %v without %v; recount %d %d %v %v",
				d.Values(), d.Window, d.Baseline, d.Excess, d.DenyRateWithout, w, b, excess, without)
		}
		checkShares(t, d, nd, na)
	}
}

func checkShares(t *testing.T, d *Driver, nw, nb uint64) {
	t.Helper()
	ws, bs := float64(d.Window)/float64(nw), float64(d.Baseline)/float64(nb)
	if d.WindowShare != ws || d.BaselineShare != bs || d.ShareChange != ws-bs {
		t.Errorf("%v: shares %v %v %v, want %v %v", d.Values(), d.WindowShare, d.BaselineShare, d.ShareChange, ws, bs)
	}
	if bs > 0 && !near(d.Ratio, ws/bs, 1e-12) {
		t.Errorf("%v: ratio %v, want %v", d.Values(), d.Ratio, ws/bs)
	}
	if d.Q < d.P || d.Q > 0.01 || d.Window < 10 || d.Excess <= 0 || !(d.Ratio >= 1.5 || d.ShareChange >= 0.02) {
		t.Errorf("%v: p %g q %g window %d excess %v ratio %v: below a floor", d.Values(), d.P, d.Q, d.Window, d.Excess, d.Ratio)
	}
}

// A 24-hour baseline comes from rollups that keep the top values of each
// period. With the baseline rolled up into six periods of 20 values per
// dimension and no baseline pair counts, the spike is still the top
// driver; its numbers are marked as bounds and err on the cautious side:
// the baseline count at or above the truth, the excess at or below it.
func TestTruncatedBaselineIsCautious(t *testing.T) {
	window, baseline := spikeScenario(4)
	var rolled Counts
	for i := range 6 {
		c := Count(baseline[i*1000 : (i+1)*1000])
		c.Truncate(20)
		rolled.Merge(&c)
	}
	in := Input{
		Mode:     ModeVolume,
		Window:   Side{Period: winPeriod, Counts: Count(window)},
		Baseline: Side{Period: basePeriod, Counts: rolled},
	}
	an, err := Prepare(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := an.Explain(CountPairs(window, an.Candidates()), PairCounts{})
	exact := mustVolume(t, window, baseline)
	if len(r.Drivers) == 0 || !slices.Equal(r.Drivers[0].Values(), []Value{spikeNet, spikeUA}) {
		t.Fatalf("top driver %v, want the spike's pair", r.Drivers)
	}
	for _, d := range r.Drivers {
		b := countMatches(baseline, &d, all)
		if d.Window != countMatches(window, &d, all) || d.Baseline < b || (d.Baseline > b && !d.Bound) {
			t.Errorf("%v: window %d baseline %d (true %d) bound %v", d.Values(), d.Window, d.Baseline, b, d.Bound)
		}
	}
	if got, want := r.Drivers[0], exact.Drivers[0]; got.Excess > want.Excess || got.P < want.P {
		t.Errorf("truncated: excess %v p %g; exact: excess %v p %g", got.Excess, got.P, want.Excess, want.P)
	}
	if len(r.Drivers) > len(exact.Drivers) {
		t.Errorf("truncated counts report %d drivers, exact ones %d", len(r.Drivers), len(exact.Drivers))
	}
}
