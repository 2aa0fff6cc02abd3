package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Migration 6 -> 7: the users' rank index (userrank.go).

// migUserRank builds the rank index and the users count from the stored
// summaries, in chunks of migrateTxEntries users in key order; the
// position is 1 and the last user done. The first chunk starts the index
// afresh. Decisions after the index mark have no summary yet: the writer
// folds them in, and their users' rank keys with them, as it does for new
// decisions.
func migUserRank(m *migrator, pos []byte) error {
	started := len(pos) > 0
	var last []byte
	if started {
		last = slices.Clone(pos[1:])
	}
	var total int64
	err := m.db.bolt.View(func(tx *bolt.Tx) error {
		total = int64(tx.Bucket(bktUsers).Stats().KeyN)
		return nil
	})
	if err != nil {
		return err
	}
	for {
		var done bool
		var count uint64
		err := m.commit(func(tx *bolt.Tx) ([]byte, bool, error) {
			meta := tx.Bucket(bktMeta)
			if !started {
				if err := tx.DeleteBucket(bktUserRank); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
					return nil, false, err
				}
				if _, err := tx.CreateBucket(bktUserRank); err != nil {
					return nil, false, err
				}
				if err := meta.Put(metaUsers, u64(0)); err != nil {
					return nil, false, err
				}
			}
			count = readU64(meta.Get(metaUsers))
			c := tx.Bucket(bktUsers).Cursor()
			k, v := c.First()
			if started {
				if k, v = c.Seek(last); k != nil && bytes.Equal(k, last) {
					k, v = c.Next()
				}
			}
			var buf []byte
			var ends []int
			n := 0
			for ; k != nil && n < m.opts.migrateTxEntries; k, v = c.Next() {
				var s summary
				if err := decodeSummary(string(k), v, &s); err != nil {
					return nil, false, err
				}
				for r := range numRanks {
					buf = appendRankKey(buf, r, string(k), &s)
					ends = append(ends, len(buf))
				}
				last = append(last[:0], k...)
				n++
			}
			keys := make([][]byte, len(ends))
			for i, end := range ends {
				start := 0
				if i > 0 {
					start = ends[i-1]
				}
				keys[i] = buf[start:end:end]
			}
			slices.SortFunc(keys, bytes.Compare)
			rank := tx.Bucket(bktUserRank)
			for _, key := range keys {
				if err := rank.Put(key, []byte{}); err != nil {
					return nil, false, fmt.Errorf("user rank index: %w", err)
				}
			}
			count += uint64(n)
			if err := meta.Put(metaUsers, u64(count)); err != nil {
				return nil, false, err
			}
			if k != nil {
				return append([]byte{1}, last...), false, nil
			}
			done = true
			return nil, true, nil
		})
		if err != nil {
			return err
		}
		started = true
		m.report("", int64(count), total)
		if done {
			return nil
		}
	}
}
