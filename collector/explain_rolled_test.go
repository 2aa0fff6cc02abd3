package collector

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/explain"
)

// rolledDay is spikeDay over a day and its previous one, with addresses
// from a pool small enough (400) that no rollup truncates them: a
// baseline read from the rollups is then exact.
func rolledDay(seed uint64) []decision.Decision {
	g := newExGen(seed)
	win := exT0.Add(-10 * time.Minute)
	var ds []decision.Decision
	ds = append(ds, g.traffic(win.Add(-25*time.Hour), 25*time.Hour, 6000)...)
	ds = append(ds, g.traffic(win, 10*time.Minute, 300)...)
	for i := range ds {
		ds[i].IP = fmt.Sprintf("11.0.%d.%d", i%4, 1+i%100)
	}
	return append(ds, g.spike(win, 10*time.Minute, 150)...)
}

// TestExplainRolledCountsEqualScan: with nothing truncated, every round of
// an unfiltered explanation read from the rollups equals the same round
// counted from the decisions, single values and sparklines exactly, for
// windows that do not start on a minute; pairs are counted in a scanned
// window only and left unknown on the rolled sides; a pair's sparkline in
// a wide window is an upper bound (checkRolledSeries).
func TestExplainRolledCountsEqualScan(t *testing.T) {
	r := exReader(t, rolledDay(1))
	ctx := context.Background()
	until := exT0.Add(-20 * time.Second)
	pairs := api.Values{{Dim: decision.DimIP24, Value: "203.0.113.0/24"}, {Dim: decision.DimUAFamily, Value: "python-requests"}, {Dim: decision.DimSignal, Value: "new_device"}}
	series := api.Drivers{
		{{Dim: decision.DimIP24, Value: "203.0.113.0/24"}},
		{{Dim: decision.DimIP24, Value: "203.0.113.0/24"}, {Dim: decision.DimUAFamily, Value: "python-requests"}},
		{{Dim: decision.DimSignal, Value: "new_device"}},
		{{Dim: decision.DimType, Value: "$login"}},
	}
	for _, c := range []struct {
		window, baseline string
		mode             explain.Mode
		scannedWindow    bool
	}{
		{"10m", "1h", explain.ModeVolume, true},
		{"10m", "24h", explain.ModeVolume, true},
		{"10m", "1d", explain.ModeVolume, true},
		{"3h", "20h", explain.ModeVolume, false},
		{"10m", "", explain.ModeDeny, true},
		{"20h", "", explain.ModeDeny, false},
	} {
		name := fmt.Sprintf("%s-vs-%s-%v", c.window, c.baseline, c.mode)
		t.Run(name, func(t *testing.T) {
			for _, round := range []api.ExplainCountsQuery{{Singles: true}, {Pairs: pairs}, {Series: series}} {
				q := round
				q.Window, q.Baseline, q.Until, q.Mode = c.window, c.baseline, until, c.mode
				plan, err := api.PlanExplain(q)
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.ExplainCounts(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := r.scannedExplainCounts(ctx, q, plan, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Window, want.Window) || !reflect.DeepEqual(got.Baseline, want.Baseline) {
					t.Errorf("singles %+v: rolled counts differ from scanned ones:\n%+v\n%+v\nwant\n%+v\n%+v", round, got.Window, got.Baseline, want.Window, want.Baseline)
				}
				if len(q.Series) > 0 {
					checkRolledSeries(t, q.Series, got, want, !c.scannedWindow)
				}
				if len(q.Pairs) == 0 {
					continue
				}
				wantWindow := want.WindowPairs
				if !c.scannedWindow {
					wantWindow = explain.PairCounts{}
				}
				wantBaseline := explain.PairCounts{}
				if c.mode == explain.ModeDeny && c.scannedWindow {
					wantBaseline = want.BaselinePairs
				}
				if !reflect.DeepEqual(got.WindowPairs, wantWindow) || !reflect.DeepEqual(got.BaselinePairs, wantBaseline) {
					t.Errorf("pairs: rolled %+v %+v, want %+v %+v", got.WindowPairs, got.BaselinePairs, wantWindow, wantBaseline)
				}
			}
		})
	}

	// And the whole explanation finds the planted pair, with exact
	// counts: its baseline count, left unknown, is bounded by zero.
	e := mustExplain(t, r, api.ExplainQuery{Window: "10m", Baseline: "24h", Until: exUntil})
	if len(e.Drivers) == 0 || !isSpike(&e.Drivers[0]) || len(e.Drivers[0].With) != 1 || e.Drivers[0].Bound || e.Bounded {
		t.Fatalf("drivers %+v (bounded %t), want the planted pair first, exact", e.Drivers, e.Bounded)
	}
	if top := e.Drivers[0]; top.Window != 150 || top.Baseline != 0 || top.Series[len(top.Series)-1] == 0 {
		t.Errorf("top driver %+v, want 150 window events, none before, a sparkline", top)
	}
}

// checkRolledSeries compares rolled sparklines with scanned ones: equal,
// but in a wide window, where a pair's is the smaller of its two values'
// (at least the scanned one, and flagged bounded).
func checkRolledSeries(t *testing.T, drivers api.Drivers, got, want api.ExplainCounts, wide bool) {
	t.Helper()
	if len(got.Series) != len(want.Series) || got.SeriesBounded != wide {
		t.Fatalf("series: rolled %v (bounded %t), want %v (bounded %t)", got.Series, got.SeriesBounded, want.Series, wide)
	}
	for i, d := range drivers {
		if len(d) == 1 || !wide {
			if !reflect.DeepEqual(got.Series[i], want.Series[i]) {
				t.Errorf("series of %v: rolled %v, want %v", d, got.Series[i], want.Series[i])
			}
			continue
		}
		for b := range got.Series[i] {
			if got.Series[i][b] < want.Series[i][b] {
				t.Errorf("series of pair %v: rolled %v, below the scanned %v", d, got.Series[i], want.Series[i])
				break
			}
		}
	}
}

// TestExplainRolledFederated: two collectors' rolled counts add up to
// those of one collector holding every decision, so a federated rolled
// explanation is that collector's, number for number.
func TestExplainRolledFederated(t *testing.T) {
	ds := rolledDay(2)
	var half [2][]decision.Decision
	for i, d := range ds {
		half[i%2] = append(half[i%2], d)
	}
	whole, a, b := exReader(t, ds), exReader(t, half[0]), exReader(t, half[1])
	f, err := api.Federate(api.Member{Name: "a", Reader: a}, api.Member{Name: "b", Reader: b})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []api.ExplainQuery{
		{Window: "10m", Baseline: "24h", Until: exUntil},
		{Window: "10m", Baseline: "1d", Until: exUntil},
		{Window: "20h", Until: exUntil, Mode: explain.ModeDeny},
	} {
		want := mustExplain(t, whole, q)
		got := mustExplain(t, f, q)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: federated\n%+v\nwant\n%+v", q, got, want)
		}
		if q.Mode == explain.ModeVolume && (len(got.Drivers) == 0 || !isSpike(&got.Drivers[0])) {
			t.Errorf("%+v: drivers %+v, want the spike first", q, got.Drivers)
		}
	}
}

// TestExplainRolledBounded: a baseline with more addresses per hour than a
// rollup lists is read with bounds, and the answer says so; the planted
// cause is still found.
func TestExplainRolledBounded(t *testing.T) {
	g := newExGen(3)
	win := exT0.Add(-10 * time.Minute)
	ds := g.traffic(win.Add(-3*time.Hour), 3*time.Hour, 9000)
	ds = append(ds, g.traffic(win, 10*time.Minute, 500)...)
	ds = append(ds, g.spike(win, 10*time.Minute, 150)...)
	r := exReader(t, ds)
	e := mustExplain(t, r, api.ExplainQuery{Window: "10m", Baseline: "3h", Until: exUntil})
	if !e.Bounded {
		t.Errorf("bounded not set with thousands of addresses an hour")
	}
	if len(e.Drivers) == 0 || !isSpike(&e.Drivers[0]) {
		t.Fatalf("drivers %+v, want the spike first", e.Drivers)
	}
}
