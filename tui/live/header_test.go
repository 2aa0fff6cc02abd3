package live

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// rampCounts is the hour of minutes before Now's: minute k (0 the oldest,
// 59 is 09:59) has k allows, k/2 challenges, k/4 denies and an error every
// 10th.
func rampCounts() []decision.MinuteCounts {
	start := fixture.Now().Add(-RateWindow * time.Minute)
	out := make([]decision.MinuteCounts, RateWindow)
	for k := range out {
		out[k].Minute = start.Add(time.Duration(k) * time.Minute)
		out[k].ByAction = [decision.NumActions]uint64{uint64(k), uint64(k / 2), uint64(k / 4), 0}
		if k%10 == 0 {
			out[k].ByAction[3] = 1
		}
	}
	return out
}

// TestHeaderGolden draws the rates header in full (a sparkline per series)
// and compact, at several widths.
func TestHeaderGolden(t *testing.T) {
	h := newHarness(t, 0, 0, 200, 40)
	h.m.rates.Load(rampCounts())
	var b strings.Builder
	for _, w := range []int{200, 120, 80, 40} {
		h.m.SetSize(w, 40)
		for _, full := range []bool{true, false} {
			out := h.m.rateHeader(fixture.Now(), full)
			for _, l := range strings.Split(out, "\n") {
				if lw := ansi.StringWidth(l); lw > w {
					t.Fatalf("width %d: header line %d wide", w, lw)
				}
			}
			b.WriteString(ansi.Strip(out) + "\n---\n")
		}
	}
	text := b.String()
	// At 10:00:00 the trailing minute is 09:59, minute 59 of the ramp:
	// 59 allow, 29 challenge, 14 deny; 10:00 is still empty (the last,
	// lowest block of each sparkline).
	for _, want := range []string{"events       102/min", "allow         59/min", "challenge     29/min", "deny          14/min", "██▁ allow", "errors 0/min"} {
		if !strings.Contains(text, want) {
			t.Errorf("header lacks %q", want)
		}
	}
	golden.RequireEqual(t, text)
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
