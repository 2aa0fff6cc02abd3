package store

import "errors"

// Errors returned by the store. They are wrapped with context (the path, the
// ID); test for them with errors.Is.
var (
	// ErrInUse means another process (or another open DB in this one)
	// holds the database file's lock. Open waits Options.Timeout for it.
	ErrInUse = errors.New("in use by another riskwatch process")
	// ErrSchema means the file is a bbolt database written by a newer
	// riskwatch (a schema version above SchemaVersion), or by another
	// program, or (read-only) by an older riskwatch that must migrate it.
	ErrSchema = errors.New("incompatible schema")
	// ErrCorrupt means the file is not a bbolt database or is damaged.
	ErrCorrupt = errors.New("not a riskwatch database or damaged")
	// ErrNotFound means no decision has the requested ID.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned by calls made after Close began.
	ErrClosed = errors.New("store closed")
	// ErrNoDatabase means Open was told the file must exist
	// (Options.MustExist or ReadOnly) and there is none.
	ErrNoDatabase = errors.New("no database")
	// ErrReadOnly is returned by writes to a store opened with
	// Options.ReadOnly.
	ErrReadOnly = errors.New("opened read-only")
	// ErrFileLost means the file at the database's path is no longer the
	// one the store has open: deleted, replaced or truncated by someone
	// else while it ran (see DB.Lost).
	ErrFileLost = errors.New("the database file was deleted, replaced or truncated under the running process")
	// ErrBadCursor means a Range cursor or a Latest/After position is not
	// one the store gave out (or a decision ID).
	ErrBadCursor = errors.New("bad cursor")
)
