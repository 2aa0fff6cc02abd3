package emulator

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
)

// world is everything the synthetic traffic is about that does not change
// with time: the stable population and the attackers, each with their own
// addresses and devices. It is a function of the seed alone, so every
// generator with the same seed, whatever its scenario, start or span,
// talks about the same people and the same attackers. Customers are made
// when first asked for, so a world is not safe for concurrent use.
type world struct {
	seed     int64
	lands    []homeland
	browsers []agent
	scripts  []agent
	// The Geo table's IPv4 ranges by kind.
	datacenters, proxies, tors []netip.Prefix

	people   *population
	stuffers stuffingCrew
	takers   takeoverCrew
	farm     botFarm
	carders  cardCrew
}

// stuffingCrew replays a list of leaked credentials against the site from
// a few rented servers.
type stuffingCrew struct {
	ips    []netip.Addr
	agents []agent
	combos []combo
}

// combo is an entry of the leaked list: an account of the site, or one
// that does not exist here.
type combo struct {
	account
	exists bool
}

// takeoverCrew logs into accounts it has the passwords of, from its own
// devices, at home abroad or through open proxies.
type takeoverCrew struct {
	land    homeland
	ips     []netip.Addr // residential, in land
	proxies []netip.Addr
	agents  []agent
}

// botFarm registers accounts with made-up addresses from scripts on hosted
// and anonymising addresses, and comes back to age them.
type botFarm struct {
	ips    []netip.Addr
	agents []agent
}

// cardCrew tests stolen card numbers with small transactions from a few
// accounts it keeps.
type cardCrew struct {
	land  homeland
	ips   []netip.Addr
	agent agent
}

// The random streams of a seed, each keyed by an index: a stream's draws
// depend on nothing else, so any part of the traffic can be made again
// without making what came before it.
const (
	streamPopulation uint64 = iota + 1 // index 0
	streamCrews                        // index 0
	streamSecond                       // a Unix second of background traffic
	streamIncident                     // an incident slot
	streamSignup                       // the account IDs of signups
	streamCombo                        // the made-up accounts of the leaked list
	streamFarmWave                     // the bot incident that registers a wave
	streamCardWave                     // the card-testing incident that registers accounts
)

// newStream returns the random stream of a seed, a kind and an index.
func newStream(seed int64, stream uint64, index int64) *rand.Rand {
	return rand.New(rand.NewPCG(mix64(uint64(seed)^mix64(stream)), mix64(uint64(index)^0x5afe_e000_9e4e)))
}

// mix64 is splitmix64's finaliser: a bijection that spreads every input bit
// over the output.
func mix64(x uint64) uint64 {
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// accountID names an account created during the traffic (a signup, a bot
// farm's or a card tester's account, a made-up entry of the leaked list):
// "u" and 12 digits derived from the seed, the stream and two indexes. The
// same account always gets the same ID; two accounts share one with odds of
// one in 10^12 a pair; the population's six-digit IDs never clash with it.
func accountID(seed int64, stream uint64, a, b int64) string {
	h := mix64(mix64(mix64(uint64(seed)^mix64(stream))^uint64(a)) ^ uint64(b))
	return fmt.Sprintf("u%012d", h%1_000_000_000_000)
}

// Sizes of the attackers' kit.
const (
	stuffingServers = 6
	comboAccounts   = 400
	// comboKnown of the leaked list's accounts exist on the site.
	comboKnown = 240
)

// newWorld makes the world of a seed.
func newWorld(seed int64) *world {
	w := &world{
		seed:        seed,
		lands:       homelands(),
		browsers:    browserAgents(),
		scripts:     scriptAgents(),
		datacenters: tablePrefixes(KindDatacenter),
		proxies:     tablePrefixes(KindProxy),
		tors:        tablePrefixes(KindTor),
	}
	var pool addrPool
	w.people = newPopulation(seed, w.lands, w.browsers, w.proxies, &pool)
	rng := newStream(seed, streamCrews, 0)

	dc := w.datacenters[rng.IntN(len(w.datacenters))]
	s := &w.stuffers
	for range stuffingServers {
		s.ips = append(s.ips, pool.unique(dc))
	}
	s.agents = []agent{w.browsers[0], w.scripts[1]} // a spoofed desktop Chrome, python-requests
	for _, i := range rng.Perm(populationSize)[:comboKnown] {
		s.combos = append(s.combos, combo{account: w.people.person(i).account, exists: true})
	}
	for i := range comboAccounts - comboKnown {
		s.combos = append(s.combos, combo{account: account{id: accountID(seed, streamCombo, int64(i), 0), email: humanEmail(rng)}})
	}
	rng.Shuffle(len(s.combos), func(i, j int) { s.combos[i], s.combos[j] = s.combos[j], s.combos[i] })

	t := &w.takers
	t.land = w.lands[rng.IntN(len(w.lands))]
	for range 3 {
		t.ips = append(t.ips, pool.unique(t.land.prefix))
		t.proxies = append(t.proxies, randomAddr(rng, w.proxies[rng.IntN(len(w.proxies))]))
	}
	first := rng.IntN(len(w.browsers))
	t.agents = []agent{w.browsers[first], w.browsers[(first+1+rng.IntN(len(w.browsers)-1))%len(w.browsers)]}

	f := &w.farm
	for range 2 {
		f.ips = append(f.ips, pool.unique(w.datacenters[rng.IntN(len(w.datacenters))]))
	}
	f.ips = append(f.ips, randomAddr(rng, w.proxies[rng.IntN(len(w.proxies))]), randomAddr(rng, w.tors[rng.IntN(len(w.tors))]))
	first = rng.IntN(len(w.scripts))
	f.agents = []agent{w.scripts[first], w.scripts[(first+1+rng.IntN(len(w.scripts)-1))%len(w.scripts)]}

	c := &w.carders
	c.land = w.lands[rng.IntN(len(w.lands))]
	c.ips = []netip.Addr{pool.unique(c.land.prefix), randomAddr(rng, w.proxies[rng.IntN(len(w.proxies))])}
	c.agent = w.browsers[rng.IntN(len(w.browsers))]
	if rng.Float64() < 0.3 {
		c.agent = w.scripts[rng.IntN(len(w.scripts))]
	}
	return w
}

// visitor picks the person of a visit: coreShare of the time one of the
// regulars.
func (w *world) visitor(rng *rand.Rand) *person {
	if rng.Float64() < coreShare {
		return w.people.person(rng.IntN(coreSize))
	}
	return w.people.person(rng.IntN(populationSize))
}

// victim picks a customer to attack, half the time a regular.
func (w *world) victim(rng *rand.Rand) *person {
	if rng.IntN(2) == 0 {
		return w.people.person(rng.IntN(coreSize))
	}
	return w.people.person(rng.IntN(populationSize))
}
