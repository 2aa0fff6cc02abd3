package emulator

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"
)

// Scenarios lists the generator's scenarios; the first is the default.
func Scenarios() []string {
	return []string{"mixed", "normal", "stuffing", "ato", "bots", "cardtesting"}
}

// episodeKind is a kind of attack a scenario interleaves.
type episodeKind uint8

const (
	episodeStuffing episodeKind = iota
	episodeATO
	episodeBots
	episodeCardTesting
)

// scenarioSpec shapes a scenario: background traffic of the stable
// population plus attack episodes.
type scenarioSpec struct {
	// background is the mean gap between the population's events; zero
	// means none.
	background time.Duration
	// episodes are drawn with the weights in weights.
	episodes []episodeKind
	weights  []float64
	// spawnGap is the mean gap between episode starts, or, when serial,
	// between one episode's end and the next one's start.
	spawnGap time.Duration
	serial   bool
	// first is when the first episode starts, after the generator's start.
	first time.Duration
}

func scenarioFor(name string) (scenarioSpec, bool) {
	switch name {
	case "normal":
		return scenarioSpec{background: 250 * time.Millisecond}, true
	case "stuffing":
		return scenarioSpec{episodes: []episodeKind{episodeStuffing}, weights: []float64{1}, spawnGap: 20 * time.Second, serial: true}, true
	case "ato":
		return scenarioSpec{background: 250 * time.Millisecond, episodes: []episodeKind{episodeATO}, weights: []float64{1},
			spawnGap: 30 * time.Second, first: 5 * time.Second}, true
	case "bots":
		return scenarioSpec{episodes: []episodeKind{episodeBots}, weights: []float64{1}, spawnGap: 15 * time.Second, serial: true}, true
	case "cardtesting":
		return scenarioSpec{background: time.Second, episodes: []episodeKind{episodeCardTesting}, weights: []float64{1},
			spawnGap: 30 * time.Second, serial: true}, true
	case "mixed":
		return scenarioSpec{background: 250 * time.Millisecond,
			episodes: []episodeKind{episodeStuffing, episodeATO, episodeBots, episodeCardTesting}, weights: []float64{3, 3, 2, 2},
			spawnGap: time.Minute, first: 10 * time.Second}, true
	}
	return scenarioSpec{}, false
}

// Generator writes synthetic Safe-e events for a scenario. Its clock is
// simulated: events are spaced by the scenario's own inter-arrival times
// (about four a second of background traffic), so velocity signals look
// the same however fast the events are consumed. A timestamp is never
// earlier than now() at the moment it is made, so a generator paced slower
// than its simulated rate follows the wall clock; one run faster writes
// timestamps ahead of it. For the same scenario, seed and clock, the lines
// are identical. A Generator is not safe for concurrent use.
type Generator struct {
	spec  scenarioSpec
	seed  int64
	rng   *rand.Rand
	now   func() time.Time
	lands []homeland
	pool  addrPool

	people   []*person
	browsers []agent
	scripts  []agent
	// The Geo table's IPv4 ranges by kind.
	datacenters, proxies, tors []netip.Prefix

	nextBackground time.Time
	nextSpawn      time.Time
	pending        plan
	planned        uint64 // tie-breaker: events planned so far
	fresh          uint64 // accounts made up so far

	n    uint64    // events emitted
	last time.Time // the last emitted timestamp
}

// NewGenerator returns a generator for one of Scenarios. now is the wall
// clock (time.Now if nil); the simulated clock starts at its first reading.
func NewGenerator(scenario string, seed int64, now func() time.Time) (*Generator, error) {
	spec, ok := scenarioFor(scenario)
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q (want one of %s)", scenario, strings.Join(Scenarios(), ", "))
	}
	if now == nil {
		now = time.Now
	}
	g := &Generator{
		spec:     spec,
		seed:     seed,
		rng:      rand.New(rand.NewPCG(uint64(seed), 0x5afe_e000_9e4e)),
		now:      now,
		lands:    homelands(),
		browsers: browserAgents(),
		scripts:  scriptAgents(),

		datacenters: tablePrefixes(KindDatacenter),
		proxies:     tablePrefixes(KindProxy),
		tors:        tablePrefixes(KindTor),
	}
	g.people = newPopulation(g.rng, g.lands, &g.pool)
	start := now()
	g.last = start
	if spec.background > 0 {
		g.nextBackground = start.Add(expDuration(g.rng, spec.background))
	}
	if len(spec.episodes) > 0 {
		g.nextSpawn = start.Add(spec.first)
	}
	return g, nil
}

// Next returns the next event: one JSON object without a trailing newline,
// with a unique event_id ("gen-<seed>-<n>") and an RFC 3339 timestamp never
// earlier than the previous one's.
func (g *Generator) Next() []byte {
	for {
		switch at, src := g.earliest(); src {
		case sourcePlan:
			p := heap.Pop(&g.pending).(planned)
			return g.emit(p.at, p.ev)
		case sourceBackground:
			g.nextBackground = at.Add(expDuration(g.rng, g.spec.background))
			return g.emit(at, g.populationEvent(at))
		default:
			g.spawn(at)
		}
	}
}

