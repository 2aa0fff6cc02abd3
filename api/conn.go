package api

import "time"

// ConnState is implemented by readers that reach collectors over a network
// (Remote, and Federation, which reports its failing members by name), so
// that a dashboard can say "disconnected since 02:14:07: connection
// refused" instead of showing stale data as live. In-process readers do
// not implement it. Check for it with a type assertion:
//
//	if cs, ok := reader.(api.ConnState); ok { ok, since, err := cs.Connection() ... }
type ConnState interface {
	// Connection reports whether the last exchange with the collector
	// succeeded (ok), since when the state has been what it is, and, when
	// not ok, the last error (nil before the first exchange). It never
	// blocks.
	Connection() (ok bool, since time.Time, err error)
}
