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
	// gathers into one transaction when it keeps up; zero means 1000.
	// With a zero MaxDelay, groups that fill while more work waits grow
	// up to 8 times that. (A single call's items always share one
	// transaction.)
	MaxBatch int
	// MaxDelay, when positive, is how long the writer waits for more work
	// after the first request of a group before it commits. Zero (the
	// default) commits what is waiting at once: groups still form from the
	// requests that queue up during a commit, and a lone request is not
	// delayed; under a steady stream the writer lingers up to a
	// millisecond while requests keep arriving, so groups stay large.
	MaxDelay time.Duration
	// ReadOnly opens the file without ever writing to it (bbolt
	// read-only, a shared lock, no writer goroutine): every query works,
	// every write returns ErrReadOnly. The file must exist and carry the
	// current schema: an older one must be opened once read-write (by
	// riskwatch collect or riskwatch) to migrate it.
	ReadOnly bool
	// MustExist makes Open fail with an error wrapping ErrNoDatabase ("no
	// database at PATH") when there is no file at the path, instead of
	// creating one. ReadOnly implies it.
	MustExist bool
	// WatchEvery is how often the store checks that the file at its path
	// is still the one it has open (see DB.Lost). Zero means one second.
	WatchEvery time.Duration
	// Locked, when set, is called once Open holds the file's lock (not
	// read-only), before it reads, creates or migrates anything: where a
	// process records itself as the holder for others refused meanwhile.
	Locked func()
	// Progress, when set, hears how a migration of an older file goes
	// ("migrating PATH from schema 1 to 2: user index: writing 40%"), a
	// few dozen messages in all. Open calls it from its own goroutine.
	Progress func(msg string)
	// FailCommit is for tests: when set, the writer calls it before each
	// commit, and a non-nil error fails that commit as a full disk would
	// (the transaction is rolled back, every request of the group gets the
	// error wrapped with the path). It lets tests show how callers live
	// through write failures and recover, without root or a full disk. It
	// is called from the writer goroutine and must not block.
	FailCommit func() error

	// mergeEvery and mergeIdle override when pending index state is
	// folded in (tests use them to exercise both paths).
	mergeEvery int
	mergeIdle  time.Duration
	// migrateChunk, migrateRunBytes and migrateTxEntries override the
	// sizes of a migration's chunks; testMigrateHook, when set, is called
	// after each committed chunk and stops the migration (and Open) when
	// it returns an error.
	migrateChunk, migrateRunBytes, migrateTxEntries int
	testMigrateHook                                 func(step string, chunk int) error
	// dims overrides the sizes of the dimension index's runs.
	dims dimSizes
	// rawTrainMin overrides how many decisions the store holds before it
	// trains its first raw body dictionary (trainMin).
	rawTrainMin uint64
}

// DB is an open riskwatch store: one bbolt file holding the inbox, the
// decisions with their indexes, user summaries, rollups, rejected input and
// file checkpoints.
//
// All writes go through one writer goroutine that commits in groups; a
// write call returns after its group committed (or failed). Queries run in
// read-only transactions and see a consistent snapshot; they are safe to
// call concurrently with each other and with writes. A DB holds an
// exclusive lock on its file until Close (a shared one when read-only).
type DB struct {
	path     string
	bolt     *bolt.DB
	now      func() time.Time
	w        *writer // nil when read-only
	readOnly bool
	dims     dimSizes

	lockTimeout time.Duration

	// raw compresses and inflates raw bodies; train trains its
	// dictionaries (nil when read-only).
	raw   *rawCodec
	train *trainer
	// strs is the string table decision records name strings in.
	strs *strTab

	// mu guards closed against the send in submit; Close takes it for
	// writing once, so a submit either reaches the writer or sees closed.
	mu     sync.RWMutex
	closed bool

	closeOnce sync.Once
	closeErr  error

	// retainMu serialises Retain calls.
	retainMu sync.Mutex

	// labels caches the labels ledger; whatifs the label what-if counts
	// (labelwhatif.go).
	labels  ledgerCache
	whatifs whatifCache
	// pend keeps folds of the pending decisions for user queries
	// (pendcache.go).
	pend pendCache
	// watch checks the file at path; lost is set (and lostC closed) once
	// it is no longer the file open.
	watch   *fileWatch
	watchMu sync.Mutex // serialises checks of the file and markLost
	lost    atomic.Pointer[error]
	lostC   chan struct{}
	// written is bbolt's high-water mark as the last write transaction
	// began (Tx.Size): every byte below it was written by a commit, so a
	// hole below it proves the file was truncated under the store.
	written atomic.Int64

	// Counters mirrored from bktMeta after each commit.
	inbox     atomic.Uint64
	decisions atomic.Uint64
	rejected  atomic.Uint64
}

