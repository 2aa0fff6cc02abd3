package emulator

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"
)

// freshAccount makes up an account outside the stable population.
func (g *Generator) freshAccount(email string) account {
	g.fresh++
	return account{id: fmt.Sprintf("u%07d", 3_000_000+g.fresh), email: email}
}

// anyPerson picks a population member, half the time one of the regulars.
func (g *Generator) anyPerson() *person {
	if g.rng.IntN(2) == 0 {
		return g.people[g.rng.IntN(coreSize)]
	}
	return g.people[g.rng.IntN(len(g.people))]
}

// stuffing is a credential-stuffing run: 80 to 200 logins, mostly failed,
// for many accounts (some real, some not) from two or three datacenter
// addresses, a few a second.
func (g *Generator) stuffing(at time.Time) []planned {
	ips := make([]netip.Addr, 2+g.rng.IntN(2))
	for i := range ips {
		ips[i] = g.addrOf(g.datacenters)
	}
	dev := g.browsers[0] // a spoofed desktop Chrome
	if g.rng.IntN(2) == 0 {
		dev = g.scripts[1] // python-requests
	}
	n := 80 + g.rng.IntN(121)
	out := make([]planned, 0, n)
	t := at
	for i := range n {
		t = t.Add(expDuration(g.rng, 300*time.Millisecond))
		var acct account
		if g.rng.Float64() < 0.6 {
			acct = g.people[g.rng.IntN(len(g.people))].account
		} else {
			acct = g.freshAccount(humanEmail(g.rng))
		}
		status := "$failed"
		if g.rng.Float64() < 0.07 {
			status = "$succeeded"
		}
		c := client{agent: dev, ip: ips[i%len(ips)], language: "en-US,en;q=0.9"}
		out = append(out, planned{at: t, ev: c.event("$login", status, acct)})
	}
	return out
}

// takeover is an account takeover: the victim logs in as usual; minutes
// later an attacker in another country, on another device, fails a few
// passwords, gets in, changes the profile and makes a large transaction.
func (g *Generator) takeover(at time.Time) []planned {
	victim := g.anyPerson()
	home := client{agent: victim.agents[0], ip: victim.ips[0], language: victim.home.language}
	out := []planned{{at: at, ev: home.event("$login", "$succeeded", victim.account)}}

	away := g.lands[g.rng.IntN(len(g.lands))]
	for away.code == victim.home.code {
		away = g.lands[g.rng.IntN(len(g.lands))]
	}
	var ip netip.Addr
	switch pickWeighted(g.rng, []float64{60, 30, 10}) {
	case 0:
		ip = g.pool.unique(away.prefix)
	case 1:
		ip = g.addrOf(g.proxies)
	default:
		ip = g.addrOf(g.tors)
	}
	dev := g.browsers[g.rng.IntN(len(g.browsers))]
	for slices.Contains(victim.agents, dev) {
		dev = g.browsers[g.rng.IntN(len(g.browsers))]
	}
	attacker := client{agent: dev, ip: ip, language: away.language}

	t := at.Add(2*time.Minute + expDuration(g.rng, 3*time.Minute))
	for range 3 + g.rng.IntN(4) {
		out = append(out, planned{at: t, ev: attacker.event("$login", "$failed", victim.account)})
		t = t.Add(5*time.Second + expDuration(g.rng, 20*time.Second))
	}
	out = append(out, planned{at: t, ev: attacker.event("$login", "$succeeded", victim.account)})
	t = t.Add(30*time.Second + time.Duration(g.rng.Float64()*float64(90*time.Second)))
	out = append(out, planned{at: t, ev: attacker.event("$profile_update", "$succeeded", victim.account)})
	t = t.Add(time.Minute + time.Duration(g.rng.Float64()*float64(4*time.Minute)))
	tx := attacker.event("$transaction", "$succeeded", victim.account)
	tx.Transaction = &wireTransaction{Amount: math.Round((200+g.rng.Float64()*1300)*100) / 100, Currency: victim.home.currency}
	return append(out, planned{at: t, ev: tx})
}

// signupBots is a wave of 20 to 60 scripted registrations with made-up or
// throwaway addresses from one or two datacenter, proxy or tor addresses;
// some of the new accounts log in right away.
func (g *Generator) signupBots(at time.Time) []planned {
	ranges := [][]netip.Prefix{g.datacenters, g.proxies, g.tors}[pickWeighted(g.rng, []float64{50, 25, 25})]
	ips := make([]netip.Addr, 1+g.rng.IntN(2))
	for i := range ips {
		ips[i] = g.addrOf(ranges)
	}
	dev := g.scripts[g.rng.IntN(len(g.scripts))]
	n := 20 + g.rng.IntN(41)
	out := make([]planned, 0, 2*n)
	t := at
	for i := range n {
		t = t.Add(expDuration(g.rng, 2*time.Second))
		email := throwawayEmail(g.rng)
		if g.rng.Float64() < 0.7 {
			email = machineEmail(g.rng)
		}
		acct := g.freshAccount(email)
		c := client{agent: dev, ip: ips[i%len(ips)], language: "en-US,en;q=0.5"}
		out = append(out, planned{at: t, ev: c.event("$registration", "$succeeded", acct)})
		if g.rng.Float64() < 0.3 {
			login := t.Add(2*time.Second + expDuration(g.rng, 10*time.Second))
			out = append(out, planned{at: login, ev: c.event("$login", "$succeeded", acct)})
		}
	}
	return out
}

// cardTesting is a card-testing burst: three or four new accounts on one
// device, then 40 to 70 small transactions among them a few seconds apart,
// many declined.
func (g *Generator) cardTesting(at time.Time) []planned {
	dev := g.browsers[g.rng.IntN(len(g.browsers))]
	if g.rng.Float64() < 0.3 {
		dev = g.scripts[g.rng.IntN(len(g.scripts))]
	}
	land := g.lands[g.rng.IntN(len(g.lands))]
	ip := g.pool.unique(land.prefix)
	if g.rng.IntN(2) == 0 {
		ip = g.addrOf(g.proxies)
	}
	c := client{agent: dev, ip: ip, language: land.language}

	var out []planned
	t := at
	accts := make([]account, 3+g.rng.IntN(2))
	for i := range accts {
		email := humanEmail(g.rng)
		if g.rng.Float64() < 0.3 {
			email = throwawayEmail(g.rng)
		}
		accts[i] = g.freshAccount(email)
		t = t.Add(expDuration(g.rng, 20*time.Second))
		out = append(out, planned{at: t, ev: c.event("$registration", "$succeeded", accts[i])})
	}
	for range 40 + g.rng.IntN(31) {
		t = t.Add(time.Second + expDuration(g.rng, 3*time.Second))
		status := "$succeeded"
		if g.rng.Float64() < 0.4 {
			status = "$failed"
		}
		tx := c.event("$transaction", status, accts[g.rng.IntN(len(accts))])
		tx.Transaction = &wireTransaction{Amount: math.Round((0.5+g.rng.Float64()*2.49)*100) / 100, Currency: "USD"}
		out = append(out, planned{at: t, ev: tx})
	}
	return out
}
