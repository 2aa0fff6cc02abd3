package store

import "errors"

// Errors returned by the store. They are wrapped with context (the path, the
// ID); test for them with errors.Is.
var (
	// ErrInUse means another process (or another open DB in this one)
	// holds the database file's lock. Open waits Options.Timeout for it.
	ErrInUse = errors.New("in use by another riskwatch process")
	// ErrSchema means the file is a bbolt database written with a different
	// riskwatch schema version, or by another program.
	ErrSchema = errors.New("incompatible schema")
	// ErrCorrupt means the file is not a bbolt database or is damaged.
	ErrCorrupt = errors.New("not a riskwatch database or damaged")
	// ErrNotFound means no decision has the requested ID.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned by calls made after Close began.
	ErrClosed = errors.New("store closed")
)
