package emulator

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"
)

// homeland is a country the synthetic population lives in. Its addresses
// come from the country's residential range in the Geo table, so the
// emulator places every generated user where the generator put them.
type homeland struct {
	code     string
	language string
	currency string
	prefix   netip.Prefix
	// share is the country's relative share of the site's customers.
	share float64
}

// homelands returns the generator's countries, in a fixed order.
func homelands() []homeland {
	lands := []homeland{
		{code: "US", language: "en-US,en;q=0.9", currency: "USD", share: 30},
		{code: "GB", language: "en-GB,en;q=0.9", currency: "GBP", share: 15},
		{code: "DE", language: "de-DE,de;q=0.9,en;q=0.8", currency: "EUR", share: 12},
		{code: "FR", language: "fr-FR,fr;q=0.9,en;q=0.8", currency: "EUR", share: 10},
		{code: "BR", language: "pt-BR,pt;q=0.9,en;q=0.8", currency: "BRL", share: 10},
		{code: "IN", language: "en-IN,hi;q=0.9,en;q=0.8", currency: "INR", share: 10},
		{code: "JP", language: "ja-JP,ja;q=0.9,en;q=0.8", currency: "JPY", share: 8},
		{code: "AU", language: "en-AU,en;q=0.9", currency: "AUD", share: 5},
	}
	for i := range lands {
		lands[i].prefix = tablePrefix(lands[i].code, KindResidential)
	}
	return lands
}

// pickLand draws a country with the customers' shares.
func pickLand(rng *rand.Rand, lands []homeland) homeland {
	shares := make([]float64, len(lands))
	for i, l := range lands {
		shares[i] = l.share
	}
	return lands[pickWeighted(rng, shares)]
}

// tablePrefixes returns the IPv4 ranges of the Geo table of a kind.
func tablePrefixes(kind string) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range geoTable {
		if r.Kind == kind && r.Prefix.Addr().Is4() {
			out = append(out, r.Prefix)
		}
	}
	return out
}

// tablePrefix returns the IPv4 range of the Geo table for a country and
// kind. The generator only asks for ranges the table has.
func tablePrefix(country, kind string) netip.Prefix {
	for _, r := range geoTable {
		if r.Country == country && r.Kind == kind && r.Prefix.Addr().Is4() {
			return r.Prefix
		}
	}
	panic(fmt.Sprintf("emulator: no %s range for %s in the Geo table", kind, country))
}

// agent is a user agent and the headers that go with it.
type agent struct {
	ua      string
	product string // "web", "ios" or "android"
	accept  string
	scripts bool // a headless browser or an HTTP library
}

const (
	acceptHTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptJSON = "application/json"
	acceptAny  = "*/*"
	siteHost   = "shop.example.com"
)

