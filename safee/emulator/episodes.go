package emulator

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// incidentKind is a kind of attack.
type incidentKind uint8

const (
	incidentStuffing incidentKind = iota
	incidentTakeover
	incidentBots
	incidentCardTesting
)

// incident plans incident k, of a kind, starting at at, scale times as
// intense as at the scenario's own rate; prev is the same crew's previous
// incident. Its events come from rng and from the world, and it lasts
// under incidentSpan.
func (w *world) incident(kind incidentKind, rng *rand.Rand, k, prev int64, at time.Time, scale float64) []planned {
	switch kind {
	case incidentStuffing:
		return w.stuffing(rng, at, scale)
	case incidentTakeover:
		return w.takeovers(rng, at, scale)
	case incidentBots:
		return w.botWave(rng, k, prev, at, scale)
	default:
		return w.cardTesting(rng, k, prev, at, scale)
	}
}

// scaled is n times scale, at least 1.
func scaled(n int, scale float64) int {
	return max(1, int(math.Round(float64(n)*scale)))
}

// faster is a gap between events of an incident scale times as intense.
func faster(gap time.Duration, scale float64) time.Duration {
	return time.Duration(float64(gap) / scale)
}

// stuffing is a credential-stuffing run: (80 to 200)×scale logins, a few
// a second at scale 1, from two or three of the crew's servers, for
// accounts of its leaked list; one attempt in ten on an account that
// exists here gets in.
func (w *world) stuffing(rng *rand.Rand, at time.Time, scale float64) []planned {
	s := &w.stuffers
	first, servers := rng.IntN(len(s.ips)), 2+rng.IntN(2)
	dev := s.agents[rng.IntN(len(s.agents))]
	n := scaled(80+rng.IntN(121), scale)
	out := make([]planned, 0, n)
	t := at
	for i := range n {
		t = t.Add(expDuration(rng, faster(300*time.Millisecond, scale)))
		cb := s.combos[rng.IntN(len(s.combos))]
		status := "$failed"
		if cb.exists && rng.Float64() < 0.1 {
			status = "$succeeded"
		}
		c := client{agent: dev, ip: s.ips[(first+i%servers)%len(s.ips)], language: "en-US,en;q=0.9"}
		out = append(out, planned{at: t, ev: c.event("$login", status, cb.account)})
	}
	return out
}

// takeovers is a takeover campaign: (5 to 8)×scale members of the
// population, each taken over within two minutes of the start.
func (w *world) takeovers(rng *rand.Rand, at time.Time, scale float64) []planned {
	n := scaled(5+rng.IntN(4), scale)
	seen := make(map[*person]bool, n)
	var out []planned
	for range n {
		v := w.victim(rng)
		if seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, w.takeover(rng, v, at.Add(uniformDuration(rng, 0, 2*time.Minute)))...)
	}
	return out
}

// takeover is one account taken over: the victim logs in as usual; within
// a minute or so the crew, on a device the victim never used, from its
// country or a proxy, fails a few passwords, gets in, changes the profile
// and makes a large transaction, all under the victim's own ID and email,
// in three minutes or so.
func (w *world) takeover(rng *rand.Rand, victim *person, at time.Time) []planned {
	home := client{agent: victim.agents[0], ip: victim.ips[0], language: victim.home.language}
	out := []planned{{at: at, ev: home.event("$login", "$succeeded", victim.account)}}

	c := &w.takers
	ip := c.proxies[rng.IntN(len(c.proxies))]
	if c.land.code != victim.home.code && rng.Float64() < 0.6 {
		ip = c.ips[rng.IntN(len(c.ips))]
	}
	dev := c.agents[rng.IntN(len(c.agents))]
	for slices.Contains(victim.agents, dev) {
		dev = w.browsers[rng.IntN(len(w.browsers))]
	}
	attacker := client{agent: dev, ip: ip, language: c.land.language}

	t := at.Add(20*time.Second + expDuration(rng, 30*time.Second))
	for range 3 + rng.IntN(4) {
		out = append(out, planned{at: t, ev: attacker.event("$login", "$failed", victim.account)})
		t = t.Add(3*time.Second + expDuration(rng, 6*time.Second))
	}
	out = append(out, planned{at: t, ev: attacker.event("$login", "$succeeded", victim.account)})
	t = t.Add(uniformDuration(rng, 20*time.Second, time.Minute))
	out = append(out, planned{at: t, ev: attacker.event("$profile_update", "$succeeded", victim.account)})
	t = t.Add(uniformDuration(rng, 30*time.Second, 2*time.Minute))
	tx := attacker.event("$transaction", "$succeeded", victim.account)
	tx.Transaction = &wireTransaction{Amount: math.Round((200+rng.Float64()*1300)*100) / 100, Currency: victim.home.currency}
	return append(out, planned{at: t, ev: tx})
}

