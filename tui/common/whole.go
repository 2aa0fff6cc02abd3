package common

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/decision"
)

// Whole reports whether d carries its raw request and response. The lists
// the views read are brief (api.LatestQuery.Brief and the like leave the
// raw bodies out); every stored decision has at least its request, so a
// decision with neither came from a brief list.
func Whole(d *decision.Decision) bool { return d.Request != nil || d.Response != nil }

// ReadWhole returns a command that reads decision id whole, for a view
// that shows or copies its raw bodies; fn turns the answer into the
// view's message.
func (c *Common) ReadWhole(id string, fn func(decision.Decision, error) tea.Msg) tea.Cmd {
	data, ctx := c.Data, c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
		defer cancel()
		return fn(data.Decision(ctx, id))
	}
}

// CopyDecision puts d on the clipboard as one line of JSON (DecisionJSON),
// reading it whole first when it came from a brief list.
func (c *Common) CopyDecision(d decision.Decision) tea.Cmd {
	if Whole(&d) {
		return copyJSON(d)
	}
	return c.ReadWhole(d.ID, func(full decision.Decision, err error) tea.Msg {
		if err != nil {
			return StatusMsg{Text: Sanitize("copy decision " + d.ID + ": " + err.Error()), Level: LevelError}
		}
		return tea.BatchMsg{copyJSON(full)}
	})
}

// copyJSON copies d as it is.
func copyJSON(d decision.Decision) tea.Cmd {
	s, err := DecisionJSON(&d)
	if err != nil {
		return Status(Sanitize(err.Error()), LevelError)
	}
	return tea.Batch(tea.SetClipboard(s), Status("copied decision JSON to clipboard", LevelInfo))
}