// browserAgents are the devices of ordinary users.
func browserAgents() []agent {
	web := func(ua string) agent { return agent{ua: ua, product: "web", accept: acceptHTML} }
	return []agent{
		web("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"),
		web("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"),
		web("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"),
		web("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"),
		web("Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"),
		web("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"),
		web("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
		web("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36"),
		web("Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"),
		web("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
		{ua: "ShopApp/4.12.0 (iPhone15,2; iOS 17.5; Scale/3.00)", product: "ios", accept: acceptJSON},
		{ua: "ShopApp/4.12.0 (Linux; Android 14; Pixel 7)", product: "android", accept: acceptJSON},
	}
}

// scriptAgents are headless browsers and HTTP libraries, as bots send them.
func scriptAgents() []agent {
	script := func(ua, accept string) agent {
		return agent{ua: ua, product: "web", accept: accept, scripts: true}
	}
	return []agent{
		script("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36", acceptHTML),
		script("python-requests/2.32.3", acceptAny),
		script("curl/8.8.0", acceptAny),
		script("Go-http-client/1.1", acceptAny),
		script("Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", acceptHTML),
		script("axios/1.7.2", "application/json, text/plain, */*"),
		script("Scrapy/2.11.2 (+https://scrapy.org)", acceptHTML),
		script("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", acceptAny),
	}
}

var (
	firstNames = [...]string{
		"james", "maria", "wei", "aisha", "lucas", "sofia", "hiroshi", "emma",
		"mateus", "priya", "oliver", "chloe", "arjun", "yuki", "noah", "lena",
		"gabriel", "amelia", "rahul", "hannah", "leon", "camille", "daniel", "isabella",
	}
	lastNames = [...]string{
		"smith", "garcia", "mueller", "dubois", "silva", "sharma", "tanaka", "jones",
		"brown", "martin", "schneider", "santos", "patel", "sato", "wilson", "bernard",
		"fischer", "oliveira", "kumar", "suzuki", "taylor", "moreau", "weber", "costa",
	}
	mailDomains = [...]string{
		"gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com",
		"icloud.com", "proton.me", "hotmail.com",
	}
)

// account is a user as an event names it.
type account struct {
	id    string
	email string
}

// person is a member of the stable population: an existing customer with
// a home country, one to three usual addresses and one or two usual devices.
type person struct {
	account
	home   homeland
	ips    []netip.Addr
	agents []agent
	// vpn is the open proxy a privacy-minded person sends some events
	// through; the zero Addr for everyone else.
	vpn netip.Addr
}

// addrPool hands out distinct addresses of ranges, in a scrambled but fixed
// order, so that no two attackers share an address by accident and none
// takes a customer's.
type addrPool struct {
	next map[netip.Prefix]uint64
}

// reserve keeps the first n slots of prefix (see slotAddr) out of the pool.
func (p *addrPool) reserve(prefix netip.Prefix, n uint64) {
	if p.next == nil {
		p.next = make(map[netip.Prefix]uint64)
	}
	p.next[prefix] = max(p.next[prefix], n)
}

// unique returns the address of the next free slot of prefix.
func (p *addrPool) unique(prefix netip.Prefix) netip.Addr {
	p.reserve(prefix, 0)
	k := p.next[prefix]
	p.next[prefix] = k + 1
	return slotAddr(prefix, k)
}

// slotAddr is the address of slot k of an IPv4 range of at least 4
// addresses: slots 0 to usable-1 are distinct addresses in a scrambled
// order, and then it starts over.
func slotAddr(prefix netip.Prefix, k uint64) netip.Addr {
	usable := uint64(1)<<(32-prefix.Bits()) - 2
	// 7919 is a prime that divides no range's size, so stepping by it
	// visits every usable offset once.
	return addrAt(prefix, 1+(k*7919)%usable)
}

// randomAddr returns a random host address of an IPv4 range.
func randomAddr(rng *rand.Rand, prefix netip.Prefix) netip.Addr {
	usable := uint64(1)<<(32-prefix.Bits()) - 2
	return addrAt(prefix, 1+rng.Uint64N(usable))
}

func addrAt(prefix netip.Prefix, offset uint64) netip.Addr {
	base := prefix.Masked().Addr().As4()
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], binary.BigEndian.Uint32(base[:])+uint32(offset))
	return netip.AddrFrom4(b)
}

// Population shape.
const (
	// populationSize customers: at the demo's 25 events a second each one
	// has about one event in ten minutes, as on a real site.
	populationSize = 10_000
	// coreSize customers, the regulars, make coreShare of the visits:
	// their journeys are long enough to look at.
	coreSize  = 200
	coreShare = 0.05
	// homeSlots is the most home addresses a customer has.
	homeSlots = 3
)

// population is the stable population: populationSize customers, each
// made from the seed when first asked for. Countries get blocks of
// customers by their shares, and a fixed shuffle of the IDs spreads the
// blocks, so a customer's home addresses are their own slots of the
// country's range: no two customers share one.
type population struct {
	seed     int64
	lands    []homeland
	browsers []agent
	proxies  []netip.Prefix
	// blockEnd[l] is the end of country l's block of places.
	blockEnd []int
	// offset shuffles IDs over places.
	offset uint64
	people []*person // nil until made
}

