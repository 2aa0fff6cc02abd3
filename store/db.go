package store

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for the file lock before it gives up
	// with ErrInUse. Zero means one second.
	Timeout time.Duration
	// NoSync skips fsync on commit: a crash of the machine (not of the
	// process) may lose committed work. For tests and benchmarks only.
	NoSync bool
	// Now is the clock that stamps decisions; nil means time.Now.
	Now func() time.Time
	// MaxSize caps the file size in bytes: a commit that would grow the
	// file beyond it fails and stores nothing. Zero means no cap.
	MaxSize int
	// MaxBatch is the most items (events, results, rejects) the writer
	// commits in one transaction; zero means 1000.
	MaxBatch int
	// MaxDelay, when positive, is how long the writer waits for more work
	// after the first request of a group before it commits. Zero (the
	// default) commits what is waiting at once: groups still form from the
	// requests that queue up during a commit, and a lone request is not
	// delayed.
	MaxDelay time.Duration

	// mergeEvery and mergeIdle override when pending user state is folded
	// in (tests use them to exercise both paths).
	mergeEvery int
	mergeIdle  time.Duration
}

// DB is an open riskwatch store: one bbolt file holding the inbox, the
// decisions with their indexes, user summaries, rollups, rejected input and
// file checkpoints.
//
// All writes go through one writer goroutine that commits in groups; a
// write call returns after its group committed (or failed). Queries run in
// read-only transactions and see a consistent snapshot; they are safe to
// call concurrently with each other and with writes. A DB holds an
// exclusive lock on its file until Close.
type DB struct {
	path string
	bolt *bolt.DB
	now  func() time.Time
	w    *writer

	lockTimeout time.Duration

	// mu guards closed against the send in submit; Close takes it for
	// writing once, so a submit either reaches the writer or sees closed.
	mu     sync.RWMutex
	closed bool

	closeOnce sync.Once
	closeErr  error

	// retainMu serialises Retain calls.
	retainMu sync.Mutex

	// Counters mirrored from bktMeta after each commit.
	inbox     atomic.Uint64
	decisions atomic.Uint64
	rejected  atomic.Uint64
}

// Open opens (creating if needed) the store at path. A new file gets every
// bucket and the schema version; an existing one must carry the same
// version (ErrSchema otherwise). A file locked by another process fails
// with ErrInUse after opts.Timeout; a file that is not a bbolt database, or
// is damaged where Open looks, fails with ErrCorrupt.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.mergeEvery <= 0 {
		opts.mergeEvery = mergeEvery
	}
	if opts.mergeIdle <= 0 {
		opts.mergeIdle = mergeIdle
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("open store %s: is a directory", path)
	}
	bdb, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	db := &DB{path: path, bolt: bdb, now: opts.Now, lockTimeout: opts.Timeout}
	last, pend, err := db.init()
	if err != nil {
		_ = bdb.Close()
		return nil, err
	}
	db.w = startWriter(db, last, pend, opts)
	return db, nil
}

// openBolt opens the bbolt file, turning lock timeouts into ErrInUse and
// unreadable files (including bbolt panics and memory faults on damaged
// pages) into ErrCorrupt.
func openBolt(path string, opts Options) (bdb *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			bdb, err = nil, fmt.Errorf("open store %s: %w: %v", path, ErrCorrupt, r)
		}
	}()
	bdb, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      opts.Timeout,
		FreelistType: bolt.FreelistMapType,
		NoSync:       opts.NoSync,
		MaxSize:      opts.MaxSize,
	})
	switch {
	case err == nil:
		return bdb, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("database %s is %w", path, ErrInUse)
	case errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		return nil, fmt.Errorf("open store %s: %w", path, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, fmt.Errorf("open store %s: %w: %v", path, ErrCorrupt, err)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return nil, fmt.Errorf("open store %s: %w: %v", path, ErrCorrupt, err)
}

// init creates the buckets of a new file or checks an existing one, loads
// the counters and returns the last decision key and the pending user
// state. It reads the first and last entry of every bucket, so gross damage
// shows here rather than in a later query.
func (db *DB) init() (last decKey, pend []pendingUser, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("open store %s: %w: %v", db.path, ErrCorrupt, r)
		}
	}()
	fresh := false
	err = db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bktMeta) != nil {
			return nil
		}
		other := 0
		if err := tx.ForEach(func([]byte, *bolt.Bucket) error { other++; return nil }); err != nil {
			return err
		}
		if other > 0 {
			return fmt.Errorf("open store %s: %w: a bbolt file of another program (no riskwatch metadata)", db.path, ErrSchema)
		}
		fresh = true
		return nil
	})
	if err != nil {
		return last, nil, err
	}
	if fresh {
		err = db.bolt.Update(func(tx *bolt.Tx) error {
			for _, name := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return tx.Bucket(bktMeta).Put(metaSchema, u64(SchemaVersion))
		})
		if err != nil {
			return last, nil, fmt.Errorf("open store %s: create schema: %w", db.path, err)
		}
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		v := meta.Get(metaSchema)
		if len(v) != 8 {
			return fmt.Errorf("open store %s: %w: schema version missing", db.path, ErrCorrupt)
		}
		if got := readU64(v); got != SchemaVersion {
			return fmt.Errorf("open store %s: %w: the file has schema version %d, this riskwatch reads version %d", db.path, ErrSchema, got, SchemaVersion)
		}
		for _, name := range allBuckets {
			b := tx.Bucket(name)
			if b == nil {
				return fmt.Errorf("open store %s: %w: bucket %s missing", db.path, ErrCorrupt, name)
			}
			c := b.Cursor()
			c.First()
			c.Last()
		}
		if v := meta.Get(metaLastKey); v != nil {
			if len(v) != len(last) {
				return fmt.Errorf("open store %s: %w: bad last key", db.path, ErrCorrupt)
			}
			last = decKey(v)
		}
		db.decisions.Store(readU64(meta.Get(metaDecisions)))
		db.inbox.Store(readU64(meta.Get(metaInbox)))
		db.rejected.Store(readU64(meta.Get(metaRejected)))
		var err error
		if pend, err = loadPending(tx); err != nil {
			return fmt.Errorf("open store %s: %w: %v", db.path, ErrCorrupt, err)
		}
		return nil
	})
	return last, pend, err
}

// Path returns the file the store was opened from.
func (db *DB) Path() string { return db.path }

// Close stops accepting writes, lets the writer commit everything already
// submitted, and closes the file. It waits for running queries. Calling
// Close again returns the first result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		db.w.stop()
		if err := db.bolt.Close(); err != nil {
			db.closeErr = fmt.Errorf("close store %s: %w", db.path, err)
		}
	})
	return db.closeErr
}

// view runs fn in a read-only transaction. A panic or memory fault inside
// bbolt (a damaged page) becomes an ErrCorrupt error instead of killing the
// process.
func (db *DB) view(fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store %s: %w: %v", db.path, ErrCorrupt, r)
		}
	}()
	if err := db.bolt.View(fn); err != nil {
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			return fmt.Errorf("store %s: %w", db.path, ErrClosed)
		}
		return err
	}
	return nil
}
