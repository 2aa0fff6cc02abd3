package alert

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// want is an expected event: its state, minute end, value, threshold and peak.
type want struct {
	state                  string
	at                     int
	value, threshold, peak float64
}

// checkEvents compares events with the expected ones (values to 1e-4, the
// precision of the hand computations).
func checkEvents(t *testing.T, got []Event, wants []want) {
	t.Helper()
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-4 }
	ok := len(got) == len(wants)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], wants[i]
		ok = g.State == w.state && g.At.Equal(minute(w.at)) && near(g.Value, w.value) &&
			near(g.Threshold, w.threshold) && near(g.Peak, w.peak)
	}
	if !ok {
		t.Errorf("events:")
		for _, g := range got {
			t.Errorf("  got  %s at minute %v value %v threshold %v peak %v", g.State, g.At.Sub(t0).Minutes(), g.Value, g.Threshold, g.Peak)
		}
		for _, w := range wants {
			t.Errorf("  want %s at minute %d value %v threshold %v peak %v", w.state, w.at, w.value, w.threshold, w.peak)
		}
	}
}

// A deny rate of 10/min jumps to 200/min for minutes 30-34. The window
// ending at minute end E holds minute E-1, so the condition holds at ends
// 31..35; with for = 2m it fires at 33 (31 + 2m), and it resolves once it
// has been false for 2m: false from 36, resolved at 38.
func TestRateFiresAndResolvesAtTheRightMinute(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "deny spike"
filter = "action:deny"
kind = "rate"
above = 100
for = "2m"`)
	src := &series{matched: set(flat(120, 10), 30, 35, 200)}
	got, st := replay(t, r, src, 1, 119)
	checkEvents(t, got, []want{
		{StateFiring, 33, 200, 100, 200},
		{StateResolved, 38, 10, 100, 200},
	})
	if got[0].Filter != "action:deny" || got[0].Window != (Window{minute(32), minute(33)}) || !got[0].Baseline.IsZero() {
		t.Errorf("firing event %+v: want filter action:deny, window [32, 33), no baseline", got[0])
	}
	if st.Phase != PhaseOK {
		t.Errorf("final phase %q, want ok (the 5m cooldown has passed)", st.Phase)
	}
}

// Traffic of 50/min stops for minutes 20-24: a band below 10 with for =
// 1m holds at ends 21..25, fires at 22, is false from 26, resolves at 27.
func TestRateBelowFiresWhenTrafficStops(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "logins stopped"
filter = "type:$login"
kind = "rate"
below = 10
for = "1m"`)
	got, _ := replay(t, r, &series{matched: set(flat(60, 50), 20, 25, 0)}, 1, 59)
	checkEvents(t, got, []want{
		{StateFiring, 22, 0, 10, 0},
		{StateResolved, 27, 50, 10, 0},
	})
}

// A band with both limits fires on either side, and reports the limit
// crossed.
func TestRateBandFiresOnEitherSide(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "odd volume"
filter = "action:allow"
kind = "rate"
above = 100
below = 10
cooldown = "0s"`)
	src := &series{matched: set(set(flat(40, 50), 10, 11, 500), 20, 21, 2)}
	got, _ := replay(t, r, src, 1, 39)
	checkEvents(t, got, []want{
		{StateFiring, 11, 500, 100, 500},
		{StateResolved, 13, 50, 10, 500}, // 50 lies nearer to 10 than to 100
		{StateFiring, 21, 2, 10, 2},
		{StateResolved, 23, 50, 10, 2},
	})
}

// Denies are 10 of 100 decisions a minute, then 60 of 100 for minutes
// 50-59: a share above 0.5 fires at 51 and resolves at 62 (false at 61
// and 62: for = 0 still needs a minute of false).
func TestShareFiresAndResolvesAtTheRightMinute(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "deny share"
filter = "action:deny"
kind = "share"
above = 0.5`)
	src := &series{matched: set(flat(90, 10), 50, 60, 60), total: flat(90, 100)}
	got, _ := replay(t, r, src, 1, 89)
	checkEvents(t, got, []want{
		{StateFiring, 51, 0.6, 0.5, 0.6},
		{StateResolved, 62, 0.1, 0.5, 0.6},
	})
}

