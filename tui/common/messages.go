package common

import (
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// ViewID names a view. The tabs come first, in tab order, and keep their
// number key (ViewLive is "1"); the views after them are screens opened
// from a tab (the detail of a decision), with no key of their own.
type ViewID int

// The views.
const (
	ViewLive ViewID = iota
	ViewHistograms
	ViewJourneys
	ViewWhatIf
	ViewHealth
	ViewDetail
	ViewExplain
	NumViews
)

// NumTabs is the number of tabs: the views reachable with the number keys
// and tab.
const NumTabs = int(ViewDetail)

var viewNames = [NumViews]string{"Live", "Histograms", "Journeys", "What-if", "Health", "Detail", "Explain"}

// String returns the view's title.
func (v ViewID) String() string {
	if v < 0 || v >= NumViews {
		return "?"
	}
	return viewNames[v]
}

// IsTab reports whether v is a tab rather than a screen opened from one.
func (v ViewID) IsTab() bool { return v >= 0 && int(v) < NumTabs }

// Routed is implemented by a view's own asynchronous results: the root
// delivers them to the view named by Target, whichever view has focus.
type Routed interface {
	Target() ViewID
}

// Level grades a status message.
type Level int

// Status levels, from least to most urgent.
const (
	LevelInfo Level = iota
	LevelWarn
	LevelError
)

// StatusMsg asks the root to show a short message in the status line for a
// few seconds ("copied decision JSON to clipboard").
type StatusMsg struct {
	Text  string
	Level Level
}

// Status returns a command that shows text in the status line.
func Status(text string, level Level) tea.Cmd {
	return func() tea.Msg { return StatusMsg{Text: text, Level: level} }
}

// OpenDetailMsg asks the root to open the detail view on a decision.
type OpenDetailMsg struct {
	Decision decision.Decision
}

// HealthMsg carries a snapshot of the collector; Err is set when it could
// not be read. The root fetches it every second and hands it to the views.
type HealthMsg struct {
	Health api.Health
	Err    error
}

// ErrorTotal is the number of failed Safe-e calls of every kind in h.
func ErrorTotal(h api.Health) uint64 {
	var n uint64
	for _, c := range h.Errors {
		n += c
	}
	return n
}

// BatchMsg carries newly stored decisions, oldest first, as delivered by
// the subscription (a few times a second, never one message per event).
type BatchMsg struct {
	Batch api.Batch
}
