package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Enqueue stores events, rejected input and checkpoints (of any number of
// sources: a Kafka source writes one per partition), all in one
// transaction: after a crash either all of them are in the file or none
// is, so a checkpoint is never ahead of the events read before it. An event
// whose EventID is already in the inbox or already decided is skipped;
// fresh[i] reports whether events[i] was added. Every event needs a
// non-empty EventID and every checkpoint a Source.
//
// Enqueue returns after the commit. If ctx ends first it returns ctx.Err(),
// and the events may or may not have been stored: enqueueing them again is
// safe.
func (db *DB) Enqueue(ctx context.Context, events []InboxEvent, rejects []Rejected, cps []Checkpoint) ([]bool, error) {
	for i := range events {
		if events[i].EventID == "" {
			return nil, fmt.Errorf("enqueue: event %d has no event ID", i)
		}
	}
	for i := range cps {
		if cps[i].Source == "" {
			return nil, fmt.Errorf("enqueue: checkpoint %d has no source", i)
		}
	}
	fresh := make([]bool, len(events))
	err := db.submit(ctx, len(events)+len(rejects)+len(cps), func(st *txState) error {
		for i := range events {
			ok, err := st.enqueue(&events[i])
			if err != nil {
				return fmt.Errorf("enqueue event %q: %w", events[i].EventID, err)
			}
			fresh[i] = ok
		}
		if err := st.reject(rejects); err != nil {
			return err
		}
		for i := range cps {
			cp := &cps[i]
			if err := st.putEnc(st.checkpoints, []byte(cp.Source), func(b []byte) []byte { return encodeCheckpoint(b, cp) }); err != nil {
				return fmt.Errorf("store checkpoint %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// enqueue adds one event unless its ID is queued or decided.
func (st *txState) enqueue(ev *InboxEvent) (bool, error) {
	ek := eventKey(ev.EventID)
	if st.events.Get(ek) != nil {
		return false, nil
	}
	seq, err := st.inbox.NextSequence()
	if err != nil {
		return false, err
	}
	sk := st.keepU64(seq)
	if err := st.inbox.Put(sk, st.encode(func(b []byte) []byte { return encodeInbox(b, ev) })); err != nil {
		return false, err
	}
	if err := st.events.Put(ek, sk); err != nil {
		return false, err
	}
	st.dInbox++
	return true, nil
}

// reject stores rejected records.
func (st *txState) reject(rejects []Rejected) error {
	for i := range rejects {
		seq, err := st.rejected.NextSequence()
		if err != nil {
			return err
		}
		if err := st.rejected.Put(st.keepU64(seq), st.encode(func(b []byte) []byte { return encodeRejected(b, &rejects[i]) })); err != nil {
			return fmt.Errorf("store rejected record: %w", err)
		}
		st.dRejected++
	}
	return nil
}

// Reject stores rejected input records (each counted, never dropped). Head
// is cut to its first 256 bytes.
func (db *DB) Reject(ctx context.Context, rejects []Rejected) error {
	if len(rejects) == 0 {
		return nil
	}
	return db.submit(ctx, len(rejects), func(st *txState) error { return st.reject(rejects) })
}

// RecentRejected returns up to n rejected records, newest first.
func (db *DB) RecentRejected(ctx context.Context, n int) ([]Rejected, error) {
	var out []Rejected
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktRejected).Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var rj Rejected
			if err := decodeRejected(v, &rj); err != nil {
				return fmt.Errorf("rejected record %x: %w", k, err)
			}
			out = append(out, rj)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recent rejected: %w", err)
	}
	return out, nil
}

// Checkpoint returns the stored checkpoint of a source; ok is false when
// there is none.
func (db *DB) Checkpoint(source string) (cp Checkpoint, ok bool, err error) {
	err = db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktCheckpoints).Get([]byte(source))
		if v == nil {
			return nil
		}
		ok = true
		cp, err = decodeCheckpoint(source, v)
		return err
	})
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("checkpoint %q: %w", source, err)
	}
	return cp, ok, nil
}

// Checkpoints returns every stored checkpoint, ordered by source.
func (db *DB) Checkpoints() ([]Checkpoint, error) {
	var out []Checkpoint
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bktCheckpoints).ForEach(func(k, v []byte) error {
			cp, err := decodeCheckpoint(string(k), v)
			if err != nil {
				return err
			}
			out = append(out, cp)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	return out, nil
}

// InboxNext returns up to n inbox events with Seq > after, oldest first.
// Reading does not remove them: the caller tracks what it has in flight,
// and Complete removes an event when its decision is stored. After a restart
// everything still in the inbox is due again.
func (db *DB) InboxNext(ctx context.Context, after uint64, n int) ([]InboxItem, error) {
	var out []InboxItem
	if n <= 0 || after == ^uint64(0) {
		return nil, nil
	}
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktInbox).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < n; k, v = c.Next() {
			if len(out)%256 == 255 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			it := InboxItem{Seq: readU64(k)}
			if err := decodeInbox(v, &it.InboxEvent); err != nil {
				return fmt.Errorf("inbox item %d: %w", it.Seq, err)
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return out, nil
}

// InboxDepth returns how many events wait in the inbox. It reads a counter
// kept in memory and costs nothing.
func (db *DB) InboxDepth() uint64 { return db.inbox.Load() }
