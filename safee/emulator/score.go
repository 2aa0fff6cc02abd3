package emulator

import (
	"encoding/binary"
	"math"
)

// PolicyName is the name of the emulator's one policy, reported in every
// answer's policy.name.
const PolicyName = "default"

// The policy actions, capitalised as Safe-e sends them.
const (
	actionAllow     = "Allow"
	actionChallenge = "Challenge"
	actionDeny      = "Deny"
)

// Windows (seconds of event time) and thresholds of the velocity signals.
const (
	// credential_stuffing: this many distinct users logging in from one
	// address within the window.
	stuffingWindow = 10 * 60
	stuffingUsers  = 8
	// A failed-login burst (no signal of its own, it raises the ATO score):
	// this many failed logins of one user within the window.
	burstWindow   = 15 * 60
	burstFailures = 3
	// high_activity_account: this many events of one user within the window.
	activityWindow = 10 * 60
	activityEvents = 10
	// impossible_travel: a country other than the one of the user's last
	// allowed success, within the window.
	travelWindow = 2 * 60 * 60
	// multiple_accounts_per_device: this many distinct accounts on one user
	// agent and address within the window.
	sharingWindow   = 24 * 60 * 60
	sharingAccounts = 3
)

// weights are what a signal or factor adds to each score, in points of a
// 0-100 scale. Scores combine like independent probabilities:
// score = 100 × (1 − Π(1 − w/100)), so many weak signals add up but no
// pile of them passes 100.
type weights struct{ risk, ato, bot, abuse float64 }

// The factors that are not reported as signals.
var (
	baseWeights         = weights{risk: 3, ato: 1, bot: 2, abuse: 1}
	failedWeights       = weights{risk: 5, ato: 5}
	burstWeights        = weights{risk: 15, ato: 30}
	registrationWeights = weights{abuse: 3}
)

func (s signal) weights() weights {
	switch s {
	case sigNewDevice:
		return weights{risk: 15, ato: 25}
	case sigNewIP:
		return weights{risk: 5, ato: 10}
	case sigNewCountry:
		return weights{risk: 15, ato: 25}
	case sigImpossibleTravel:
		return weights{risk: 25, ato: 35}
	case sigDatacenterIP:
		return weights{risk: 20, ato: 5, bot: 25, abuse: 10}
	case sigProxyIP:
		return weights{risk: 20, ato: 10, bot: 10, abuse: 10}
	case sigTorIP:
		return weights{risk: 30, ato: 15, bot: 15, abuse: 15}
	case sigCredentialStuffing:
		return weights{risk: 40, ato: 20, bot: 40}
	case sigBotBehavior:
		return weights{risk: 30, bot: 55, abuse: 10}
	case sigGeneratedEmail:
		return weights{risk: 15, bot: 5, abuse: 35}
	case sigDisposableEmail:
		return weights{risk: 15, abuse: 30}
	case sigHighActivityAccount:
		return weights{risk: 15, bot: 20, abuse: 20}
	case sigMultipleAccountsPerDevice:
		return weights{risk: 20, bot: 5, abuse: 35}
	}
	return weights{}
}

// scores are the four Safe-e scores, 0-100.
type scores struct{ risk, ato, bot, abuse int }

// verdict is the emulator's answer to one event.
type verdict struct {
	scores  scores
	signals signalSet
	action  string
	country string
}

