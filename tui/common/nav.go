package common

import (
	tea "charm.land/bubbletea/v2"
	"github.com/riskwatch/riskwatch/decision"
)

// LiveFilterMsg asks the root to show the Live view with Filter (filter
// language, SPEC section 5) applied, e.g. "risk>=40 risk<50 since:1h".
type LiveFilterMsg struct {
	Filter string
}

// OpenJourneyMsg asks the root to show the Journeys view on one user's
// timeline.
type OpenJourneyMsg struct {
	UserID string
}

// ShowLive returns a command asking the root for the Live view filtered by
// expr.
func ShowLive(expr string) tea.Cmd {
	return func() tea.Msg { return LiveFilterMsg{Filter: expr} }
}

// OpenJourney returns a command asking the root for user's journey.
func OpenJourney(userID string) tea.Cmd {
	return func() tea.Msg { return OpenJourneyMsg{UserID: userID} }
}

// ExplainMsg asks the root to open the Explain view on the decisions
// matching Filter; Window and Baseline, when set, choose the periods
// compared (see api.ExplainQuery).
type ExplainMsg struct {
	Filter, Window, Baseline string
	// Until ends the window (an RFC 3339 time); "" ends it now.
	Until string
}

// Explain returns a command asking the root for the Explain view.
func Explain(filter, window, baseline string) tea.Cmd {
	return func() tea.Msg { return ExplainMsg{Filter: filter, Window: window, Baseline: baseline} }
}

// OpenDetail returns a command asking the root to open the detail view on
// d. The decision is copied into the message.
func OpenDetail(d decision.Decision) tea.Cmd {
	return func() tea.Msg { return OpenDetailMsg{Decision: d} }
}

// OpenLinksMsg asks the root to show the Links view of one user.
type OpenLinksMsg struct {
	UserID string
}

// OpenLinks returns a command asking the root for user's links.
func OpenLinks(userID string) tea.Cmd {
	return func() tea.Msg { return OpenLinksMsg{UserID: userID} }
}
