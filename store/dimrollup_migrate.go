package store

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Migration 2 -> 3.

// migDimRollups2 builds the dimension rollups from the stored decisions:
// it empties their buckets, then walks the decisions in event-time order
// in chunks, adding each chunk's counts to the records (so a minute's
// records are mostly written in one go, with exact counts). The position
// is the event key of the next decision and the number of decisions done.
func migDimRollups2(m *migrator, pos []byte) error {
	var next evKey
	var done int64
	if len(pos) == len(next)+8 {
		next = evKey(pos)
		done = int64(binary.BigEndian.Uint64(pos[len(next):]))
	}
	fresh := pos == nil
	var total int64
	if err := m.db.bolt.View(func(tx *bolt.Tx) error {
		total = int64(readU64(tx.Bucket(bktMeta).Get(metaDecisions)))
		return nil
	}); err != nil {
		return err
	}
	for {
		var end bool
		n := 0
		err := m.commit(func(tx *bolt.Tx) ([]byte, bool, error) {
			if fresh {
				for _, name := range [][]byte{bktDimMinutes, bktDimHours} {
					if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
						return nil, false, err
					}
					if _, err := tx.CreateBucket(name); err != nil {
						return nil, false, err
					}
				}
			}
			var acc dimRollAcc
			var d decision.Decision
			ua := uaFamilies{}
			decisions := tx.Bucket(bktDecisions)
			codec := txCodec(tx)
			c := tx.Bucket(bktByTime).Cursor()
			k, _ := c.Seek(next[:])
			for ; k != nil && n < m.opts.migrateChunk; k, _ = c.Next() {
				if len(k) != len(evKey{}) {
					return nil, false, errRecord
				}
				e := evKey(k)
				dk := e.dec()
				v := decisions.Get(dk[:])
				if v == nil {
					return nil, false, errRecord
				}
				if err := decodeDecision(dk[:], v, &d, codec); err != nil {
					return nil, false, err
				}
				dv := dimValsOf(&d, ua)
				acc.add(e.ev(), uint8(max(d.Action.Index(), 0)), &dv)
				next = e.after()
				n++
			}
			end = k == nil
			err := acc.apply(tx.Bucket(bktDimMinutes), tx.Bucket(bktDimHours), func(b *bolt.Bucket, key []byte, enc func([]byte) []byte) error {
				return b.Put(key, enc(nil))
			})
			if err != nil {
				return nil, false, err
			}
			return binary.BigEndian.AppendUint64(slices.Clone(next[:]), uint64(done+int64(n))), end, nil
		})
		if err != nil {
			return err
		}
		fresh = false
		done += int64(n)
		m.report("", done, total)
		if end {
			return nil
		}
	}
}