// assess scores an event against the state and updates the state with it.
// noise varies the scores by a few points; it is derived from the request,
// so the same event always gets the same noise. The caller holds e.mu.
func (e *Emulator) assess(ev *event, noise uint64) verdict {
	now := ev.at.Unix()
	country, kind := UnknownCountry, ""
	if ev.ip.IsValid() {
		country, kind = geoAddr(ev.ip)
	}
	var sigs signalSet
	switch kind {
	case KindDatacenter:
		sigs.add(sigDatacenterIP)
	case KindProxy:
		sigs.add(sigProxyIP)
	case KindTor:
		sigs.add(sigTorIP)
	}
	if ev.headers && scriptedAgent(ev.agent) {
		sigs.add(sigBotBehavior)
	}
	if ev.email != "" {
		if generatedEmail(ev.email) {
			sigs.add(sigGeneratedEmail)
		}
		if disposableEmail(ev.email) {
			sigs.add(sigDisposableEmail)
		}
	}

	u := e.users.get(ev.userKey)
	u.events.add(now)
	if ev.failed() && ev.is("$login") {
		u.failures.add(now)
	}
	if u.events.since(now-activityWindow) >= activityEvents {
		sigs.add(sigHighActivityAccount)
	}
	burst := u.failures.since(now-burstWindow) >= burstFailures

	agentKey := hashString(ev.agent)
	ipKey := hashAddr(ev.ip)
	countryKey := hashString(country)
	if u.known {
		if ev.agent != "" && !u.devices.has(agentKey) {
			sigs.add(sigNewDevice)
		}
		if ev.ip.IsValid() && !u.ips.has(ipKey) {
			sigs.add(sigNewIP)
		}
		if country != UnknownCountry {
			if !u.countries.has(countryKey) {
				sigs.add(sigNewCountry)
			}
			if u.lastCountry != "" && country != u.lastCountry && abs(now-u.lastAt) < travelWindow {
				sigs.add(sigImpossibleTravel)
			}
		}
	}
	if ev.ip.IsValid() {
		if ev.is("$login") {
			st := e.ips.get(ev.ip)
			st.loginUsers.touch(ev.userKey, now)
			if st.loginUsers.distinctSince(now-stuffingWindow) >= stuffingUsers {
				sigs.add(sigCredentialStuffing)
			}
		}
		if ev.agent != "" {
			d := e.devices.get(deviceKey(ev.agent, ev.ip))
			d.accounts.touch(ev.userKey, now)
			if d.accounts.distinctSince(now-sharingWindow) >= sharingAccounts {
				sigs.add(sigMultipleAccountsPerDevice)
			}
		}
	}

	sc := combine(ev, sigs, burst, noise)
	action := decide(ev, sigs, sc)
	if ev.succeeded() && action == actionAllow {
		u.known = true
		if ev.agent != "" {
			u.devices.add(agentKey)
		}
		if ev.ip.IsValid() {
			u.ips.add(ipKey)
		}
		if country != UnknownCountry {
			u.countries.add(countryKey)
			u.lastCountry = country
			u.lastAt = now
		}
	}
	return verdict{scores: sc, signals: sigs, action: action, country: country}
}

// combine turns signals and factors into the four scores, each moved by
// -2 to +4 points of noise and kept within 0-100.
func combine(ev *event, sigs signalSet, burst bool, noise uint64) scores {
	keep := [4]float64{1, 1, 1, 1}
	apply := func(w weights) {
		for i, p := range [4]float64{w.risk, w.ato, w.bot, w.abuse} {
			keep[i] *= 1 - p/100
		}
	}
	apply(baseWeights)
	for s := range numSignals {
		if sigs.has(s) {
			apply(s.weights())
		}
	}
	if ev.failed() {
		apply(failedWeights)
	}
	if burst {
		apply(burstWeights)
	}
	if ev.is("$registration") {
		apply(registrationWeights)
	}
	var out [4]int
	for i, k := range keep {
		jitter := float64(byte(noise>>(8*i)))/255*6 - 2
		out[i] = int(math.Max(0, math.Min(100, math.Round(100*(1-k)+jitter))))
	}
	return scores{risk: out[0], ato: out[1], bot: out[2], abuse: out[3]}
}

// decide is the default policy. Like a customer's Safe-e policy it is a list
// of rules, not a threshold: a tor exit is denied at any score, and a
// credential-stuffing source, a scripted signup with a throwaway address, a
// sensitive change from a new device in a new country and card testing are
// denied whatever their risk. Otherwise risk 80 and up is denied, 50 and up
// challenged, and so is a specialised score of 60 and up.
func decide(ev *event, s signalSet, sc scores) string {
	switch {
	case s.has(sigTorIP):
		return actionDeny
	case s.has(sigCredentialStuffing) && s.any(sigDatacenterIP, sigProxyIP, sigBotBehavior):
		return actionDeny
	case ev.is("$registration") && s.has(sigBotBehavior) && s.any(sigGeneratedEmail, sigDisposableEmail):
		return actionDeny
	case (ev.is("$profile_update") || ev.is("$transaction")) && s.has(sigNewDevice) && s.any(sigNewCountry, sigImpossibleTravel):
		return actionDeny
	case ev.is("$transaction") && s.has(sigHighActivityAccount) && s.has(sigMultipleAccountsPerDevice):
		return actionDeny
	case sc.risk >= 80:
		return actionDeny
	case sc.risk >= 50:
		return actionChallenge
	case sc.ato >= 60 || sc.bot >= 60 || sc.abuse >= 60:
		return actionChallenge
	}
	return actionAllow
}

// requestNoise derives the noise of a request from the seed, the route and
// the body, so a retried event gets the same scores.
func requestNoise(seed int64, route string, body []byte) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	x := fnvBytes(fnvString(fnvBytes(fnvOffset, b[:]), route), body)
	// FNV's low bytes are poorly mixed; finish with the splitmix64 mixer.
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
