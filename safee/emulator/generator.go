package emulator

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Scenarios lists the generator's scenarios; the first is the default.
func Scenarios() []string {
	return []string{"mixed", "normal", "stuffing", "ato", "bots", "cardtesting"}
}

// DefaultSeed is gen's seed unless told otherwise, and the one to give the
// demo: the same seed is the same population and the same attackers.
const DefaultSeed = 1

// scenarioSpec shapes a scenario: background traffic of the stable
// population and incidents, one per slot of period, rotating through
// incidents.
type scenarioSpec struct {
	// rate is the background's events a second; zero means none.
	rate      float64
	incidents []incidentKind
	// period is a whole number of seconds.
	period time.Duration
}

func scenarioFor(name string) (scenarioSpec, bool) {
	switch name {
	case "mixed":
		return scenarioSpec{rate: 4, period: 4 * time.Minute,
			incidents: []incidentKind{incidentStuffing, incidentTakeover, incidentBots, incidentCardTesting}}, true
	case "normal":
		return scenarioSpec{rate: 4}, true
	case "stuffing":
		return scenarioSpec{incidents: []incidentKind{incidentStuffing}, period: time.Minute}, true
	case "ato":
		return scenarioSpec{rate: 4, incidents: []incidentKind{incidentTakeover}, period: 2 * time.Minute}, true
	case "bots":
		return scenarioSpec{incidents: []incidentKind{incidentBots}, period: time.Minute}, true
	case "cardtesting":
		return scenarioSpec{rate: 1, incidents: []incidentKind{incidentCardTesting}, period: 3 * time.Minute}, true
	}
	return scenarioSpec{}, false
}

// Generator writes the synthetic Safe-e events of a scenario in time order.
// Its clock is simulated: events are spaced by the scenario's own
// inter-arrival times (about four a second of background traffic), so
// velocity signals look the same however fast the events are consumed.
//
// The traffic is a function of the seed and of absolute time (see the
// package documentation): the same seed, scenario and times give the same
// lines, an event's ID names its place in that traffic, and any account
// the traffic creates is registered once on it. A Generator is not safe
// for concurrent use.
type Generator struct {
	tl *timeline
	// floor, if set, is the earliest timestamp an event made now may have.
	floor func() time.Time
	last  time.Time // the last emitted timestamp
}

// NewGenerator returns a generator for one of Scenarios that starts at the
// first reading of now (time.Now if nil) and never ends. A timestamp is
// never earlier than now() at the moment its event is made, so a generator
// paced slower than its simulated rate follows the wall clock; one run
// faster writes timestamps ahead of it.
func NewGenerator(scenario string, seed int64, now func() time.Time) (*Generator, error) {
	if now == nil {
		now = time.Now
	}
	return newGenerator(scenario, seed, 0, now(), time.Time{}, now)
}

// NewSpanGenerator returns a generator of the events of a scenario in
// [from, to), each stamped with its own time, for a backfill of history;
// Next returns nil after the last one.
func NewSpanGenerator(scenario string, seed int64, from, to time.Time) (*Generator, error) {
	if !from.Before(to) {
		return nil, fmt.Errorf("span from %s to %s: want a start before the end", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return newGenerator(scenario, seed, 0, from, to, nil)
}

// newGenerator returns a generator of a scenario's events in [from, to)
// (to zero: no end) with rate background events a second (0: the
// scenario's own) and timestamps no earlier than floor (nil: none).
func newGenerator(scenario string, seed int64, rate float64, from, to time.Time, floor func() time.Time) (*Generator, error) {
	spec, ok := scenarioFor(scenario)
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q (want one of %s)", scenario, strings.Join(Scenarios(), ", "))
	}
	if rate <= 0 {
		rate = spec.rate
	}
	return &Generator{tl: newTimeline(newWorld(seed), scenario, spec, rate, from, to), floor: floor, last: from}, nil
}

// Next returns the next event: one JSON object without a trailing newline,
// with an event_id unique in the traffic of its seed and an RFC 3339
// timestamp never earlier than the previous one's; nil after the end of a
// span.
func (g *Generator) Next() []byte {
	p := g.tl.pop()
	if p == nil {
		return nil
	}
	return g.emit(p)
}

// timestampLayout is RFC 3339 with milliseconds, in UTC.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// emit stamps and encodes a planned event.
func (g *Generator) emit(p *planned) []byte {
	ts := p.at
	if g.floor != nil {
		if f := g.floor(); f.After(ts) {
			ts = f
		}
	}
	if ts.Before(g.last) {
		ts = g.last
	}
	g.last = ts
	ev := p.ev
	ev.EventID = g.tl.eventID(p)
	ev.Timestamp = ts.UTC().Format(timestampLayout)
	b, err := json.Marshal(ev)
	if err != nil {
		// wireOut holds only strings and finite numbers.
		panic(fmt.Sprintf("emulator: encode generated event: %v", err))
	}
	return b
}

// client is who sends an event: a device on an address.
type client struct {
	agent    agent
	ip       netip.Addr
	language string
}

// event builds an event of the client for an account, without its ID and
// timestamp (emit adds them).
func (c client) event(typ, status string, acct account) wireOut {
	encoding := "gzip, deflate, br"
	if c.agent.scripts {
		encoding = "gzip, deflate"
	}
	return wireOut{
		Type:   typ,
		Status: status,
		UserHeaders: wireHeaders{
			UserAgent:      c.agent.ua,
			Host:           siteHost,
			AcceptLanguage: c.language,
			AcceptEncoding: encoding,
			Accept:         c.agent.accept,
		},
		Product: c.agent.product,
		User:    wireUser{UserID: acct.id, UserEmail: acct.email, UserIP: c.ip.String()},
	}
}

// wireOut is a generated event as written: the body shape of SPEC section
// 1, plus event_id, timestamp and, for transactions, transaction.
type wireOut struct {
	EventID     string           `json:"event_id"`
	Timestamp   string           `json:"timestamp"`
	Type        string           `json:"type"`
	Status      string           `json:"status"`
	UserHeaders wireHeaders      `json:"user_headers"`
	Product     string           `json:"product"`
	User        wireUser         `json:"user"`
	Transaction *wireTransaction `json:"transaction,omitempty"`
}

type wireHeaders struct {
	UserAgent      string `json:"user_agent"`
	Host           string `json:"host"`
	AcceptLanguage string `json:"accept_language"`
	AcceptEncoding string `json:"accept_encoding"`
	Accept         string `json:"accept"`
}

type wireUser struct {
	UserID    string `json:"user_id"`
	UserEmail string `json:"user_email"`
	UserIP    string `json:"user_ip"`
}

type wireTransaction struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}
