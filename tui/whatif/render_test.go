package whatif

import (
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// TestFlipShowsEventTime: a flip of last night stored this morning shows
// last night.
func TestFlipShowsEventTime(t *testing.T) {
	d := decision.Decision{
		ID: "0001", Time: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC),
		EventTime: time.Date(2026, 11, 24, 23, 15, 30, 0, time.UTC),
		Type:      "$login", Status: "$succeeded", Action: decision.ActionAllow, Risk: 90,
	}
	src := flipSource{flips: []decision.Decision{d}, loc: time.UTC,
		q: query{th: decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 80}}}
	cells := make([]string, numFlipCols)
	src.Cells(0, cells)
	if cells[fcTime] != "11-24 23:15:30" {
		t.Errorf("TIME %q, want the event time 11-24 23:15:30", cells[fcTime])
	}
}
