package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/tui/common"
)

// placeholder holds the slot of a view that is not built yet, so the view
// numbering (2 Histograms, 3 Journeys, 4 What-if) is already final.
type placeholder struct {
	c      *common.Common
	id     common.ViewID
	width  int
	height int
}

func newPlaceholder(c *common.Common, id common.ViewID) placeholder {
	return placeholder{c: c, id: id}
}

func (p placeholder) Update(tea.Msg) (placeholder, tea.Cmd) { return p, nil }

func (p *placeholder) SetSize(w, h int) { p.width, p.height = w, h }

func (p placeholder) View() string {
	return common.FitBlock(p.c.Styles.Dim.Render(common.Truncate(p.id.String()+": not built yet", p.width)), p.width, p.height)
}

func (p placeholder) ShortHelp() []key.Binding { return nil }

func (p placeholder) FullHelp() []key.Binding { return nil }
