package journey

import (
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// row is one event of a timeline with what the timeline shows about it,
// computed once when the journey loads.
type row struct {
	d   *decision.Decision
	dev decision.Device
	// gap is the time since the user's previous event; first marks the
	// oldest event, which has none.
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
// newest first as api.Reader.Journey returns them. It takes ownership of
// ds.
func buildTimeline(ds []decision.Decision) *timeline {
	n := len(ds)
	tl := &timeline{rows: make([]row, n)}
	events := make([]decision.ChainEvent, n)
	for i := range ds {
		d := &ds[n-1-i]
		r := &tl.rows[i]
		r.d = d
		r.dev = decision.ClassifyUA(d.UserAgent)
		events[i] = decision.ChainEvent{Time: d.Time, Type: d.Type, Status: d.Status, IP: d.IP, Device: r.dev, Country: d.Country}
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
		r.gap = d.Time.Sub(p.d.Time)
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
