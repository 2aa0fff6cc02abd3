// Package store keeps riskwatch's data in one bbolt file: the durable inbox
// of accepted events, the decisions (request and response of every Safe-e
// call) with their indexes, user summaries, per-minute and per-hour
// rollups, rejected input and file checkpoints.
//
// # Durability
//
// Every write goes through one writer goroutine that commits in groups (up
// to Options.MaxBatch items or Options.MaxDelay, whichever comes first). A
// write call returns only after its group committed, so what it reports
// stored survives a crash of the process. Enqueue stores events and the
// checkpoint of the file they came from in one transaction; Complete removes
// events from the inbox and stores their decisions in one transaction; an
// event ID is stored at most once, in the inbox or as a decision, never
// both. After a crash the inbox holds exactly the accepted events not yet
// decided.
//
// # Ordering
//
// Decision keys are 8 bytes of big-endian unix nanoseconds and an 8-byte
// sequence; the writer assigns them strictly increasing even when the clock
// steps back, and a decision's ID is the hex form of its key. So IDs sort
// in storage order, the decisions bucket only grows at its end, and time
// windows are key ranges.
//
// # Reading
//
// Queries run in read-only transactions and see one consistent snapshot;
// they never wait for the writer. Every Decision, summary or record they
// return is a copy the caller owns. Long scans check their context.
// Window aggregates (Rates, Histogram, WhatIf, Totals without a filter)
// read the rollups, in whole minutes, and merge whole hours from the hourly
// rollups, so their cost depends on the window, not on how many decisions
// it holds.
//
// # User state
//
// The per-user index and summaries are folded in by the writer in sorted
// batches (every 16384 decisions, after a second without writes, before
// retention, at Close) rather than with each decision, which would touch
// one random page per user per commit. Queries read the newest decisions
// themselves for the part not folded in yet, from the same snapshot, so
// their answers are exact; after a crash Open rebuilds the batch from the
// decisions.
//
// # Layout
//
// The buckets and record formats are described in schema.go, records.go and
// rollup.go; SchemaVersion changes whenever they do.
package store