// Open opens (creating if needed, unless opts.MustExist or ReadOnly) the
// store at path. A new file gets every bucket and the schema version. An
// existing file written by an older riskwatch is migrated in place after a
// copy of it is kept beside it (see migrate.go); one written by a newer
// riskwatch is refused with ErrSchema, naming both versions. A bucket the
// file lacks is created. A file locked by another process fails with
// ErrInUse after opts.Timeout; a file that is not a bbolt database, or is
// damaged where Open looks, fails with ErrCorrupt.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WatchEvery <= 0 {
		opts.WatchEvery = defaultWatchEvery
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
	if opts.migrateChunk <= 0 {
		opts.migrateChunk = migChunk
	}
	if opts.migrateRunBytes <= 0 {
		opts.migrateRunBytes = migRunBytes
	}
	if opts.migrateTxEntries <= 0 {
		opts.migrateTxEntries = migTxEntries
	}
	for _, d := range []struct {
		v   *int
		def int
	}{{&opts.dims.block, dimBlockSize}, {&opts.dims.fanout, dimFanout}, {&opts.dims.levelBase, dimLevelBase},
		{&opts.dims.stepEntries, dimStepEntries}, {&opts.dims.stepBlocks, dimStepBlocks}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("open store %s: is a directory", path)
	case errors.Is(err, os.ErrNotExist) && (opts.MustExist || opts.ReadOnly):
		return nil, fmt.Errorf("%w at %s", ErrNoDatabase, path)
	}
	bdb, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	if opts.Locked != nil && !opts.ReadOnly {
		opts.Locked()
	}
	db := &DB{path: path, bolt: bdb, now: opts.Now, lockTimeout: opts.Timeout, readOnly: opts.ReadOnly, dims: opts.dims,
		lostC: make(chan struct{})}
	last, mark, pend, err := db.init(&opts)
	if err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if err := db.view(func(tx *bolt.Tx) error {
		if db.raw, err = newRawCodec(tx); err != nil {
			return err
		}
		db.strs, err = loadStrTab(tx)
		return err
	}); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open store %s: %w: %v", path, ErrCorrupt, err)
	}
	var ds dimState
	if !opts.ReadOnly {
		if err := db.view(func(tx *bolt.Tx) error { ds, err = readDimState(tx); return err }); err != nil {
			_ = bdb.Close()
			return nil, fmt.Errorf("open store %s: %w: %v", path, ErrCorrupt, err)
		}
	}
	if err := db.startWatch(opts.WatchEvery); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if !opts.ReadOnly {
		db.w = startWriter(db, last, mark, pend, db.dims.work(&ds), opts)
		if db.train, err = startTrainer(db, opts.rawTrainMin); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
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
		ReadOnly:     opts.ReadOnly,
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

// init creates the buckets of a new file or checks an existing one,
// migrates it when it is older, creates missing buckets, loads the counters
// and returns the last decision key, the index mark and the pending index
// state (none when read-only). It reads the first and last entry of every
// bucket, so gross damage shows here rather than in a later query.
func (db *DB) init(opts *Options) (last, mark decKey, pend []pendingDec, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("open store %s: %w: %v", db.path, ErrCorrupt, r)
		}
	}()
	fresh := false
	var version uint64
	err = db.bolt.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		if meta == nil {
			other := 0
			if err := tx.ForEach(func([]byte, *bolt.Bucket) error { other++; return nil }); err != nil {
				return err
			}
			if other > 0 {
				return fmt.Errorf("open store %s: %w: a bbolt file of another program (no riskwatch metadata)", db.path, ErrSchema)
			}
			fresh = true
			return nil
		}
		v := meta.Get(metaSchema)
		if len(v) != 8 {
			return fmt.Errorf("open store %s: %w: schema version missing", db.path, ErrCorrupt)
		}
		version = readU64(v)
		return nil
	})
	if err != nil {
		return last, mark, nil, err
	}
	switch {
	case fresh && db.readOnly:
		return last, mark, nil, fmt.Errorf("open store %s: %w: an empty bbolt file, not a riskwatch database yet", db.path, ErrSchema)
	case fresh:
		err = db.bolt.Update(func(tx *bolt.Tx) error {
			if _, err := tx.CreateBucketIfNotExists(bktMeta); err != nil {
				return err
			}
			return tx.Bucket(bktMeta).Put(metaSchema, u64(SchemaVersion))
		})
		if err != nil {
			return last, mark, nil, fmt.Errorf("open store %s: create schema: %w", db.path, err)
		}
	case version > SchemaVersion:
		return last, mark, nil, fmt.Errorf("open store %s: %w: %s was written by a newer riskwatch (schema %d); this riskwatch reads schemas up to %d", db.path, ErrSchema, db.path, version, SchemaVersion)
	case version == 0:
		return last, mark, nil, fmt.Errorf("open store %s: %w: schema version 0", db.path, ErrCorrupt)
	case version < SchemaVersion && db.readOnly:
		return last, mark, nil, fmt.Errorf("open store %s: %w: it has schema %d and this riskwatch reads schema %d; open it once with `riskwatch collect` or `riskwatch` (not read-only) to migrate it", db.path, ErrSchema, version, SchemaVersion)
	case version < SchemaVersion:
		if err := db.migrate(version, opts); err != nil {
			return last, mark, nil, fmt.Errorf("open store %s: %w", db.path, err)
		}
	}
	if err := db.createMissing(); err != nil {
		return last, mark, nil, err
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		for _, name := range allBuckets {
			b := tx.Bucket(name)
			if b == nil {
				continue // an optional bucket of a read-only file (lateBucket)
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
		mark = indexMark(tx)
		if db.readOnly {
			return nil
		}
		var err error
		if pend, err = loadPending(tx); err != nil {
			return fmt.Errorf("open store %s: %w: %v", db.path, ErrCorrupt, err)
		}
		return nil
	})
	return last, mark, pend, err
}

