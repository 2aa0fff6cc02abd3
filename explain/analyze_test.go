package explain

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

func TestPrepareRefusesBadInput(t *testing.T) {
	ds := newGen(0).traffic(basePeriod.From, time.Hour, 100)
	good := func() Input {
		return Input{Window: Side{Period: winPeriod, Counts: Count(ds[:50])}, Baseline: Side{Period: basePeriod, Counts: Count(ds[50:])}}
	}
	for _, c := range []struct {
		name  string
		edit  func(*Input, *Options)
		error string
	}{
		{"unknown mode", func(in *Input, _ *Options) { in.Mode = 7 }, "unknown mode"},
		{"empty window", func(in *Input, _ *Options) { in.Window.To = in.Window.From }, "must be positive"},
		{"backwards baseline", func(in *Input, _ *Options) { in.Baseline.Period = Period{From: t0, To: t0.Add(-time.Hour)} }, "must be positive"},
		{"count above total", func(in *Input, _ *Options) { in.Window.Counts.Dims[decision.DimSignal].Counts["x"] = 51 }, "above the total"},
		{"values above total", func(in *Input, _ *Options) { in.Baseline.Counts.Dims[decision.DimType].Rest = 1 }, "add up to 51"},
		{"empty value", func(in *Input, _ *Options) { in.Window.Counts.Dims[decision.DimPolicy].Counts[""] = 0 }, "empty value"},
		{"alpha", func(_ *Input, o *Options) { o.Alpha = 1 }, "alpha"},
		{"ratio", func(_ *Input, o *Options) { o.MinRatio = 0.5 }, "ratio"},
		{"share", func(_ *Input, o *Options) { o.MinShare = -1 }, "share"},
		{"cover", func(_ *Input, o *Options) { o.Cover = 2 }, "cover"},
		{"candidates", func(_ *Input, o *Options) { o.Candidates = -1 }, "candidates"},
	} {
		in, opt := good(), Options{}
		if _, err := Prepare(in, opt); err != nil {
			t.Fatalf("%s: the good input fails: %v", c.name, err)
		}
		c.edit(&in, &opt)
		if _, err := Prepare(in, opt); err == nil || !strings.Contains(err.Error(), c.error) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.error)
		}
	}
	// Deny mode has no widths to check.
	in := good()
	in.Mode, in.Baseline.Period = ModeDeny, Period{}
	if _, err := Prepare(in, Options{}); err != nil {
		t.Errorf("deny mode without widths: %v", err)
	}
}

// A baseline of seven same-time windows covers seven window widths, not
// the week between its ends.
func TestPeriodWidth(t *testing.T) {
	week := Period{From: t0.Add(-7 * 24 * time.Hour), To: t0, Width: 70 * time.Minute}
	if week.Duration() != 70*time.Minute || winPeriod.Duration() != 10*time.Minute {
		t.Errorf("durations %v %v", week.Duration(), winPeriod.Duration())
	}
	window, baseline := spikeScenario(1)
	r, err := Volume(winPeriod, window, week, baseline, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := float64(len(window)) - float64(len(baseline))/7; r.Excess != want || r.Baseline.Seconds != 4200 {
		t.Errorf("excess %v seconds %v, want %v and 4200", r.Excess, r.Baseline.Seconds, want)
	}
}

func TestModeText(t *testing.T) {
	for _, m := range []Mode{ModeVolume, ModeDeny} {
		b, err := m.MarshalText()
		var back Mode
		if err != nil || back.UnmarshalText(b) != nil || back != m {
			t.Errorf("%v: round trip %q %v %v", m, b, back, err)
		}
	}
	if _, err := Mode(9).MarshalText(); err == nil {
		t.Error("an unknown mode marshals")
	}
	if _, err := ParseMode("spike"); err == nil {
		t.Error("ParseMode(spike) succeeded")
	}
}

// The JSON of SPEC section 11, with its extra fields: snake_case names,
// "with" an array (empty for a single value), the leave-one-out field of
// the mode only.
func TestResultJSON(t *testing.T) {
	window, baseline := recountScenario()
	r := mustVolume(t, window, baseline)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Mode     string                       `json:"mode"`
		Window   map[string]any               `json:"window"`
		Baseline map[string]any               `json:"baseline"`
		Drivers  []map[string]json.RawMessage `json:"drivers"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Mode != "volume" || got.Window["from"] != "2026-03-02T11:50:00Z" || got.Window["to"] != "2026-03-02T12:00:00Z" ||
		got.Window["count"] != float64(len(window)) || got.Baseline["count"] != float64(len(baseline)) {
		t.Errorf("sides: %s", b)
	}
	wantKeys := []string{"baseline", "baseline_share", "dimension", "excess", "p", "q", "ratio", "remaining",
		"share_change", "term", "value", "window", "window_share", "with"}
	for _, d := range got.Drivers {
		keys := slices.Sorted(maps.Keys(d))
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("driver keys %v, want %v", keys, wantKeys)
		}
	}
	first, last := got.Drivers[0], got.Drivers[len(got.Drivers)-1]
	if string(first["dimension"]) != `"ip24"` || string(first["with"]) != `[{"dimension":"ua_family","value":"python-requests"}]` ||
		string(last["with"]) != `[]` {
		t.Errorf("drivers: %s", b)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Drivers[0].Values(), r.Drivers[0].Values()) {
		t.Errorf("round trip: %v", err)
	}
}

// Without pair counts a pair is bounded from its values' counts; the
// window's lower bound is zero unless the two values cover more than the
// whole window, so the spike's values are reported apart, as cautious
// singles, and nothing is invented.
func TestExplainWithoutPairCounts(t *testing.T) {
	window, baseline := spikeScenario(2)
	in := Input{Window: Side{Period: winPeriod, Counts: Count(window)}, Baseline: Side{Period: basePeriod, Counts: Count(baseline)}}
	an, err := Prepare(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := an.Candidates(); len(c) < 2 || !slices.Contains(c, spikeNet) || !slices.Contains(c, spikeUA) {
		t.Fatalf("candidates %v", c)
	}
	r := an.Explain(PairCounts{}, PairCounts{})
	var vals []Value
	for _, d := range r.Drivers {
		if len(d.With) != 0 {
			t.Errorf("a pair without pair counts: %v", d.Values())
		}
		vals = append(vals, d.Values()...)
	}
	if !slices.Contains(vals, spikeNet) || !slices.Contains(vals, spikeUA) {
		t.Errorf("drivers %v, want both of the spike's values", vals)
	}
	// Explaining again, now with the counts, gives the pair: an Analysis is
	// not used up.
	c := an.Candidates()
	if r := an.Explain(CountPairs(window, c), CountPairs(baseline, c)); len(r.Drivers[0].With) != 1 {
		t.Errorf("with pair counts: top driver %v", r.Drivers[0].Values())
	}
}