func newPopulation(seed int64, lands []homeland, browsers []agent, proxies []netip.Prefix, pool *addrPool) *population {
	p := &population{seed: seed, lands: lands, browsers: browsers, proxies: proxies,
		offset: mix64(uint64(seed)) % populationSize, people: make([]*person, populationSize)}
	total := 0.0
	for _, l := range lands {
		total += l.share
	}
	start := 0
	for i, l := range lands {
		end := start + int(math.Round(populationSize*l.share/total))
		if i == len(lands)-1 {
			end = populationSize
		}
		p.blockEnd = append(p.blockEnd, end)
		pool.reserve(l.prefix, uint64(homeSlots*(end-start)))
		start = end
	}
	return p
}

// person returns customer i (0-based, ID u100001+i).
func (p *population) person(i int) *person {
	if c := p.people[i]; c != nil {
		return c
	}
	// 7919 is coprime with populationSize, so this is a permutation.
	place := int((uint64(i)*7919 + p.offset) % populationSize)
	land, start := 0, 0
	for place >= p.blockEnd[land] {
		start = p.blockEnd[land]
		land++
	}
	home := p.lands[land]
	rng := newStream(p.seed, streamPopulation, int64(i))
	c := &person{account: account{id: fmt.Sprintf("u%06d", 100001+i), email: humanEmail(rng)}, home: home}
	for j := range 1 + pickWeighted(rng, []float64{50, 35, 15}) {
		c.ips = append(c.ips, slotAddr(home.prefix, uint64(homeSlots*(place-start)+j)))
	}
	first := rng.IntN(len(p.browsers))
	c.agents = append(c.agents, p.browsers[first])
	if rng.Float64() < 0.25 {
		c.agents = append(c.agents, p.browsers[(first+1+rng.IntN(len(p.browsers)-1))%len(p.browsers)])
	}
	if rng.Float64() < 0.03 {
		c.vpn = randomAddr(rng, p.proxies[rng.IntN(len(p.proxies))])
	}
	p.people[i] = c
	return c
}

// humanEmail draws a plausible personal address: names, at most a two-digit
// suffix or a birth year.
func humanEmail(rng *rand.Rand) string {
	first := firstNames[rng.IntN(len(firstNames))]
	last := lastNames[rng.IntN(len(lastNames))]
	domain := mailDomains[rng.IntN(len(mailDomains))]
	var local string
	switch rng.IntN(5) {
	case 0:
		local = first + "." + last
	case 1:
		local = first + last
	case 2:
		local = first[:1] + last
	case 3:
		local = fmt.Sprintf("%s.%s%02d", first, last, rng.IntN(100))
	default:
		local = fmt.Sprintf("%s_%s%d", first, last, 1960+rng.IntN(46))
	}
	return local + "@" + domain
}

// machineEmail draws an address a signup bot makes up: a random
// consonant-and-digit string or a name with a long number.
func machineEmail(rng *rand.Rand) string {
	domain := mailDomains[rng.IntN(len(mailDomains))]
	if rng.IntN(2) == 0 {
		return fmt.Sprintf("%s%06d@%s", firstNames[rng.IntN(len(firstNames))], rng.IntN(1_000_000), domain)
	}
	const consonants = "bcdfghjklmnpqrstvwxz"
	var b strings.Builder
	for range 3 + rng.IntN(2) {
		for range 2 + rng.IntN(2) {
			b.WriteByte(consonants[rng.IntN(len(consonants))])
		}
		for range 1 + rng.IntN(2) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
	}
	return b.String() + "@" + domain
}

// throwawayEmail draws a human-looking address at a disposable provider.
func throwawayEmail(rng *rand.Rand) string {
	local, _, _ := strings.Cut(humanEmail(rng), "@")
	return local + "@" + disposableDomains[rng.IntN(len(disposableDomains))]
}

// pickWeighted returns an index drawn with the given relative weights.
func pickWeighted(rng *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// expDuration draws an exponentially distributed duration with the given
// mean, at least a millisecond and at most four times the mean, so that
// every episode of the traffic has a bounded length.
func expDuration(rng *rand.Rand, mean time.Duration) time.Duration {
	return min(max(time.Millisecond, time.Duration(rng.ExpFloat64()*float64(mean))), 4*mean)
}

// uniformDuration draws a duration uniformly from [lo, hi).
func uniformDuration(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Float64()*float64(hi-lo))
}