// farmWave is the accounts the bot farm registers in bot incident k:
// (20 to 60)×scale, with made-up or throwaway addresses. They depend only
// on the seed, k and scale, so a later incident finds the same accounts.
func (w *world) farmWave(k int64, scale float64) []account {
	rng := newStream(w.seed, streamFarmWave, k)
	out := make([]account, scaled(20+rng.IntN(41), scale))
	for i := range out {
		email := throwawayEmail(rng)
		if rng.Float64() < 0.7 {
			email = machineEmail(rng)
		}
		out[i] = account{id: accountID(w.seed, streamFarmWave, k, int64(i)), email: email}
	}
	return out
}

// botWave is a bot incident: the farm registers its wave of accounts, one
// every two seconds or so at scale 1, and some log in right away; half of
// the wave of its previous incident come back to log in, aging them.
func (w *world) botWave(rng *rand.Rand, k, prev int64, at time.Time, scale float64) []planned {
	f := &w.farm
	dev := f.agents[rng.IntN(len(f.agents))]
	wave := w.farmWave(k, scale)
	out := make([]planned, 0, 2*len(wave))
	t := at
	for i, acct := range wave {
		t = t.Add(expDuration(rng, faster(2*time.Second, scale)))
		c := client{agent: dev, ip: f.ips[i%len(f.ips)], language: "en-US,en;q=0.5"}
		out = append(out, planned{at: t, ev: c.event("$registration", "$succeeded", acct)})
		if rng.Float64() < 0.3 {
			login := t.Add(2*time.Second + expDuration(rng, 10*time.Second))
			out = append(out, planned{at: login, ev: c.event("$login", "$succeeded", acct)})
		}
	}
	span := t.Sub(at)
	for _, acct := range w.farmWave(prev, scale) {
		if rng.IntN(2) == 0 {
			c := client{agent: dev, ip: f.ips[rng.IntN(len(f.ips))], language: "en-US,en;q=0.5"}
			out = append(out, planned{at: at.Add(uniformDuration(rng, 0, span)), ev: c.event("$login", "$succeeded", acct)})
		}
	}
	return out
}

// cardWave is the two accounts the card crew registers in card-testing
// incident k; like farmWave, a function of the seed and k.
func (w *world) cardWave(k int64) []account {
	rng := newStream(w.seed, streamCardWave, k)
	out := make([]account, 2)
	for i := range out {
		email := humanEmail(rng)
		if rng.Float64() < 0.3 {
			email = throwawayEmail(rng)
		}
		out[i] = account{id: accountID(w.seed, streamCardWave, k, int64(i)), email: email}
	}
	return out
}

// cardTesting is a card-testing burst: the crew registers two new accounts
// and, with them and the two of its previous incident, makes (40 to 70)×scale
// small transactions from one device and address, about one every four
// seconds at scale 1, many declined.
func (w *world) cardTesting(rng *rand.Rand, k, prev int64, at time.Time, scale float64) []planned {
	cr := &w.carders
	c := client{agent: cr.agent, ip: cr.ips[rng.IntN(len(cr.ips))], language: cr.land.language}
	fresh := w.cardWave(k)
	accts := append(fresh, w.cardWave(prev)...)
	var out []planned
	t := at
	for _, acct := range fresh {
		t = t.Add(expDuration(rng, 20*time.Second))
		out = append(out, planned{at: t, ev: c.event("$registration", "$succeeded", acct)})
	}
	for range scaled(40+rng.IntN(31), scale) {
		t = t.Add(faster(time.Second, scale) + expDuration(rng, faster(3*time.Second, scale)))
		status := "$succeeded"
		if rng.Float64() < 0.4 {
			status = "$failed"
		}
		tx := c.event("$transaction", status, accts[rng.IntN(len(accts))])
		tx.Transaction = &wireTransaction{Amount: math.Round((0.5+rng.Float64()*2.49)*100) / 100, Currency: "USD"}
		out = append(out, planned{at: t, ev: tx})
	}
	return out
}
