// Package common holds what every dashboard view shares: the terminal size,
// the styles of the current theme, the key map, the clock, the data source,
// and the messages views use to talk to the root model without importing it.
package common

import (
	"context"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// QueryTimeout bounds every read the UI starts, so a stuck collector shows
// up as an error instead of a query that never answers.
const QueryTimeout = 10 * time.Second

// Common is the context handed to every view. The root model owns it and
// updates Styles and Thresholds; views keep a pointer and read it while
// handling a message or rendering, never from a tea.Cmd.
type Common struct {
	// Styles are the styles of the current theme, rebuilt on theme change.
	Styles *Styles
	// Keys are the global and navigation bindings.
	Keys *KeyMap
	// Clock tells the time for ages, windows and filters (fixed in tests).
	Clock func() time.Time
	// Data is the only way the UI reads anything.
	Data api.Reader
	// Writer records labels; nil when the data source cannot write (a
	// database opened read-only), and the label keys say so.
	Writer api.Writer
	// Thresholds are optional score lines from the configuration.
	Thresholds *decision.Thresholds

	ctx context.Context
	// tickets numbers every Request.Go, so that no two reads of the
	// program share a ticket.
	tickets uint64
}

// New returns a Common reading from data, whose queries end when ctx ends.
// A nil clock means time.Now.
func New(ctx context.Context, data api.Reader, clock func() time.Time) *Common {
	if clock == nil {
		clock = time.Now
	}
	c := &Common{
		Styles: NewStyles(Theme{Dark: true}),
		Keys:   DefaultKeyMap(),
		Clock:  clock,
		Data:   data,
		ctx:    ctx,
	}
	if w, ok := data.(api.Writer); ok {
		c.Writer = w
	}
	return c
}

// Context is the program's lifetime; it ends when the dashboard quits.
func (c *Common) Context() context.Context { return c.ctx }