// A 20/min rate against the previous hour, window 5m, factor 3: spikes of
// 110/min for minutes 130-134. At end E the window [E-5, E) holds k spike
// minutes, value 20+18k; the threshold is 3 × the rate of [E-65, E-5).
//
//	E=132: k=2, value 56 < 3×20 = 60.
//	E=133: k=3, value 74 > 60: fires.
//	E=135: k=5, value 110, threshold 60: the peak (50 beyond).
//	E=137: k=3, value 74; baseline holds 2 spike minutes:
//	       (58×20+220)/60 = 23, threshold 69: still true.
//	E=138: k=2, value 56; baseline (57×20+330)/60 = 24.5, threshold 73.5: false.
//	E=139: k=1, value 38; baseline (56×20+440)/60 = 26, threshold 78: resolved.
func TestRateFactorAgainstThePreviousHour(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "deny x3"
filter = "action:deny"
kind = "rate"
window = "5m"
factor = 3
baseline = "1h"
min_events = 50`)
	src := &series{matched: set(flat(180, 20), 130, 135, 110)}
	got, _ := replay(t, r, src, 70, 179)
	checkEvents(t, got, []want{
		{StateFiring, 133, 74, 60, 74},
		{StateResolved, 139, 38, 78, 110},
	})
}

// 100 risk scores a minute all in bucket 10 (bin 10-19), for a day and
// three hours; on day two, minutes 1500-1509 move to bucket 80. With a 10m
// window against the same time yesterday (all bin 1), k shifted minutes in
// the window give proportions a₁ = (10-k)/10, a₈ = k/10 against e₁ = 1,
// e₈ = ε (PSIEpsilon):
//
//	k=1 (E=1501): (0.9-1)·ln 0.9 + (0.1-ε)·ln(0.1/ε) = 0.010536 + 0.690085 = 0.700621
//	k=10 (E=1510): a₁ = ε: 2·(1-ε)·ln(1/ε) = 18.418839, the peak
//	E=1520: the window is back to bin 1, PSI 0; resolved at 1521.
func TestShiftFiresAndResolvesAtTheRightMinute(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "risk shift"
kind = "shift"
score = "risk"
above = 0.25
baseline = "1d"
min_events = 100`)
	const n = 1440 + 180
	src := &series{hist: make([][101]uint64, n)}
	for i := range src.hist {
		if i >= 1500 && i < 1510 {
			src.hist[i][80] = 100
		} else {
			src.hist[i][10] = 100
		}
	}
	got, _ := replay(t, r, src, 1450, n-1)
	checkEvents(t, got, []want{
		{StateFiring, 1501, 0.700621, 0.25, 0.700621},
		{StateResolved, 1521, 0, 0.25, 18.418839},
	})
	if got[0].Score != "risk" || got[0].Kind != KindShift || got[0].Baseline != (Window{minute(1501 - 10 - 1440), minute(1501 - 1440)}) {
		t.Errorf("firing event %+v: want score risk, kind shift, baseline yesterday", got[0])
	}
}

// The condition holding for three minute ends is 2m, short of for = 3m;
// holding for four (3m) fires, at the fourth.
func TestForHolds(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "slow"
filter = "action:deny"
kind = "rate"
above = 100
for = "3m"`)
	src := &series{matched: set(set(flat(60, 0), 10, 13, 200), 30, 34, 200)}
	got, _ := replay(t, r, src, 1, 59)
	checkEvents(t, got, []want{
		{StateFiring, 34, 200, 100, 200},
		{StateResolved, 38, 0, 100, 200},
	})
}

// After a resolution at 14 with a 10m cooldown, a condition that holds
// again from 17 keeps the rule pending until 24, when it fires; a spike
// inside the cooldown of the second resolution never fires.
func TestCooldownHolds(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "cool"
filter = "action:deny"
kind = "rate"
above = 100
cooldown = "10m"`)
	m := flat(80, 0)
	set(m, 10, 12, 200) // ends 11, 12: fires at 11, false at 13, 14: resolved at 14
	set(m, 16, 30, 200) // ends 17..30: pending, fires at 24; resolved at 32
	set(m, 35, 40, 200) // ends 36..40: inside the cooldown until 42: never fires
	src := &series{matched: m}
	got, _ := replay(t, r, src, 1, 79)
	checkEvents(t, got, []want{
		{StateFiring, 11, 200, 100, 200},
		{StateResolved, 14, 0, 100, 200},
		{StateFiring, 24, 200, 100, 200},
		{StateResolved, 32, 0, 100, 200},
	})
	_, st := replay(t, r, src, 1, 20)
	if st.Phase != PhasePending || !st.TrueSince.Equal(minute(17)) {
		t.Errorf("at minute 20 the state is %+v, want pending since 17 (cooling down)", st)
	}
}

