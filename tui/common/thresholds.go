package common

import (
	tea "charm.land/bubbletea/v2"
	"github.com/riskwatch/riskwatch/decision"
)

// DefaultThresholds are the lines used when the configuration gives none:
// the configuration's own defaults (risk, challenge 50, deny 80).
func DefaultThresholds() decision.Thresholds {
	return decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 80}
}

// CurrentThresholds returns the thresholds in c, or DefaultThresholds when
// none are set.
func (c *Common) CurrentThresholds() decision.Thresholds {
	if c.Thresholds == nil {
		return DefaultThresholds()
	}
	return *c.Thresholds
}

// ThresholdsMsg announces thresholds a view moved to (the What-if view).
// The root stores them in Common.Thresholds, so every view draws the same
// lines. Commands run concurrently, so announcements may arrive out of
// order: Version increases with every change, and the root keeps the
// announcement with the highest.
type ThresholdsMsg struct {
	Thresholds decision.Thresholds
	Version    int
}

// AnnounceThresholds returns a command that sends a ThresholdsMsg.
func AnnounceThresholds(t decision.Thresholds, version int) tea.Cmd {
	return func() tea.Msg { return ThresholdsMsg{Thresholds: t, Version: version} }
}
