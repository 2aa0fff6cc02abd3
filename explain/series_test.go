package explain

import (
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

func TestSeries(t *testing.T) {
	at := func(d time.Duration, ua string) decision.Decision {
		return decision.Decision{EventTime: winPeriod.From.Add(d), UserAgent: ua}
	}
	ds := []decision.Decision{
		at(-time.Second, pythonUA), // before the period
		at(0, pythonUA),            // first bin, from its first instant
		at(59*time.Second, pythonUA),
		at(time.Minute, pythonUA), // a bin's end is the next bin's start
		at(time.Minute, "curl/8.5.0"),
		at(5*time.Minute+time.Second, pythonUA),
		at(10*time.Minute-time.Nanosecond, pythonUA), // last bin
		at(10*time.Minute, pythonUA),                 // the period's end is outside
	}
	d := Driver{Dimension: decision.DimUAFamily, Value: "python-requests"}
	got, err := Series(ds, d.Match, winPeriod.From, winPeriod.To, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{2, 1, 0, 0, 0, 1, 0, 0, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("Series = %v, want %v", got, want)
	}
	// Bins that do not divide the period evenly still cover it exactly.
	got, _ = Series(ds, d.Match, winPeriod.From, winPeriod.To, 3)
	if want := []uint64{3, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("3 bins = %v, want %v", got, want)
	}
	for _, bad := range []struct {
		bins     int
		from, to time.Time
	}{{0, winPeriod.From, winPeriod.To}, {5, winPeriod.To, winPeriod.To}, {5, winPeriod.To, winPeriod.From}} {
		if _, err := Series(ds, d.Match, bad.from, bad.to, bad.bins); err == nil {
			t.Errorf("Series(%d bins, %v, %v) succeeded", bad.bins, bad.from, bad.to)
		}
	}
}

// The sparkline of the planted spike's driver holds its 300 decisions.
func TestSeriesOfADriver(t *testing.T) {
	window, baseline := spikeScenario(5)
	r := mustVolume(t, window, baseline)
	d := r.Drivers[0]
	bins, err := Series(slices.Concat(baseline, window), d.Match, basePeriod.From, winPeriod.To, 7)
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for _, n := range bins {
		sum += n
	}
	if sum != d.Window+d.Baseline || bins[6] != d.Window {
		t.Errorf("bins %v, want %d in the last and %d in all", bins, d.Window, d.Window+d.Baseline)
	}
}
