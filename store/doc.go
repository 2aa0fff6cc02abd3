// Package store keeps riskwatch's data in one bbolt file: the durable inbox
// of accepted events, the decisions (request and response of every Safe-e
// call) with their indexes, user summaries, per-minute and per-hour
// rollups, rejected input and source checkpoints.
//
// # Durability
//
// Every write goes through one writer goroutine that commits in groups (up
// to Options.MaxBatch items, more under load, or Options.MaxDelay,
// whichever comes first; see Options). A
// write call returns only after its group committed, so what it reports
// stored survives a crash of the process. Enqueue stores events and the
// checkpoints of the sources they came from in one transaction; Complete
// removes events from the inbox and stores their decisions in one
// transaction; an event ID is stored at most once, in the inbox or as a
// decision, never both. After a crash the inbox holds exactly the accepted
// events not yet decided.
//
// # Two orders: arrival and event time
//
// Decision keys are 8 bytes of big-endian unix nanoseconds of when the
// decision was stored and an 8-byte sequence; the writer assigns them
// strictly increasing even when the clock steps back, and a decision's ID
// is the hex form of its key. So IDs sort in arrival order and the
// decisions bucket only grows at its end: Latest, After and the Live tail
// follow it.
//
// Everything else follows event time, when the event happened (SPEC
// section 10, decision.EventTimeOf): the by_time index orders every
// decision by event time; rollups, windows (Rates, Histogram, WhatIf,
// Flips, Totals, Range and the filter's since: and until:), journeys, user
// summaries and retention use it, so a backfill of last night's log shows
// last night.
//
// # Reading
//
// Queries run in read-only transactions and see one consistent snapshot;
// they never wait for the writer. Every Decision, summary or record they
// return is a copy the caller owns. Long scans check their context. Window
// aggregates (Rates, Histogram, WhatIf, Totals without a filter) read the
// rollups, in whole minutes, and merge whole hours from the hourly rollups,
// so their cost depends on the window, not on how many decisions it holds.
// ValueCounts and ValueSeries count the values of every dimension of
// SPEC section 11 (what explain compares) from the dimension rollups, per
// minute, hour and action, which keep each dimension's top values and an
// exact remainder (dimrollup.go).
// DimensionEntries, DimensionCounts and UserValues answer "who shares this
// IP, network, email, domain or device" from the by_dim index.
//
// # Batched indexes
//
// The user, IP and dimension indexes and the user summaries are folded in
// by the writer in sorted batches (every 16384 decisions, after a second
// without writes, before retention, at Close) rather than with each
// decision, which would touch one random page per entry per commit. The
// user and dimension indexes keep each batch as a sorted run and merge
// runs in tiers in the background, so their cost per decision stays flat
// as they grow. Queries read the decisions not folded in yet themselves, from the same
// snapshot, so their answers are exact; after a crash Open rebuilds the
// batch from the decisions.
//
// # Raw bodies
//
// The raw request and response of every decision are returned exactly as
// they were stored, byte for byte. The store keeps them compressed with
// zstd and a dictionary it trains from its own decisions in the background
// (first at 4096 decisions, again each time it holds four times as many,
// kept only when at least 10% better); dictionaries are never deleted, so
// every record stays readable. The caller of Complete compresses, not the
// writer (rawcodec.go, rawtrain.go).
//
// # Versions
//
// Open migrates a file written by an older riskwatch in place, after
// keeping a copy of it (migrate.go), and refuses one written by a newer
// one. Decoders read every older version of their record.
//
// # Layout
//
// The buckets and record formats are described in schema.go, records.go,
// rawcodec.go, rollup.go, dimrollup.go and dims.go; SchemaVersion changes whenever they
// do.
package store
