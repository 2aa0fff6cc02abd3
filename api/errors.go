package api

import "errors"

// The kinds of error every Reader and Writer tells apart, in-process and
// over HTTP alike: the handler answers each with its status (400, 404, 503)
// and Remote turns that status back into an error wrapping the same kind,
// with the same text.
var (
	// ErrInvalid: the query cannot be answered as asked (a bad filter, an
	// unknown parameter, a cursor from elsewhere). Asking again will not
	// help; asking another collector will not either.
	ErrInvalid = errors.New("invalid query")
	// ErrNotFound: the thing asked for (a decision) is not stored.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the collector cannot answer now (its store is
	// closing, the query ran out of time); asking later may help.
	ErrUnavailable = errors.New("unavailable")
)

// Invalid marks err as ErrInvalid, keeping its text.
func Invalid(err error) error { return mark(err, ErrInvalid) }

// NotFound marks err as ErrNotFound, keeping its text.
func NotFound(err error) error { return mark(err, ErrNotFound) }

// Unavailable marks err as ErrUnavailable, keeping its text.
func Unavailable(err error) error { return mark(err, ErrUnavailable) }

func mark(err, kind error) error {
	if err == nil || errors.Is(err, kind) {
		return err
	}
	return &kindError{err: err, kind: kind}
}

// kindError is an error with a kind added: its text is the error's, and
// errors.Is finds both the error's own chain and the kind.
type kindError struct{ err, kind error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }
