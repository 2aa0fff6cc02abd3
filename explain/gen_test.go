package explain

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// t0 is the end of every generated window.
var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// gen makes synthetic decisions of ordinary traffic, deterministic for a
// seed: a few event types and statuses, tens of thousands of addresses
// over a few hundred /24s (a few of them busy), a country per /24, skewed
// email domains and user agents, signals that raise the chance of a deny.
type gen struct {
	r *rand.Rand
	n int
	// nets is how many /24s ordinary traffic comes from, 60 hosts each.
	nets int
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x5afe)), nets: 400} }

type weighted[T any] struct {
	v T
	w int
}

func pick[T any](r *rand.Rand, xs []weighted[T]) T {
	total := 0
	for _, x := range xs {
		total += x.w
	}
	n := r.IntN(total)
	for _, x := range xs {
		if n -= x.w; n < 0 {
			return x.v
		}
	}
	return xs[len(xs)-1].v
}

var (
	genTypes  = []weighted[string]{{"$login", 60}, {"$registration", 10}, {"$transaction", 20}, {"$profile_update", 10}}
	genStatus = []weighted[string]{{"$succeeded", 80}, {"$failed", 15}, {"$attempted", 5}}
	genUAs    = []weighted[string]{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36", 50},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 20},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 12},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0", 10},
		{pythonUA, 3},
		{"curl/8.5.0", 2},
		{"Go-http-client/1.1", 1},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0 Safari/537.36", 2},
	}
	genDomains = []weighted[string]{{"gmail.com", 40}, {"yahoo.com", 12}, {"outlook.com", 12}, {"icloud.com", 8},
		{"proton.me", 4}, {"gmx.de", 4}, {"web.de", 4}, {"mail.ru", 3}, {"example.org", 3}, {"free.fr", 3},
		{"orange.fr", 2}, {"libero.it", 2}, {"qq.com", 2}, {"naver.com", 1}}
	genCountries = []string{"US", "US", "US", "DE", "FR", "GB", "BR", "IN", "JP", "NG"}
	genSignals   = []struct {
		name string
		p    float64
	}{{"new_device", 0.10}, {"proxy_ip", 0.05}, {"high_activity_account", 0.04}, {"datacenter_ip", 0.03},
		{"bot_behavior", 0.02}, {"generated_email", 0.02}, {"credential_stuffing", 0.005}, {"tor_ip", 0.005}}
)

const pythonUA = "python-requests/2.31.0"

// normal returns one decision of ordinary traffic at t.
func (g *gen) normal(t time.Time) decision.Decision {
	r := g.r
	g.n++
	// /24 k is busier the smaller k is.
	k := int(float64(g.nets) * r.Float64() * r.Float64())
	d := decision.Decision{
		ID:        fmt.Sprintf("%032x", g.n),
		EventID:   fmt.Sprintf("e%d", g.n),
		EventTime: t,
		Type:      pick(r, genTypes),
		Status:    pick(r, genStatus),
		UserID:    fmt.Sprintf("u%d", r.IntN(5000)),
		IP:        fmt.Sprintf("11.%d.%d.%d", k/256, k%256, 1+r.IntN(60)),
		Country:   genCountries[k%len(genCountries)],
		UserAgent: pick(r, genUAs),
		Policy:    "default",
	}
	d.Email = d.UserID + "@" + pick(r, genDomains)
	if r.IntN(10) == 0 {
		d.Policy = "strict"
	}
	for _, s := range genSignals {
		if r.Float64() < s.p {
			d.Signals = append(d.Signals, s.name)
		}
	}
	g.act(&d)
	return d
}

// act draws the action: deny more often with risky signals.
func (g *gen) act(d *decision.Decision) {
	deny := 0.03
	for _, s := range d.Signals {
		switch s {
		case "proxy_ip", "datacenter_ip", "tor_ip":
			deny += 0.25
		case "bot_behavior", "credential_stuffing":
			deny += 0.4
		}
	}
	switch u := g.r.Float64(); {
	case u < 0.005:
		d.Action, d.Error = decision.ActionError, "safe-e: 400"
	case u < 0.005+deny:
		d.Action = decision.ActionDeny
	case u < 0.075+deny:
		d.Action = decision.ActionChallenge
	default:
		d.Action = decision.ActionAllow
	}
	if d.Action == decision.ActionDeny && g.r.IntN(4) == 0 {
		d.ShadowRule = "velocity"
	}
}

// traffic returns n decisions of ordinary traffic spread evenly over
// [from, from+width).
func (g *gen) traffic(from time.Time, width time.Duration, n int) []decision.Decision {
	ds := make([]decision.Decision, n)
	for i := range ds {
		ds[i] = g.normal(from.Add(time.Duration(g.r.Int64N(int64(width)))))
	}
	return ds
}

// spike returns n decisions of ordinary traffic over [from, from+width)
// except that they come from 203.0.113.0/24 (any host) with python-requests.
func (g *gen) spike(from time.Time, width time.Duration, n int) []decision.Decision {
	ds := g.traffic(from, width, n)
	for i := range ds {
		ds[i].IP = fmt.Sprintf("203.0.113.%d", 1+g.r.IntN(254))
		ds[i].UserAgent = pythonUA
	}
	return ds
}

// stuffing returns n decisions of ordinary traffic over [from, from+width)
// that Safe-e flagged credential_stuffing and denied.
func (g *gen) stuffing(from time.Time, width time.Duration, n int) []decision.Decision {
	ds := g.traffic(from, width, n)
	for i := range ds {
		ds[i].Signals = append(ds[i].Signals, "credential_stuffing")
		ds[i].Action, ds[i].Error = decision.ActionDeny, ""
	}
	return ds
}
