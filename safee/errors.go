package safee

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reasons a byte slice is not a usable event or response. Parse errors wrap
// one of these (test with errors.Is); their text adds the detail (which field,
// which byte), so err.Error() is suitable as a recorded rejection reason.
var (
	ErrInvalidUTF8  = errors.New("invalid UTF-8")
	ErrNotJSON      = errors.New("not JSON")
	ErrNotObject    = errors.New("not a JSON object")
	ErrTrailingData = errors.New("trailing data after the JSON object")
	ErrMissingType  = errors.New("missing or empty type")
	ErrBadType      = errors.New("bad type")
	ErrBadTimestamp = errors.New("bad timestamp")
	ErrBadField     = errors.New("bad field")
	ErrBadScore     = errors.New("bad score")
)

// Kind classifies a failed Safe-e call by what the caller should do next.
type Kind int

// The kinds of *Error.
const (
	// KindUnauthorized: Safe-e refused the API key (401 or 403). Fatal for
	// every event: stop sending, say so loudly, keep the events.
	KindUnauthorized Kind = iota + 1
	// KindBadEvent: Safe-e refused this event (400, 422 and other 4xx except
	// 408 and 429), or the event cannot be sent at all. Permanent: record
	// it, do not retry.
	KindBadEvent
	// KindRetryable: a transient failure (408, 429, 5xx, a timeout or a
	// connection error) that persisted through every allowed attempt. The
	// event may be sent again later.
	KindRetryable
	// KindCanceled: the caller's context ended before an answer arrived.
	KindCanceled
	// KindBadResponse: Safe-e answered with a status or body riskwatch
	// cannot use (an unparseable or oversized body, a redirect). Not retried:
	// the raw body is in the Result for inspection.
	KindBadResponse
)

var kindNames = map[Kind]string{
	KindUnauthorized: "unauthorized",
	KindBadEvent:     "bad_event",
	KindRetryable:    "retryable",
	KindCanceled:     "canceled",
	KindBadResponse:  "bad_response",
}

// String returns the kind's snake_case name, as used in metrics and health.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a failed Safe-e call. Its text never contains the API key: Safe-e's
// error body is quoted only as a bounded snippet with the key redacted.
type Error struct {
	Kind Kind
	// Status is the HTTP status of the last answer, 0 when none arrived.
	Status int
	// Msg describes the failure, including a snippet of Safe-e's error body.
	Msg string
	// Attempts is how many requests were sent.
	Attempts int
	// Timeout is true when the last attempt ran out of time (the per-attempt
	// Timeout, not the caller's context).
	Timeout bool
	// Err is the underlying cause (a transport, context or parse error), if any.
	Err error
}

// Error returns Msg.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Reason names the failure for counters: unauthorized, bad_event,
// bad_response, canceled, or for KindRetryable the last cause: timeout,
// network (no answer) or retryable (a 408, 429 or 5xx answer).
func (e *Error) Reason() string {
	if e.Kind == KindRetryable {
		switch {
		case e.Timeout:
			return "timeout"
		case e.Status == 0:
			return "network"
		}
	}
	return e.Kind.String()
}

// KindOf returns the Kind of the *Error in err's chain, or 0 if there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// snippetLen bounds how much of Safe-e's body an error message quotes.
const snippetLen = 200

// snippet returns a single-line excerpt of body with every occurrence of key
// replaced, at most snippetLen bytes, cut at a rune boundary. Redaction runs
// before truncation, so no prefix of the key can survive the cut.
func snippet(body []byte, key string) string {
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	if key != "" {
		s = strings.ReplaceAll(s, key, "[REDACTED]")
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if len(s) <= snippetLen {
		return s
	}
	cut := snippetLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
