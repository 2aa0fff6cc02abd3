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

// timeline is a loaded journey: its rows oldest first, a summary, and
// every email, IP, country and device the user used in them.
type timeline struct {
	rows    []row
	chain   int // events marked as part of a takeover chain
	maxRisk float64
	denies  int
	ids     [numKinds][]identity
	// links are the users sharing something with the user, for the
	// title; nil when they could not be read.
	links *decision.Links
}

// idKind is a kind of value an identity header lists.
type idKind int

// The kinds the header lists, in its order.
const (
	kindEmail idKind = iota
	kindIP
	kindCountry
	kindDevice
	numKinds
)

var kindNames = [numKinds]string{"email", "IP", "country", "device"}

// identity is one value a user used: how many of the journey's events
// carry it, and the event times of the first and the last.
type identity struct {
	value       string
	count       int
	first, last time.Time
}

// identities lists the values of rows for one kind, most used first
// (then the most recently seen, then by value); rows are oldest first.
func identities(rows []row, value func(r *row) string) []identity {
	at := map[string]int{}
	var out []identity
	for i := range rows {
		v := value(&rows[i])
		if v == "" {
			continue
		}
		t := rows[i].d.EventTime
		j, ok := at[v]
		if !ok {
			at[v] = len(out)
			out = append(out, identity{value: v, first: t})
			j = len(out) - 1
		}
		out[j].count++
		out[j].last = t
	}
	slices.SortStableFunc(out, func(a, b identity) int {
		return cmp.Or(cmp.Compare(b.count, a.count), b.last.Compare(a.last), cmp.Compare(a.value, b.value))
	})
	return out
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
	tl.ids[kindEmail] = identities(tl.rows, func(r *row) string { return r.d.Email })
	tl.ids[kindIP] = identities(tl.rows, func(r *row) string { return r.d.IP })
	tl.ids[kindCountry] = identities(tl.rows, func(r *row) string { return r.d.Country })
	tl.ids[kindDevice] = identities(tl.rows, func(r *row) string {
		if r.dev.Family == "" {
			return ""
		}
		return r.dev.String()
	})
	return tl
}
