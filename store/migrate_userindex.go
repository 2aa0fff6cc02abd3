package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Migration 2 -> 3: the user index moves from the by_user B-tree into
// by_dim's sorted runs (kind kindUser, see userindex.go).

// migUserRuns3 copies by_user's entries, already in key order, into a new
// by_dim run: by_user key lp(user) + event key becomes kindUser + lp(user)
// + event key, so the order holds. It works in chunks of migrateTxEntries
// entries; the position is the run's ID, the entries copied and the last
// by_user key copied. The first chunk reserves the run's ID; the last
// lists the run in the dimension index's state and drops by_user. Pending
// decisions (after the index mark) have no by_user entry: the writer folds
// them in as before. Retention tombstones need no change: retention deleted
// the by_user entries they would hide.
func migUserRuns3(m *migrator, pos []byte) error {
	var id, copied uint64
	var last []byte
	if len(pos) >= 16 {
		id, copied, last = binary.BigEndian.Uint64(pos), binary.BigEndian.Uint64(pos[8:]), slices.Clone(pos[16:])
	}
	var total int64
	err := m.db.bolt.View(func(tx *bolt.Tx) error {
		total = int64(readU64(tx.Bucket(bktMeta).Get(metaDecisions)))
		return nil
	})
	if err != nil {
		return err
	}
	for {
		var done bool
		err := m.commit(func(tx *bolt.Tx) ([]byte, bool, error) {
			s, err := readDimState(tx)
			if err != nil {
				return nil, false, err
			}
			if id == 0 {
				id = s.next
				s.next++
				return migUserPos(id, 0, nil), false, tx.Bucket(bktMeta).Put(metaDimState, s.encode(nil))
			}
			users := tx.Bucket(bktByUser)
			if users == nil {
				done = true
				return nil, true, nil
			}
			dims := tx.Bucket(bktByDim)
			dims.FillPercent = 1 // the run's ID is the highest: its blocks go at the end
			w := blockWriter{id: id, size: m.db.dims.block, put: func(k, v []byte) error {
				return dims.Put(slices.Clone(k), slices.Clone(v))
			}}
			c := users.Cursor()
			k, _ := c.First()
			if len(last) > 0 {
				if k, _ = c.Seek(last); k != nil && slices.Equal(k, last) {
					k, _ = c.Next()
				}
			}
			var key []byte
			n := 0
			for ; k != nil && n < m.opts.migrateTxEntries; k, _ = c.Next() {
				if l, w := binary.Uvarint(k); w <= 0 || uint64(len(k)) != uint64(w)+l+uint64(len(evKey{})) {
					return nil, false, fmt.Errorf("user index entry %x: %w", k, errRecord)
				}
				key = append(append(key[:0], byte(kindUser)), k...)
				if err := w.add(key, nil); err != nil {
					return nil, false, err
				}
				last = append(last[:0], k...)
				n++
			}
			if err := w.flush(); err != nil {
				return nil, false, err
			}
			copied += w.n
			if k != nil {
				return migUserPos(id, copied, last), false, nil
			}
			done = true
			if copied > 0 {
				s.runs = append(s.runs, dimRun{id: id, level: m.db.dims.levelOf(copied), n: copied})
				if err := tx.Bucket(bktMeta).Put(metaDimState, s.encode(nil)); err != nil {
					return nil, false, err
				}
			}
			if err := tx.DeleteBucket(bktByUser); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return nil, false, err
			}
			return nil, true, nil
		})
		if err != nil {
			return err
		}
		m.report("", int64(copied), total)
		if done {
			return nil
		}
	}
}

// migUserPos is migUserRuns3's position.
func migUserPos(id, copied uint64, last []byte) []byte {
	return append(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, id), copied), last...)
}
