package journey

import (
	"cmp"
	"slices"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// row is one event of a timeline with what the timeline shows about it,
// computed once when the journey loads. A journey is in event time: the
// order, the gaps and the chain are the events' own times, so a backfill
// shows when things happened, not when they arrived.
type row struct {
	d   *decision.Decision
	dev decision.Device
	// gap is the event time since the user's previous event; first marks
	// the oldest event, which has none.
	gap   time.Duration
	first bool
	// What differs from the previous event.
	newIP, newDevice, newCountry bool
	step                         decision.Step
}

// timeline is a loaded journey: its rows oldest first and a summary.
type timeline struct {
	rows    []row
	chain   int // events marked as part of a takeover chain
	maxRisk float64
	denies  int
}

// buildTimeline derives the rows of a journey from a user's decisions,
// oldest first by event time (ties in arrival order). It takes ownership
// of ds, which it sorts.
func buildTimeline(ds []decision.Decision) *timeline {
	slices.SortStableFunc(ds, func(a, b decision.Decision) int {
		return cmp.Or(a.EventTime.Compare(b.EventTime), cmp.Compare(a.ID, b.ID))
	})
	n := len(ds)
	tl := &timeline{rows: make([]row, n)}
	events := make([]decision.ChainEvent, n)
	for i := range ds {
		d := &ds[i]
		r := &tl.rows[i]
		r.d = d
		r.dev = decision.ClassifyUA(d.UserAgent)
		events[i] = decision.ChainEvent{Time: d.EventTime, Type: d.Type, Status: d.Status, IP: d.IP, Device: r.dev, Country: d.Country}
		if d.Action == decision.ActionDeny {
			tl.denies++
		}
		if d.Action != decision.ActionError {
			tl.maxRisk = max(tl.maxRisk, d.Risk)
		}
		if i == 0 {
			r.first = true
			continue
		}
		p := &tl.rows[i-1]
		r.gap = d.EventTime.Sub(p.d.EventTime)
		r.newIP = d.IP != "" && d.IP != p.d.IP
		r.newDevice = r.dev.Family != "" && r.dev != p.dev
		r.newCountry = d.Country != "" && d.Country != p.d.Country
	}
	for i, s := range decision.DetectChains(events) {
		tl.rows[i].step = s
		if s != decision.StepNone {
			tl.chain++
		}
	}
	return tl
}