// A condition that fires, then toggles every minute for half an hour,
// fires once and resolves once, after it settles; toggling while ok never
// reaches for and never fires.
func TestFlappingSeriesFiresOnce(t *testing.T) {
	flapping := func(from, to int) []uint64 {
		m := flat(90, 0)
		for i := from; i < to; i++ {
			if i%2 == 0 {
				m[i] = 200
			}
		}
		return m
	}
	for _, tc := range []struct {
		name, rule string
		m          []uint64
		want       []want
	}{{
		// ends 11..13 true: fires at 13; ends 14..41 alternate (minute 40
		// is the last true); false at 42..44: resolved at 44.
		name: "for 2m", rule: `for = "2m"`, m: set(flapping(13, 41), 10, 13, 200),
		want: []want{{StateFiring, 13, 200, 100, 200}, {StateResolved, 44, 0, 100, 200}},
	}, {
		// for = 0 fires at the first true end (11); resolving needs two
		// false ends in a row, first seen at 42, 43.
		name: "for 0", rule: `cooldown = "0s"`, m: flapping(10, 41),
		want: []want{{StateFiring, 11, 200, 100, 200}, {StateResolved, 43, 0, 100, 200}},
	}, {
		name: "never holds for 2m", rule: `for = "2m"`, m: flapping(10, 41),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRule(t, "[[alert]]\nname = \"flap\"\nfilter = \"action:deny\"\nkind = \"rate\"\nabove = 100\n"+tc.rule)
			got, _ := replay(t, r, &series{matched: tc.m}, 1, 89)
			checkEvents(t, got, tc.want)
		})
	}
}

// A baseline of 30 decisions an hour is below min_events = 50: a spike
// of 1,000 a minute against it never fires, and every evaluation is thin
// (until minute end 156, when the spike enters the baseline hour).
func TestThinBaselineNeverFires(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "x3 of nothing"
filter = "action:deny"
kind = "rate"
window = "5m"
factor = 3
baseline = "1h"
min_events = 50`)
	m := flat(180, 0)
	for i := 0; i < len(m); i += 2 {
		m[i] = 1 // 30 an hour
	}
	set(m, 150, 170, 1000)
	src := &series{matched: m}
	got, st := replay(t, r, src, 65, 155)
	checkEvents(t, got, nil)
	if st.Last.Verdict != VerdictThin || st.Last.BaselineEvents != 30 {
		t.Errorf("last observation %+v, want thin with 30 baseline events", st.Last)
	}
	rep, err := Backtest(t.Context(), src, []Rule{r}, minute(65), minute(155))
	if err != nil {
		t.Fatal(err)
	}
	if a := rep.Alerts[0]; len(a.Firings) != 0 || a.Evaluated != 91 || a.Thin != 91 {
		t.Errorf("backtest %+v, want no firings and 91 thin evaluations", a)
	}
}

// A share over fewer decisions than min_events is thin too, however large.
func TestThinShareNeverFires(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "share of few"
filter = "action:deny"
kind = "share"
above = 0.5`)
	got, _ := replay(t, r, &series{matched: flat(30, 5), total: flat(30, 5)}, 1, 29)
	checkEvents(t, got, nil)
}

