package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/whatif"
)

// switchTo starts the stack again from tab v (a number key, tab,
// shift+tab): what was open over the previous tab closes.
func (m *Model) switchTo(v common.ViewID) tea.Cmd {
	return m.navigate([]common.ViewID{v})
}

// open puts view v on top of the stack, so that esc comes back to what is
// under it. A view already in the stack is taken out of its old place
// first, so the stack never holds a view twice.
func (m *Model) open(v common.ViewID) tea.Cmd {
	next := make([]common.ViewID, 0, len(m.stack)+1)
	for _, x := range m.stack {
		if x != v {
			next = append(next, x)
		}
	}
	return m.navigate(append(next, v))
}

// back closes the focused view and returns to the one under it; at the
// bottom of the stack there is nowhere to go back to.
func (m *Model) back() tea.Cmd {
	if len(m.stack) < 2 {
		return nil
	}
	return m.navigate(m.stack[:len(m.stack)-1])
}

// navigate makes stack the new stack. The focused view changes only if
// its top does: the view that loses focus stops refreshing (Hide) and the
// one that gains it starts (Show, which reads what it lacks).
func (m *Model) navigate(stack []common.ViewID) tea.Cmd {
	prev := m.focus()
	m.stack = append(m.stack[:0:0], stack...)
	next := m.focus()
	if prev == next {
		return nil
	}
	m.pages[prev].hide()
	return m.pages[next].show()
}

// showLive shows the Live view filtered by expr (a histogram bar's range);
// esc returns to where the user was.
func (m *Model) showLive(expr string) tea.Cmd {
	return tea.Batch(m.open(common.ViewLive), m.live.SetFilter(expr))
}

// openJourney shows the Journeys view on user's timeline; esc returns to
// where the user was.
func (m *Model) openJourney(user string) tea.Cmd {
	if user == "" {
		return common.Status("this decision has no user", common.LevelWarn)
	}
	return tea.Batch(m.journeys.Open(user), m.open(common.ViewJourneys))
}

// openLinks shows the Links view of user; esc returns to where the user
// was.
func (m *Model) openLinks(user string) tea.Cmd {
	if user == "" {
		return common.Status("this row has no user", common.LevelWarn)
	}
	m.helpOpen = false
	return tea.Batch(m.links.Open(user), m.open(common.ViewLinks))
}

// setThresholds keeps the newest thresholds the What-if view announced, so
// the histograms draw the lines being tried.
func (m *Model) setThresholds(msg common.ThresholdsMsg) {
	if msg.Version <= m.thVersion {
		return
	}
	m.thVersion = msg.Version
	t := msg.Thresholds
	m.c.Thresholds = &t
}

// onBatch hands new decisions to every view; those that show them or
// aggregates of them update, hidden ones only note that they are stale.
func (m *Model) onBatch(b api.Batch) tea.Cmd {
	return m.broadcast(common.BatchMsg{Batch: b})
}

// saver is how the What-if view saves thresholds: Options.SaveThresholds,
// else into the [thresholds] table of ConfigPath, else nowhere.
func (o Options) saver() whatif.SaveFunc {
	if o.SaveThresholds != nil {
		return o.SaveThresholds
	}
	if o.ConfigPath == "" {
		return nil
	}
	path := o.ConfigPath
	return func(t Thresholds) (string, error) {
		err := config.SaveThresholds(path, config.Thresholds{Score: t.Score.String(), Challenge: t.Challenge, Deny: t.Deny})
		return path, err
	}
}
