package store

import bolt "go.etcd.io/bbolt"

// checkCommitted is checkHoles after a write transaction committed and
// before its callers hear of it, against the high-water mark after the
// commit. A truncation that came while bbolt wrote the commit's pages, or
// after, leaves the file shorter than that mark or with a hole below it:
// the callers then get an error wrapping ErrFileLost instead of a success
// (an HTTP ingest answers 503, a source keeps its checkpoint), and the
// DB is marked lost, once, as the watch would. A truncation after this
// check is left to the next group's check and to the watch.
//
// bbolt's fdatasync (without NoSync) does not change what this sees: it
// looks at the file as the process sees it, after Commit's last write
// and sync.
func (db *DB) checkCommitted() error {
	w := db.watch
	if w == nil || w.holes == nil {
		return db.Lost()
	}
	if hook := w.afterCommit.Load(); hook != nil {
		(*hook)()
	}
	// The mark after the commit is in the mapped meta pages, which fault
	// when the file was cut below them (and a fault as bbolt begins a
	// transaction leaves its meta lock held): make sure first that the
	// file still reaches the mark before the commit.
	if err := db.Lost(); err != nil {
		return err
	}
	if st, err := w.holes.Stat(); err == nil && st.Size() < db.written.Load() {
		return db.checkLost()
	}
	var mark int64
	if err := db.view(func(tx *bolt.Tx) error { mark = tx.Size(); return nil }); err != nil {
		return err
	}
	db.written.Store(mark)
	return db.checkBeforeWrite()
}
