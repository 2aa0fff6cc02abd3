package common

import (
	tea "charm.land/bubbletea/v2"
	"github.com/riskwatch/riskwatch/decision"
)

// DefaultThresholds are the lines used when the configuration gives none:
// the configuration's own defaults (risk, challenge 50, deny 80).
func DefaultThresholds() Thresholds {
	return Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 80}
}

// CurrentThresholds returns the thresholds in c, or DefaultThresholds when
// none are set.
func (c *Common) CurrentThresholds() Thresholds {
	if c.Thresholds == nil {
		return DefaultThresholds()
	}
	return *c.Thresholds
}

// Store returns the challenge and deny lines in the form the store
// simulates.
func (t Thresholds) Store() decision.Thresholds {
	return decision.Thresholds{Challenge: t.Challenge, Deny: t.Deny}
}

// ThresholdsMsg announces thresholds a view moved to (the What-if view).
// The root stores them in Common.Thresholds, so every view draws the same
// lines. Commands run concurrently, so announcements may arrive out of
// order: Version increases with every change, and the root keeps the
// announcement with the highest.
type ThresholdsMsg struct {
	Thresholds Thresholds
	Version    int
}

// AnnounceThresholds returns a command that sends a ThresholdsMsg.
func AnnounceThresholds(t Thresholds, version int) tea.Cmd {
	return func() tea.Msg { return ThresholdsMsg{Thresholds: t, Version: version} }
}
