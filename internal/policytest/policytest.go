// Package policytest holds what the tests and benchmarks of replay,
// shadow and live velocity outside package policy share: a 10-rule policy
// with velocity on every key, and a generator of decisions that makes
// those rules fire.
package policytest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// TenRules is a 10-rule policy with velocity on every key kind, lists,
// CIDRs, types and derived variables: the policy of the brute-force test
// and the benchmarks.
const TenRules = `
default = "allow"

[lists]
vip = ["u7", "u13"]
throwaway = ["mailinator.com", "tempmail.dev"]

[[rule]]
name = "vip"
when = 'in_list("vip", user)'
action = "allow"

[[rule]]
name = "tor"
when = '"tor_ip" in signals'
action = "deny"

[[rule]]
name = "stuffing ip"
types = ["$login"]
when = 'status == "$failed" && distinct("ip", "user", "10m") >= 4'
action = "challenge"

[[rule]]
name = "user burst"
when = 'count("user", "5m") >= 6'
action = "challenge"

[[rule]]
name = "card testing"
types = ["$transaction"]
when = 'count("ip24", "1m") >= 5 && risk > 20'
action = "deny"

[[rule]]
name = "throwaway wave"
when = 'in_list("throwaway", email_domain) && distinct("email_domain", "user", "10m") >= 3'
action = "deny"

[[rule]]
name = "shared device"
when = 'distinct("device", "user", "10m") >= 3 && count("email", "1h") >= 1'
action = "challenge"

[[rule]]
name = "night risk"
when = '(hour < 6 || hour >= 22) && risk >= 60'
action = "deny"

[[rule]]
name = "high risk"
when = "risk >= 80"
action = "deny"

[[rule]]
name = "scripted"
when = 'ua_family in ["curl", "python-requests"] || in_cidr(ip, "198.51.100.0/24")'
action = "challenge"
`

// Synth generates decisions in event-time order with what velocity rules
// look for: a population of users on their own addresses, shared NAT and
// attack addresses, bursts of failed logins, card testing from one /24,
// throwaway sign-ups, shared devices, equal timestamps and error decisions.
type Synth struct {
	rng  *rand.Rand
	t    time.Time
	n    int
	pool pool
}

// pool holds the strings decisions share, so that a long stream costs
// no string allocations.
type pool struct {
	users, emails, homes []string
	attackIPs, cardIPs   []string
	agents               []string
	types                []string
	signals              [][]string
}

// NewSynth returns a generator seeded with seed.
func NewSynth(seed uint64) *Synth {
	s := &Synth{rng: rand.New(rand.NewPCG(seed, 0x5afe)), t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	p := &s.pool
	for i := range 400 {
		p.users = append(p.users, fmt.Sprintf("u%d", i))
		domain := "example.com"
		if i%10 == 0 {
			domain = "mailinator.com"
		}
		p.emails = append(p.emails, fmt.Sprintf("U%d@%s", i, domain))
		p.homes = append(p.homes, fmt.Sprintf("10.%d.%d.%d", i/200, i%200, 1+i%7))
	}
	for i := range 8 {
		p.attackIPs = append(p.attackIPs, fmt.Sprintf("203.0.113.%d", 10+i))
		p.cardIPs = append(p.cardIPs, fmt.Sprintf("198.51.100.%d", 20+i))
	}
	p.agents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
		"curl/8.5.0", "python-requests/2.31.0", "",
	}
	p.types = []string{"$login", "$login", "$login", "$transaction", "$registration", "$profile_update"}
	p.signals = [][]string{nil, nil, nil, {"new_device"}, {"proxy_ip"}, {"tor_ip"}, {"new_ip", "new_country"}, {"datacenter_ip", "bot_behavior"}}
	return s
}

// Next fills d with the next decision. Traffic alternates between calm
// stretches (a decision every few seconds) and attack episodes (a few a
// second), each 2,000 decisions long, so that velocity rules fire while
// windows hold a few hundred decisions.
func (s *Synth) Next(d *decision.Decision) {
	r, p := s.rng, &s.pool
	s.n++
	episode := s.n / 2000 % 4 // 0 calm, 1 stuffing, 2 card testing, 3 scripts
	gap := 3 * time.Second
	if episode > 0 {
		gap = 300 * time.Millisecond
	}
	switch x := r.IntN(10); {
	case x < 2: // the same time as the previous decision
	case x < 4: // whole seconds: more ties
		s.t = s.t.Truncate(time.Second).Add(time.Duration(1+r.IntN(2)) * time.Second)
	default:
		s.t = s.t.Add(time.Duration(r.ExpFloat64() * float64(gap)))
	}
	u := r.IntN(len(p.users))
	*d = decision.Decision{
		EventID:   "e" + strconv.Itoa(s.n),
		EventTime: s.t,
		Type:      p.types[r.IntN(len(p.types))],
		Status:    "$succeeded",
		UserID:    p.users[u],
		Email:     p.emails[u],
		IP:        p.homes[u],
		UserAgent: p.agents[u%3],
		Risk:      float64(r.IntN(101)),
		Bot:       float64(r.IntN(101)),
		Signals:   p.signals[r.IntN(len(p.signals))],
		Action:    decision.Actions[r.IntN(3)],
	}
	d.AccountTakeover, d.AccountAbuse = d.Risk/2, d.Bot/3
	attack := episode > 0 && r.IntN(10) < 4
	switch x := r.IntN(100); {
	case attack && episode == 1: // failed logins of many users from few addresses
		d.Type, d.Status, d.IP = "$login", "$failed", p.attackIPs[r.IntN(2)+s.n/8000%6]
	case attack && episode == 2: // card testing from one /24
		d.Type, d.IP = "$transaction", p.cardIPs[r.IntN(len(p.cardIPs))]
	case attack: // scripts, and a device shared by many accounts
		d.UserAgent = p.agents[3+r.IntN(3)]
	case x < 2:
		d.Action, d.Risk, d.Bot, d.Signals = decision.ActionError, 0, 0, nil
	case x < 3:
		d.Email, d.IP = "", "not an address"
	}
}

// Decisions returns n synthetic decisions.
func (s *Synth) Decisions(n int) []decision.Decision {
	ds := make([]decision.Decision, n)
	for i := range ds {
		s.Next(&ds[i])
	}
	return ds
}