// A firing shift rule whose traffic stops (an empty window is thin) stays
// firing: a thin evaluation never resolves.
func TestThinWindowNeverResolves(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "risk shift"
kind = "shift"
score = "risk"
window = "1m"
above = 0.25
baseline = "1h"
min_events = 10`)
	src := &series{hist: make([][101]uint64, 120)}
	for i := 0; i < 70; i++ {
		src.hist[i][10] = 100
	}
	src.hist[70][90] = 100 // the shift, then nothing
	got, st := replay(t, r, src, 61, 119)
	checkEvents(t, got, []want{{StateFiring, 71, 18.418839, 0.25, 18.418839}})
	if st.Phase != PhaseFiring || st.Last.Verdict != VerdictThin {
		t.Errorf("final state %+v, want firing on a thin window", st)
	}
}

// The baselines measure the right windows: 1h the hour before the window,
// 1d and 7d the same window a day and a week earlier, each holding 40
// decisions a minute where every other minute has 10.
func TestBaselinesPickTheRightWindows(t *testing.T) {
	const end = 7*1440 + 120 // a week and two hours in
	for _, tc := range []struct {
		baseline string
		from, to int // the baseline window, in minutes from t0
	}{
		{"1h", end - 10 - 60, end - 10},
		{"1d", end - 10 - 1440, end - 1440},
		{"7d", end - 10 - 7*1440, end - 7*1440},
	} {
		t.Run(tc.baseline, func(t *testing.T) {
			r := mustRule(t, `[[alert]]
name = "b"
filter = "action:deny"
kind = "rate"
window = "10m"
factor = 2
baseline = "`+tc.baseline+`"`)
			src := &series{matched: set(flat(end+10, 10), tc.from, tc.to, 40)}
			o, err := Observe(t.Context(), src, &r, minute(end))
			if err != nil {
				t.Fatal(err)
			}
			wantBase := Window{minute(tc.from), minute(tc.to)}
			if o.Window != (Window{minute(end - 10), minute(end)}) || o.Baseline != wantBase {
				t.Errorf("windows %v and %v, want [%d, %d) and [%d, %d)", o.Window, o.Baseline, end-10, end, tc.from, tc.to)
			}
			if o.Threshold != 80 || o.Value != 10 || o.Verdict != VerdictFalse {
				t.Errorf("observation %+v, want value 10 against threshold 2×40", o)
			}
			if !reflect.DeepEqual(src.asked, []Window{o.Window, wantBase}) {
				t.Errorf("the source was asked %v", src.asked)
			}
		})
	}
}

// A state marshalled to JSON and back halfway through a series goes on
// exactly as one that was never interrupted.
func TestStateSurvivesJSON(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "deny spike"
filter = "action:deny"
kind = "rate"
above = 100
for = "2m"`)
	src := &series{matched: set(flat(120, 10), 30, 50, 200)}
	whole, _ := replay(t, r, src, 1, 119)
	var st State
	var got []Event
	for k := 1; k < 120; k++ {
		o, err := Observe(t.Context(), src, &r, minute(k))
		if err != nil {
			t.Fatal(err)
		}
		if ev, ok := st.Step(&r, o); ok {
			got = append(got, ev)
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		st = State{}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, whole) || len(got) != 2 {
		t.Errorf("interrupted run %+v, uninterrupted %+v", got, whole)
	}
}

// Step ignores an observation that is not after the last one, and a
// skipped minute breaks the run of true evaluations.
func TestStepIgnoresRepeatsAndGapsBreakRuns(t *testing.T) {
	r := mustRule(t, `[[alert]]
name = "x"
filter = "action:deny"
kind = "rate"
above = 1
for = "2m"`)
	obs := func(k int) Observation {
		return Observation{End: minute(k), Value: 5, Threshold: 1, Verdict: VerdictTrue}
	}
	var st State
	for _, k := range []int{1, 2, 2, 1, 4, 5} { // 3 is skipped
		if ev, ok := st.Step(&r, obs(k)); ok {
			t.Fatalf("fired at %d: %+v", k, ev)
		}
	}
	if ev, ok := st.Step(&r, obs(6)); !ok || !ev.At.Equal(minute(6)) {
		t.Errorf("step at 6 = %+v, %v; want firing (true at 4, 5, 6)", ev, ok)
	}
}

// Observe refuses an instant that is not a whole minute: the Source would
// be asked for windows rollups cannot answer.
func TestObserveWantsWholeMinutes(t *testing.T) {
	r := mustRule(t, "[[alert]]\nname = \"x\"\nfilter = \"action:deny\"\nkind = \"rate\"\nabove = 1")
	src := &series{matched: flat(10, 1)}
	if _, err := Observe(t.Context(), src, &r, minute(5).Add(time.Second)); err == nil {
		t.Error("Observe accepted 00:05:01")
	}
	if len(src.asked) != 0 {
		t.Errorf("the source was asked %v", src.asked)
	}
}
