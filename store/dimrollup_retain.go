package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// retainDimRollups deletes the dimension rollup records of the minutes and
// hours that end at or before before: retention deleted all their
// decisions. A period it emptied only in part keeps its record. The
// deletes run in transactions of at most retainChunk records.
func (db *DB) retainDimRollups(ctx context.Context, before time.Time) error {
	end := before.Unix()
	for _, b := range []struct {
		name []byte
		secs int64
	}{{bktDimMinutes, minuteSecs}, {bktDimHours, hourSecs}} {
		for {
			var n int
			err := db.submit(ctx, retainChunk, func(st *txState) error {
				bk := st.tx.Bucket(b.name)
				var keys [][]byte
				c := bk.Cursor()
				for k, _ := c.First(); k != nil && len(keys) < retainChunk; k, _ = c.Next() {
					if len(k) < 8 || int64(readU64(k[:8]))+b.secs > end {
						break
					}
					keys = append(keys, slices.Clone(k))
				}
				n = len(keys)
				for _, k := range keys {
					if err := bk.Delete(k); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("retain dimension rollups: %w", err)
			}
			if n < retainChunk {
				break
			}
		}
	}
	return nil
}