type source uint8

const (
	sourcePlan source = iota
	sourceBackground
	sourceSpawn
)

// earliest returns the source of the next event and when it is due; at
// equal times planned events go first, then background, then a new episode.
func (g *Generator) earliest() (time.Time, source) {
	var at time.Time
	src := sourceSpawn
	have := false
	consider := func(t time.Time, s source) {
		if !have || t.Before(at) {
			at, src, have = t, s, true
		}
	}
	if len(g.pending) > 0 {
		consider(g.pending[0].at, sourcePlan)
	}
	if g.spec.background > 0 {
		consider(g.nextBackground, sourceBackground)
	}
	if len(g.spec.episodes) > 0 {
		consider(g.nextSpawn, sourceSpawn)
	}
	return at, src
}

// spawn plans the events of a new episode starting at at and schedules the
// next one.
func (g *Generator) spawn(at time.Time) {
	var evs []planned
	switch g.spec.episodes[pickWeighted(g.rng, g.spec.weights)] {
	case episodeStuffing:
		evs = g.stuffing(at)
	case episodeATO:
		evs = g.takeover(at)
	case episodeBots:
		evs = g.signupBots(at)
	case episodeCardTesting:
		evs = g.cardTesting(at)
	}
	end := at
	for _, p := range evs {
		g.planned++
		p.seq = g.planned
		heap.Push(&g.pending, p)
		if p.at.After(end) {
			end = p.at
		}
	}
	if !g.spec.serial {
		end = at
	}
	g.nextSpawn = end.Add(expDuration(g.rng, g.spec.spawnGap))
}

// timestampLayout is RFC 3339 with milliseconds, in UTC.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// emit stamps and encodes an event due at at.
func (g *Generator) emit(at time.Time, ev wireOut) []byte {
	ts := at
	if wall := g.now(); wall.After(ts) {
		ts = wall
	}
	if ts.Before(g.last) {
		ts = g.last
	}
	g.last = ts
	g.n++
	ev.EventID = fmt.Sprintf("gen-%d-%d", g.seed, g.n)
	ev.Timestamp = ts.UTC().Format(timestampLayout)
	b, err := json.Marshal(ev)
	if err != nil {
		// wireOut holds only strings and finite numbers.
		panic(fmt.Sprintf("emulator: encode generated event: %v", err))
	}
	return b
}

// populationEvent is one event of the stable population's ordinary life.
func (g *Generator) populationEvent(at time.Time) wireOut {
	var p *person
	if g.rng.Float64() < 0.1 {
		p = g.people[g.rng.IntN(coreSize)]
	} else {
		p = g.people[g.rng.IntN(len(g.people))]
	}
	dev := p.agents[0]
	if len(p.agents) > 1 && g.rng.Float64() < 0.3 {
		dev = p.agents[1]
	}
	ip := p.ips[0]
	if len(p.ips) > 1 && g.rng.Float64() < 0.3 {
		ip = p.ips[1+g.rng.IntN(len(p.ips)-1)]
	}
	if p.vpn && g.rng.Float64() < 0.15 {
		ip = g.addrOf(g.proxies)
	}
	c := client{agent: dev, ip: ip, language: p.home.language}
	if p.newcomer {
		p.newcomer = false
		return c.event("$registration", "$succeeded", p.account)
	}
	switch pickWeighted(g.rng, []float64{50, 5, 28, 8, 9}) {
	case 0:
		return c.event("$login", "$succeeded", p.account)
	case 1:
		return c.event("$login", "$failed", p.account)
	case 2:
		ev := c.event("$transaction", "$succeeded", p.account)
		amount := math.Exp(3.6 + 0.9*g.rng.NormFloat64())
		ev.Transaction = &wireTransaction{Amount: math.Round(amount*100) / 100, Currency: p.home.currency}
		return ev
	case 3:
		return c.event("$profile_update", "$succeeded", p.account)
	default:
		return c.event("$logout", "$succeeded", p.account)
	}
}

// addrOf returns a random address of one of the ranges.
func (g *Generator) addrOf(ranges []netip.Prefix) netip.Addr {
	return randomAddr(g.rng, ranges[g.rng.IntN(len(ranges))])
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

// planned is an episode's event waiting for its time.
type planned struct {
	at  time.Time
	seq uint64
	ev  wireOut
}

// plan is a min-heap of planned events by time, then by planning order.
type plan []planned

func (p plan) Len() int { return len(p) }
func (p plan) Less(i, j int) bool {
	if !p[i].at.Equal(p[j].at) {
		return p[i].at.Before(p[j].at)
	}
	return p[i].seq < p[j].seq
}
func (p plan) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p *plan) Push(x any)   { *p = append(*p, x.(planned)) }
func (p *plan) Pop() any {
	old := *p
	x := old[len(old)-1]
	*p = old[:len(old)-1]
	return x
}
