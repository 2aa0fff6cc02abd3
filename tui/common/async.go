package common

import (
	"context"

	tea "charm.land/bubbletea/v2"
)

// Request owns the "latest request wins" bookkeeping of one kind of read a
// view makes (lazygit's AsyncHandler): Go starts a read in a tea.Cmd and
// tags its Answer with a ticket; Take accepts only the answer to the
// latest read started, so an answer the user has moved past (another
// filter, another score) is dropped when it arrives, whatever order the
// answers come back in. With Cancel set, starting a read also cancels the
// context of the one it supersedes, so a long scan nobody waits for any
// more stops early.
//
// The zero Request (with View set) is ready to use. It is a value inside
// the view's model and is copied with it; only Update may call its
// methods.
type Request[T any] struct {
	// View is where the root delivers the answers (see Routed).
	View ViewID
	// Cancel makes Go and Drop cancel the read they supersede.
	Cancel bool

	ticket uint64
	busy   bool
	stop   context.CancelFunc
}

// Answer is the result of a read started with Request.Go: the value and
// error fn returned, tagged with the read's ticket. It is Routed to the
// Request's View.
type Answer[T any] struct {
	Value T
	Err   error

	view   ViewID
	ticket uint64
}

// Target names the view the answer belongs to.
func (a Answer[T]) Target() ViewID { return a.view }

// Go starts a read: fn runs in the returned command, outside Update, with
// a context bounded by QueryTimeout and the program's lifetime, and its
// result comes back as an Answer[T]. The read becomes the latest: answers
// to earlier ones will be refused by Take.
func (r *Request[T]) Go(c *Common, fn func(ctx context.Context) (T, error)) tea.Cmd {
	r.Drop()
	c.tickets++
	ticket, view := c.tickets, r.View
	ctx, cancel := context.WithCancel(c.ctx)
	r.ticket, r.busy, r.stop = ticket, true, cancel
	return func() tea.Msg {
		defer cancel()
		ctx, stop := context.WithTimeout(ctx, QueryTimeout)
		defer stop()
		v, err := fn(ctx)
		return Answer[T]{Value: v, Err: err, view: view, ticket: ticket}
	}
}

// Take reports whether a answers the latest read, which is then no longer
// under way. It returns false for an answer to a superseded or dropped
// read, and for a second delivery of the same answer.
func (r *Request[T]) Take(a Answer[T]) bool {
	if !r.busy || a.ticket != r.ticket {
		return false
	}
	r.busy, r.stop = false, nil
	return true
}

// Busy reports whether the latest read has not answered yet.
func (r *Request[T]) Busy() bool { return r.busy }

// Drop forgets the read under way, if any: its answer will be refused,
// and with Cancel set its context is cancelled.
func (r *Request[T]) Drop() {
	if r.busy && r.Cancel && r.stop != nil {
		r.stop()
	}
	r.busy, r.stop = false, nil
}