// createMissing creates the buckets the file lacks (none of a current file;
// a bucket added by a later release needs no migration). A read-only store
// cannot: it reports them, except lateBuckets, which read as empty until
// a writer creates them.
func (db *DB) createMissing() error {
	var missing [][]byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil && !(db.readOnly && lateBucket(name)) {
				missing = append(missing, name)
			}
		}
		return nil
	})
	if err != nil || len(missing) == 0 {
		return err
	}
	if db.readOnly {
		return fmt.Errorf("open store %s: %w: bucket %s missing; open it once with `riskwatch collect` or `riskwatch` (not read-only) to add it", db.path, ErrSchema, missing[0])
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range missing {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("open store %s: create buckets: %w", db.path, err)
	}
	return nil
}

// Path returns the file the store was opened from.
func (db *DB) Path() string { return db.path }

// Close stops accepting writes, lets the writer commit everything already
// submitted, and closes the file. It waits for running queries. It returns
// the error of Lost if the file was lost under the store. Calling Close
// again returns the first result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		db.stopWatch()
		db.train.stop()
		if db.w != nil {
			db.w.stop()
			if db.w.wedged {
				// bbolt holds its writer lock from a transaction that
				// faulted as it began: its Close would wait forever. The
				// file and its lock go with the process.
				db.closeErr = fmt.Errorf("close store %s: %w", db.path, db.w.failed)
				return
			}
		}
		if err := db.bolt.Close(); err != nil {
			db.closeErr = fmt.Errorf("close store %s: %w", db.path, err)
		}
		db.raw.close()
		if err := db.Lost(); err != nil && db.closeErr == nil {
			db.closeErr = fmt.Errorf("close store %s: %w", db.path, err)
		}
	})
	return db.closeErr
}

// view runs fn in a read-only transaction. A panic or memory fault inside
// bbolt (a damaged page) becomes an ErrCorrupt error instead of killing the
// process.
func (db *DB) view(fn func(tx *bolt.Tx) error) (err error) {
	if err := db.Lost(); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store %s: %w: %v", db.path, ErrCorrupt, r)
			if lost := db.checkLost(); lost != nil {
				err = lost
			}
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
