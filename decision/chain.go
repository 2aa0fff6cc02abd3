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

// DetectChains marks the events that form account takeover chains. events
// are one user's, oldest first; the result has one Step per event.
//
// A chain is: one or more failed logins; then a successful login from an
// IP, device or country that the user's history before it had not shown;
// then a profile update; then a transaction, all within ChainWindow of the
// first failed login. Events between the steps do not break a chain. The
// history is every event outside chains and attempts (failed logins
// excepted), so an attacker's address never becomes "known" by his own
// failed logins; a new login not followed by a profile update and a
// transaction within the window joins the history (the user got a new
// device). With no history before the failures, no login is new and no
// chain is marked.
func DetectChains(events []ChainEvent) []Step {
	steps := make([]Step, len(events))
	h := newHistory()
	var fails []int          // failed logins not yet followed by a success
	login, profile := -1, -1 // the candidate chain's new login and profile update
	abandon := func() {
		h.learn(&events[login])
		if profile >= 0 {
			h.learn(&events[profile])
		}
		login, profile, fails = -1, -1, fails[:0]
	}
	for i := range events {
		e := &events[i]
		if login >= 0 && e.Time.Sub(events[fails[0]].Time) > ChainWindow {
			abandon()
		}
		// Failed logins older than the window cannot start a chain now.
		for len(fails) > 0 && login < 0 && e.Time.Sub(events[fails[0]].Time) > ChainWindow {
			fails = fails[1:]
		}
		switch k := classify(e); {
		case login >= 0:
			switch {
			case k == kindProfile && profile < 0:
				profile = i
			case k == kindTransaction && profile >= 0:
				for _, f := range fails {
					steps[f] = StepFailedLogin
				}
				steps[login], steps[profile], steps[i] = StepNewLogin, StepProfileChange, StepTransaction
				login, profile, fails = -1, -1, fails[:0]
			}
		case k == kindFailedLogin:
			fails = append(fails, i)
		case k == kindLogin && len(fails) > 0 && h.novel(e):
			login = i
		case k == kindLogin:
			h.learn(e)
			fails = fails[:0]
		default:
			h.learn(e)
		}
	}
	return steps
}
