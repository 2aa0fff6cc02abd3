package common

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/riskwatch/riskwatch/decision"
)

// ScoreKeys are the bindings that choose the score a view shows: r for
// risk, t for ATO, b for bot and a for abuse.
type ScoreKeys struct {
	Risk, ATO, Bot, Abuse key.Binding
	// Help documents Risk, ATO, Bot and Abuse in one help entry.
	Help key.Binding
}

// DefaultScoreKeys returns the standard score bindings.
func DefaultScoreKeys() ScoreKeys {
	return ScoreKeys{
		Risk:  key.NewBinding(key.WithKeys("r")),
		ATO:   key.NewBinding(key.WithKeys("t")),
		Bot:   key.NewBinding(key.WithKeys("b")),
		Abuse: key.NewBinding(key.WithKeys("a")),
		Help:  key.NewBinding(key.WithKeys("r", "t", "b", "a"), key.WithHelp("r/t/b/a", "risk/ATO/bot/abuse")),
	}
}

// Score returns the score msg chooses; ok is false when msg is none of the
// score keys.
func (k ScoreKeys) Score(msg tea.KeyPressMsg) (s decision.Score, ok bool) {
	switch {
	case key.Matches(msg, k.Risk):
		return decision.ScoreRisk, true
	case key.Matches(msg, k.ATO):
		return decision.ScoreATO, true
	case key.Matches(msg, k.Bot):
		return decision.ScoreBot, true
	case key.Matches(msg, k.Abuse):
		return decision.ScoreAbuse, true
	}
	return 0, false
}

// WindowKeys are the bindings that cycle through Windows: w to the next,
// W to the previous, both wrapping around.
type WindowKeys struct {
	Next, Prev key.Binding
}

// NewWindowKeys returns the window bindings; order is how the help names
// the cycle as the view starts it (e.g. "5m/1h/24h/all").
func NewWindowKeys(order string) WindowKeys {
	return WindowKeys{
		Next: key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "window "+order)),
		Prev: key.NewBinding(key.WithKeys("W"), key.WithHelp("W", "previous window")),
	}
}

// Step returns the index in Windows that msg moves win to; ok is false
// when msg is neither window key.
func (k WindowKeys) Step(msg tea.KeyPressMsg, win int) (next int, ok bool) {
	n := len(Windows)
	switch {
	case key.Matches(msg, k.Next):
		return (win + 1) % n, true
	case key.Matches(msg, k.Prev):
		return (win + n - 1) % n, true
	}
	return win, false
}
