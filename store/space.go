package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// BucketSpace is how much of the file one bucket takes.
type BucketSpace struct {
	Name string
	// Keys is the number of entries.
	Keys int
	// Alloc is the bytes of the pages the bucket holds; InUse the bytes
	// of them its entries and page headers fill.
	Alloc, InUse int64
}

// Space walks every page of every bucket and returns what each takes, in
// the order of the file's buckets. It reads the whole file: for benchmarks
// and maintenance, not for a screen.
func (db *DB) Space(ctx context.Context) ([]BucketSpace, error) {
	var out []BucketSpace
	err := db.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			s := b.Stats()
			out = append(out, BucketSpace{Name: string(name), Keys: s.KeyN,
				Alloc: int64(s.BranchAlloc + s.LeafAlloc), InUse: int64(s.BranchInuse + s.LeafInuse + s.InlineBucketInuse)})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("space: %w", err)
	}
	return out, nil
}
