// Package safee is the client for the Safe-e risk API and its wire types.
//
// ParseEvent reads the fields riskwatch needs from an event while keeping its
// exact bytes; ParseResponse does the same for Safe-e's answer, keeping fields
// it does not know. Client sends events to Safe-e with bounded concurrency, an
// optional rate limit, and retries with full-jitter backoff for the failures
// Safe-e documents as transient. Every failure is an *Error whose Kind tells
// the caller what to do next (stop, record, retry later). The API key never
// appears in errors or in the printed form of Config or Client.
package safee
