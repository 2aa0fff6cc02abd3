package journey

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// journeyOf returns user's shaped decisions newest first, as
// api.Reader.Journey does.
func journeyOf(user string) []decision.Decision {
	var out []decision.Decision
	for _, d := range fixture.ShapedDecisions() {
		if d.UserID == user {
			out = append(out, d)
		}
	}
	slices.Reverse(out)
	return out
}

// Short names for the chain steps in the tables below.
const (
	F = decision.StepFailedLogin
	N = decision.StepNewLogin
	P = decision.StepProfileChange
	T = decision.StepTransaction
	o = decision.StepNone
)

func TestBuildTimelineVictim(t *testing.T) {
	tl := buildTimeline(journeyOf("victim"))
	if len(tl.rows) != 10 || tl.chain != 6 || tl.maxRisk != 86 || tl.denies != 1 {
		t.Fatalf("rows %d chain %d max %v denies %d", len(tl.rows), tl.chain, tl.maxRisk, tl.denies)
	}
	ids := fixture.VictimEvents()
	wantSteps := []decision.Step{o, o, o, o, F, F, F, N, P, T}
	for i, r := range tl.rows {
		if r.d.EventID != ids[i] {
			t.Fatalf("row %d is %s, want %s (oldest first)", i, r.d.EventID, ids[i])
		}
		if r.step != wantSteps[i] {
			t.Errorf("%s: step %v, want %v", ids[i], r.step, wantSteps[i])
		}
	}
	// What changed from the previous event.
	type change struct{ ip, dev, cc bool }
	wantChange := map[string]change{
		"victim-4": {ip: true},                      // the work address
		"victim-5": {ip: true, dev: true, cc: true}, // the attacker
	}
	for _, r := range tl.rows {
		got := change{r.newIP, r.newDevice, r.newCountry}
		if got != wantChange[r.d.EventID] {
			t.Errorf("%s: changes %+v, want %+v", r.d.EventID, got, wantChange[r.d.EventID])
		}
	}
	if !tl.rows[0].first || tl.rows[1].first {
		t.Error("only the oldest event is first")
	}
	if g := tl.rows[1].gap; g != 2*time.Hour {
		t.Errorf("gap after the first event %s, want 2h", g)
	}
	if d := tl.rows[4].dev; d != (decision.Device{Family: "Headless Chrome", OS: "Linux"}) {
		t.Errorf("attacker device %+v", d)
	}
}

// TestBuildTimelineBackfill: the victim's three days arrive as a backfill
// within a few milliseconds, newest event first. In whatever order the
// reader returns them, the timeline is in event time: the same rows, gaps
// and chain as when they arrived live.
func TestBuildTimelineBackfill(t *testing.T) {
	live := buildTimeline(journeyOf("victim"))
	arrival := fixture.Now().Add(time.Hour)
	byEventTime := journeyOf("victim") // newest first
	for i := range byEventTime {
		byEventTime[i].Time = arrival.Add(time.Duration(i) * time.Millisecond)
		byEventTime[i].ID = fmt.Sprintf("%032x", 1000+i)
	}
	byArrival := slices.Clone(byEventTime)
	slices.Reverse(byArrival) // newest arrival (the oldest event) first
	for name, ds := range map[string][]decision.Decision{"event time": byEventTime, "arrival": byArrival} {
		tl := buildTimeline(ds)
		if len(tl.rows) != len(live.rows) || tl.chain != live.chain {
			t.Fatalf("newest %s first: %d rows, chain %d; live: %d rows, chain %d", name, len(tl.rows), tl.chain, len(live.rows), live.chain)
		}
		for i, r := range tl.rows {
			l := live.rows[i]
			if r.d.EventID != l.d.EventID || r.gap != l.gap || r.first != l.first || r.step != l.step {
				t.Errorf("newest %s first, row %d: %s gap %s step %v; live: %s gap %s step %v",
					name, i, r.d.EventID, r.gap, r.step, l.d.EventID, l.gap, l.step)
			}
		}
	}
}

func TestBuildTimelineNoChain(t *testing.T) {
	for _, user := range []string{"alice", "carol", "usr_3"} {
		tl := buildTimeline(journeyOf(user))
		if tl.chain != 0 {
			t.Errorf("%s: %d chain events", user, tl.chain)
		}
	}
	if tl := buildTimeline(nil); len(tl.rows) != 0 || tl.chain != 0 {
		t.Errorf("empty journey: %+v", tl)
	}
}

func TestGap(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "+0s",
		45 * time.Second:                "+45s",
		90 * time.Second:                "+1m30s",
		59*time.Minute + 59*time.Second: "+59m59s",
		2*time.Hour + 5*time.Minute:     "+2h05m",
		27 * time.Hour:                  "+1d03h",
		99*24*time.Hour + time.Hour:     "+99d01h",
		420 * 24 * time.Hour:            "+420d",
		-90 * time.Second:               "-1m30s",
	} {
		if got := Gap(d); got != want || len(got) > 7 {
			t.Errorf("Gap(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestRiskSeries(t *testing.T) {
	rows := make([]row, 10)
	for i := range rows {
		rows[i].d = &decision.Decision{Risk: float64(i * 10), Action: decision.ActionAllow}
	}
	rows[9].d.Action = decision.ActionError
	if got := riskSeries(rows, 20); !slices.Equal(got, []uint64{0, 10, 20, 30, 40, 50, 60, 70, 80, 0}) {
		t.Errorf("one point per event: %v", got)
	}
	// Folded to 3 points, each the highest of its run: a spike survives.
	if got := riskSeries(rows, 3); !slices.Equal(got, []uint64{30, 60, 80}) {
		t.Errorf("folded: %v", got)
	}
	if got := riskSeries(nil, 3); got != nil {
		t.Errorf("empty: %v", got)
	}
}
