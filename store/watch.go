package store

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// defaultWatchEvery is how often a DB checks that the file at its path is
// still the one it has open, when Options.WatchEvery is zero.
const defaultWatchEvery = time.Second

// fileWatch is the goroutine that checks the file at the DB's path, started
// by Open and stopped by Close.
type fileWatch struct {
	// opened is the file at the path when the DB was opened.
	opened os.FileInfo
	// size is the largest size seen: bbolt never shrinks its file, so a
	// smaller one was truncated by someone else.
	size int64
	// blocks is the most bytes the filesystem was seen to hold for the
	// file. A truncation can hide from size: bbolt's next commit writes
	// its pages at their old offsets and the file is as long as before,
	// but holes where everything else was. bbolt never frees blocks, so
	// losing most of them is the same proof.
	blocks int64
	// holes is the file bbolt writes, opened again to look for holes in
	// it (nil where the platform cannot say, see openHoles).
	holes *os.File
	// afterCommit, set only by tests, runs after each commit before the
	// file is checked (checkCommitted): where a test truncates it.
	afterCommit atomic.Pointer[func()]
	stop        chan struct{}
	done        chan struct{}
}

// startWatch records the file now at the path and checks it every interval
// until Close.
func (db *DB) startWatch(every time.Duration) error {
	st, err := os.Stat(db.path)
	if err != nil {
		return fmt.Errorf("open store %s: %w", db.path, err)
	}
	holes, err := openHoles(db.path)
	if err != nil {
		return fmt.Errorf("open store %s: %w", db.path, err)
	}
	if err := db.view(func(tx *bolt.Tx) error { db.written.Store(tx.Size()); return nil }); err != nil {
		if holes != nil {
			_ = holes.Close()
		}
		return fmt.Errorf("open store %s: %w", db.path, err)
	}
	db.watch = &fileWatch{opened: st, size: st.Size(), holes: holes, stop: make(chan struct{}), done: make(chan struct{})}
	db.watch.blocks, _ = allocated(st)
	go db.watchFile(every)
	return nil
}

func (db *DB) watchFile(every time.Duration) {
	w := db.watch
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		if db.checkLost() != nil {
			return
		}
	}
}

// checkFile reports, as an error wrapping ErrFileLost, whether the file at
// the path is gone, another file, or shorter than it was.
func (db *DB) checkFile() error {
	w := db.watch
	if w == nil {
		return nil
	}
	st, err := os.Stat(db.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("store %s: %w: it was deleted; what was stored since it was opened is lost when this process ends", db.path, ErrFileLost)
	case err != nil:
		// Unreadable for a moment (a permission change, an NFS hiccup) is
		// not proof that the file is gone: look again next time.
		return nil
	case !os.SameFile(st, w.opened):
		return fmt.Errorf("store %s: %w: another file took its path; this process writes to a file no one will open again", db.path, ErrFileLost)
	case st.Size() < w.size:
		return fmt.Errorf("store %s: %w: it was truncated from %d to %d bytes", db.path, ErrFileLost, w.size, st.Size())
	}
	if err := db.checkHoles(); err != nil {
		return err
	}
	if b, ok := allocated(st); ok {
		if b < w.blocks/2 {
			return fmt.Errorf("store %s: %w: it was truncated (%d bytes held on disk, %d before) and written again", db.path, ErrFileLost, b, w.blocks)
		}
		w.blocks = max(w.blocks, b)
	}
	w.size = st.Size()
	return nil
}

// checkHoles reports, as an error wrapping ErrFileLost, whether the file
// bbolt writes is shorter than its high-water mark or has a hole below it.
// bbolt writes every page below the mark at least once (its first four
// pages when it creates the file, each later one when a commit allocates
// it) and grows the file with ftruncate, which leaves holes above the mark
// only. A truncation followed by more commits leaves the file as long as
// before, but with holes where the pages not written since are.
func (db *DB) checkHoles() error {
	w := db.watch
	if w == nil || w.holes == nil {
		return nil
	}
	mark := db.written.Load()
	st, err := w.holes.Stat()
	if err != nil {
		return nil
	}
	if st.Size() < mark {
		return fmt.Errorf("store %s: %w: it was truncated to %d bytes under %d bytes of data", db.path, ErrFileLost, st.Size(), mark)
	}
	if hole, ok := firstHole(w.holes); ok && hole < mark {
		return fmt.Errorf("store %s: %w: it was truncated and written again (a hole at byte %d, under %d bytes of data)", db.path, ErrFileLost, hole, mark)
	}
	return nil
}

// checkBeforeWrite is Lost, and checkHoles before a write transaction: the
// writer stops at the first group after a truncation instead of up to
// WatchEvery later, before it reads the mapped file or writes into one no
// one will open again.
func (db *DB) checkBeforeWrite() error {
	if err := db.Lost(); err != nil {
		return err
	}
	if db.checkHoles() == nil {
		return nil
	}
	return db.checkLost()
}

// checkLost checks the file (every WatchEvery, and at once after a memory
// fault) and marks the DB lost if it was deleted, replaced or truncated.
func (db *DB) checkLost() error {
	if err := db.Lost(); err != nil {
		return err
	}
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	if err := db.Lost(); err != nil {
		return err
	}
	if err := db.checkFile(); err != nil {
		db.markLost(err)
		return err
	}
	return nil
}

// markLost makes every later read and write fail with err, without
// touching the memory-mapped file again, and wakes Lost's waiters.
func (db *DB) markLost(err error) {
	db.lost.Store(&err)
	close(db.lostC)
}

// Lost returns an error wrapping ErrFileLost once the DB noticed that the
// file at its path is no longer the file it has open (deleted, replaced or
// truncated by someone else), nil until then. The check runs every
// Options.WatchEvery. From then on every read and write fails with that
// error; nothing more is written, and the mapped file is not read again.
func (db *DB) Lost() error {
	if p := db.lost.Load(); p != nil {
		return *p
	}
	return nil
}

// LostC returns a channel closed when Lost starts returning an error.
func (db *DB) LostC() <-chan struct{} { return db.lostC }

// stopWatch stops the watching goroutine and waits for it.
func (db *DB) stopWatch() {
	if db.watch == nil {
		return
	}
	close(db.watch.stop)
	<-db.watch.done
	if db.watch.holes != nil {
		_ = db.watch.holes.Close()
	}
}
