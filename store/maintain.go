package store

import (
	"context"
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Info describes the store file.
type Info struct {
	// Size is the file size in bytes.
	Size int64
	// FreePages is the number of pages on the freelist, reusable space
	// that Compact would give back.
	FreePages int
	// Decisions and Inbox count what is stored; Rejected counts every
	// rejected record ever stored, including those retention removed.
	Decisions uint64
	Inbox     uint64
	Rejected  uint64
	// RawDict is the ID of the dictionary the raw bodies of new decisions
	// are compressed with, 0 while there is none (they are kept plain);
	// RawDicts is how many dictionaries the file holds.
	RawDict  uint32
	RawDicts int
}

// Info returns the file size, free pages and record counts.
func (db *DB) Info() (Info, error) {
	var in Info
	err := db.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		in.Decisions = readU64(meta.Get(metaDecisions))
		in.Inbox = readU64(meta.Get(metaInbox))
		in.Rejected = readU64(meta.Get(metaRejected))
		return nil
	})
	if err != nil {
		return Info{}, fmt.Errorf("info: %w", err)
	}
	st, err := os.Stat(db.path)
	if err != nil {
		return Info{}, fmt.Errorf("info: %w", err)
	}
	in.Size = st.Size()
	in.RawDict, in.RawDicts = db.raw.newest(), db.raw.count()
	in.FreePages = db.bolt.Stats().FreePageN
	return in, nil
}

// compactTxSize is how many bytes Compact copies per transaction.
const compactTxSize = 64 << 20

// Compact writes a compacted copy of the store to dst, a path that must not
// exist yet, from one consistent snapshot, while the store stays usable.
// The copy can be opened with Open. ctx is checked before the copy starts;
// the copy itself (bolt.Compact) runs to its end. On failure dst is removed.
func (db *DB) Compact(ctx context.Context, dst string) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := db.Lost(); err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("compact store %s: %s already exists", db.path, dst)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("compact store %s: %w", db.path, err)
	}
	out, err := bolt.Open(dst, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, Timeout: db.lockTimeout})
	if err != nil {
		return fmt.Errorf("compact store %s into %s: %w", db.path, dst, err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("compact store %s into %s: %w", db.path, dst, cerr)
		}
		if err != nil {
			_ = os.Remove(dst)
		}
	}()
	if err := bolt.Compact(out, db.bolt, compactTxSize); err != nil {
		return fmt.Errorf("compact store %s into %s: %w", db.path, dst, err)
	}
	return nil
}
