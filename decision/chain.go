package decision

import (
	"strings"
	"time"
)

// Step is the part an event plays in an account takeover chain.
type Step uint8

// The steps of a chain, in the order they happen.
const (
	StepNone Step = iota
	// StepFailedLogin: one of the failed logins before the takeover.
	StepFailedLogin
	// StepNewLogin: a successful login from an IP, device or country the
	// user's history had not shown.
	StepNewLogin
	// StepProfileChange: a profile update after that login.
	StepProfileChange
	// StepTransaction: a transaction after the profile update, which
	// completes the chain.
	StepTransaction
)

var stepNames = [...]string{"", "ATO failed login", "ATO new login", "ATO profile", "ATO transaction"}

// String names the step as the timeline shows it; "" for StepNone.
func (s Step) String() string {
	if int(s) < len(stepNames) {
		return stepNames[s]
	}
	return ""
}

// ChainWindow bounds a chain: its transaction comes at most this long after
// its first failed login.
const ChainWindow = 24 * time.Hour

// ChainEvent is what the chain detector reads of a decision.
type ChainEvent struct {
	Time    time.Time
	Type    string // "$login", "$profile_update", "$transaction", ...
	Status  string // "$succeeded", "$failed", ...
	IP      string
	Device  Device
	Country string
}

// kind classifies an event for the detector.
type kind uint8

const (
	kindOther kind = iota
	kindFailedLogin
	kindLogin
	kindProfile
	kindTransaction
)

func classify(e *ChainEvent) kind {
	typ := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(e.Type)), "$")
	status := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(e.Status)), "$")
	failed := status == "failed"
	switch {
	case typ == "login" && failed:
		return kindFailedLogin
	case typ == "login" && (status == "succeeded" || status == ""):
		return kindLogin
	case typ == "profile_update" && !failed:
		return kindProfile
	case typ == "transaction" && !failed:
		return kindTransaction
	}
	return kindOther
}

// history is what a user's established history has shown: the IPs,
// devices and countries of events outside any takeover attempt.
type history struct {
	ips       map[string]bool
	devices   map[Device]bool
	countries map[string]bool
	n         int
}

func newHistory() *history {
	return &history{ips: map[string]bool{}, devices: map[Device]bool{}, countries: map[string]bool{}}
}

func (h *history) learn(e *ChainEvent) {
	h.n++
	if e.IP != "" {
		h.ips[e.IP] = true
	}
	if e.Device.Family != "" {
		h.devices[e.Device] = true
	}
	if e.Country != "" {
		h.countries[e.Country] = true
	}
}

// novel reports whether e comes from something the history has not shown.
// With no history at all nothing is novel: there is nothing to compare to.
func (h *history) novel(e *ChainEvent) bool {
	if h.n == 0 {
		return false
	}
	return (e.IP != "" && !h.ips[e.IP]) ||
		(e.Device.Family != "" && !h.devices[e.Device]) ||
		(e.Country != "" && !h.countries[e.Country])
}

// sameAccess reports whether a and b come from the same device: the same
// user agent family and system when both have one, else the same IP.
func sameAccess(a, b *ChainEvent) bool {
	if a.Device.Family != "" && b.Device.Family != "" {
		return a.Device == b.Device
	}
	return a.IP != "" && a.IP == b.IP
}

// DetectChains marks the events that form account takeover chains. events
// are one user's in the order they happened (event time); the result has
// one Step per event.
//
// A chain is: one or more failed logins; then a successful login from an
// IP, device or country that the user's history before it had not shown;
// then a profile update from that same device (see sameAccess: the device
// when both events name one, else the IP), which is what makes the login
// the attacker's and not merely a new one; then a transaction, all within
// ChainWindow of the first failed login. The login marked is the latest
// such success from the profile update's device before it: a new login
// from another device, or a profile update from a device that never
// logged in, is no chain. Events between the steps do not break a chain,
// and whoever makes it, the first transaction after the profile update
// completes it.
//
// The history is every event outside chains and attempts (failed logins
// excepted), so an attacker's address never becomes "known" by his own
// failed logins; a new login not followed by a profile update from its
// device and a transaction within the window joins the history (the user
// got a new device). With no history before the failures, no login is new
// and no chain is marked.
func DetectChains(events []ChainEvent) []Step {
	steps := make([]Step, len(events))
	h := newHistory()
	var fails []int  // failed logins of the attempt, oldest first
	var logins []int // new logins after them, oldest first
	login, profile := -1, -1
	// settle ends the attempt: its new logins and profile update join the
	// history, except a login a chain marked.
	settle := func(marked int) {
		for _, l := range logins {
			if l != marked {
				h.learn(&events[l])
			}
		}
		if profile >= 0 && marked < 0 {
			h.learn(&events[profile])
		}
		fails, logins, login, profile = fails[:0], logins[:0], -1, -1
	}
	for i := range events {
		e := &events[i]
		if len(fails) > 0 && e.Time.Sub(events[fails[0]].Time) > ChainWindow {
			if profile >= 0 {
				settle(-1)
			} else {
				// Failed logins older than the window cannot start a chain
				// now, nor can the logins that only followed them.
				for len(fails) > 0 && e.Time.Sub(events[fails[0]].Time) > ChainWindow {
					fails = fails[1:]
				}
				for len(logins) > 0 && (len(fails) == 0 || logins[0] < fails[0]) {
					h.learn(&events[logins[0]])
					logins = logins[1:]
				}
			}
		}
		switch k := classify(e); {
		case profile >= 0:
			if k == kindTransaction {
				for _, f := range fails {
					if f < login {
						steps[f] = StepFailedLogin
					}
				}
				steps[login], steps[profile], steps[i] = StepNewLogin, StepProfileChange, StepTransaction
				settle(login)
			}
		case k == kindFailedLogin:
			fails = append(fails, i)
		case k == kindLogin && len(fails) > 0 && h.novel(e):
			logins = append(logins, i)
		case k == kindProfile && len(logins) > 0:
			for j := len(logins) - 1; j >= 0; j-- {
				if sameAccess(&events[logins[j]], e) {
					login, profile = logins[j], i
					break
				}
			}
		case len(logins) > 0:
			// An attempt is under way: the rest waits, unlearned.
		case k == kindLogin:
			h.learn(e)
			fails = fails[:0]
		default:
			h.learn(e)
		}
	}
	return steps
}
