package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/whatif"
)

// switchTo makes v the active tab and closes the detail. The tab it
// replaces stops refreshing; the new one starts (and reads what it lacks).
func (m *Model) switchTo(v common.ViewID) tea.Cmd {
	prev := m.active
	m.active = v
	m.detailOpen = false
	if prev == v {
		return nil
	}
	switch prev {
	case common.ViewHistograms:
		m.hist.Hide()
	case common.ViewJourneys:
		m.journeys.Hide()
	case common.ViewWhatIf:
		m.whatif.Hide()
	}
	switch v {
	case common.ViewHistograms:
		return m.hist.Show()
	case common.ViewJourneys:
		return m.journeys.Show()
	case common.ViewWhatIf:
		return m.whatif.Show()
	}
	return nil
}

// showLive shows the Live view filtered by expr (a histogram bar's range).
func (m *Model) showLive(expr string) tea.Cmd {
	show := m.switchTo(common.ViewLive)
	return tea.Batch(show, m.live.SetFilter(expr))
}

// openJourney shows the Journeys view on user's timeline.
func (m *Model) openJourney(user string) tea.Cmd {
	if user == "" {
		return common.Status("this decision has no user", common.LevelWarn)
	}
	read := m.journeys.Open(user)
	return tea.Batch(read, m.switchTo(common.ViewJourneys))
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

// onBatch hands new decisions to every view that shows them or aggregates
// of them; hidden views only note that they are stale.
func (m *Model) onBatch(b api.Batch) tea.Cmd {
	bm := common.BatchMsg{Batch: b}
	cmds := make([]tea.Cmd, 4)
	m.live, cmds[0] = m.live.Update(bm)
	m.hist, cmds[1] = m.hist.Update(bm)
	m.journeys, cmds[2] = m.journeys.Update(bm)
	m.whatif, cmds[3] = m.whatif.Update(bm)
	return tea.Batch(cmds...)
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
