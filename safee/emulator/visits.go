package emulator

import (
	"math"
	"math/rand/v2"
	"time"
)

// The shape of the background traffic: visits of the stable population
// and a few signups.
const (
	// signupShare of visits are by newcomers registering.
	signupShare = 0.02
	// failedShare of visits start with a mistyped password.
	failedShare = 0.05
	// logoutShare of visits end with a logout.
	logoutShare = 0.4
	// travelShare of visits come from abroad.
	travelShare = 0.005
	// vpnShare of a VPN user's visits go through the VPN.
	vpnShare = 0.15
	// meanVisitEvents is the mean number of events of a visit (a failed
	// login, the login, zero to three actions weighted as in
	// visitActions, a logout), which turns events a second into visits.
	meanVisitEvents = failedShare + 1 + (0*25+1*35+2*25+3*15)/100.0 + logoutShare
)

// visitActions weights a visit's number of actions after the login: 0 to 3.
var visitActions = []float64{25, 35, 25, 15}

// visit is one person's visit starting at at: a login (now and then after
// a mistyped password), zero to three purchases or profile changes a
// minute or so apart, often a logout. Most visits come from the person's
// usual device and home address; some from their second device or
// address, a few through their VPN or from abroad. A visit lasts under
// visitSpan.
func (w *world) visit(rng *rand.Rand, at time.Time) []planned {
	p := w.visitor(rng)
	dev := p.agents[0]
	if len(p.agents) > 1 && rng.Float64() < 0.3 {
		dev = p.agents[1]
	}
	ip := p.ips[0]
	if len(p.ips) > 1 && rng.Float64() < 0.3 {
		ip = p.ips[1+rng.IntN(len(p.ips)-1)]
	}
	if p.vpn.IsValid() && rng.Float64() < vpnShare {
		ip = p.vpn
	} else if rng.Float64() < travelShare {
		away := w.lands[rng.IntN(len(w.lands))]
		for away.code == p.home.code {
			away = w.lands[rng.IntN(len(w.lands))]
		}
		ip = randomAddr(rng, away.prefix)
	}
	c := client{agent: dev, ip: ip, language: p.home.language}

	out := make([]planned, 0, 6)
	t := at
	if rng.Float64() < failedShare {
		out = append(out, planned{at: t, ev: c.event("$login", "$failed", p.account)})
		t = t.Add(uniformDuration(rng, 5*time.Second, 20*time.Second))
	}
	out = append(out, planned{at: t, ev: c.event("$login", "$succeeded", p.account)})
	for range pickWeighted(rng, visitActions) {
		t = t.Add(expDuration(rng, time.Minute))
		if rng.Float64() < 0.8 {
			out = append(out, planned{at: t, ev: purchase(rng, c, p.account, p.home.currency)})
		} else {
			out = append(out, planned{at: t, ev: c.event("$profile_update", "$succeeded", p.account)})
		}
	}
	if rng.Float64() < logoutShare {
		t = t.Add(expDuration(rng, 30*time.Second))
		out = append(out, planned{at: t, ev: c.event("$logout", "$succeeded", p.account)})
	}
	return out
}

// signup is a newcomer's first visit: a registration from a browser at
// home, then often a profile change or a first purchase. The account is
// named after the second and the signup's place in it, so on the timeline
// it is created exactly once.
func (w *world) signup(rng *rand.Rand, at time.Time, sec int64, i int) []planned {
	land := pickLand(rng, w.lands)
	acct := account{id: accountID(w.seed, streamSignup, sec, int64(i)), email: humanEmail(rng)}
	c := client{agent: w.browsers[rng.IntN(len(w.browsers))], ip: randomAddr(rng, land.prefix), language: land.language}
	out := []planned{{at: at, ev: c.event("$registration", "$succeeded", acct)}}
	t := at
	if rng.Float64() < 0.4 {
		t = t.Add(expDuration(rng, time.Minute))
		out = append(out, planned{at: t, ev: c.event("$profile_update", "$succeeded", acct)})
	}
	if rng.Float64() < 0.3 {
		t = t.Add(expDuration(rng, 2*time.Minute))
		out = append(out, planned{at: t, ev: purchase(rng, c, acct, land.currency)})
	}
	return out
}

// purchase is an ordinary transaction: a log-normal amount around 37 in
// the buyer's currency.
func purchase(rng *rand.Rand, c client, acct account, currency string) wireOut {
	ev := c.event("$transaction", "$succeeded", acct)
	amount := math.Exp(3.6 + 0.9*rng.NormFloat64())
	ev.Transaction = &wireTransaction{Amount: math.Round(amount*100) / 100, Currency: currency}
	return ev
}
