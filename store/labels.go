package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// The labels ledger (SPEC section 12). Entries are appended, never changed:
// the current label of a subject is its latest entry, a retract clears it,
// and "as of T" reads only the entries recorded before T. Reading the
// labels in force means reading the ledger, which the DB keeps in memory
// (ledgerCache) and extends with the entries recorded since it last read.

// ledgerCache holds the ledger entries read so far, in sequence order,
// and the book of the labels in force they give. Readers share both
// without the lock: entries only grow, and a book is never changed (a new
// entry drops it, and the next reader builds another).
type ledgerCache struct {
	mu      sync.Mutex
	seq     uint64
	entries []decision.LabelEntry
	book    *decision.LabelBook
}

// subjectKey is the label_subjects prefix of a subject.
func subjectKey(k decision.SubjectKind, subject string) []byte {
	b := append([]byte(k), 0)
	return appendLP(b, subject)
}

// AppendLabels records entries in one transaction, all or none: each is
// checked (decision.LabelEntry.Check, which normalises its subject), then
// gets its sequence number and, when it has none, its RecordedAt (now).
// It returns the entries as recorded. A read-only store answers
// ErrReadOnly.
func (db *DB) AppendLabels(ctx context.Context, entries []decision.LabelEntry) ([]decision.LabelEntry, error) {
	checked := make([]decision.LabelEntry, len(entries))
	now := db.now().UTC()
	for i, e := range entries {
		if err := e.Check(); err != nil {
			return nil, fmt.Errorf("label %d: %w", i+1, err)
		}
		if e.RecordedAt.IsZero() {
			e.RecordedAt = now
		}
		checked[i] = e
	}
	var out []decision.LabelEntry
	err := db.submit(ctx, len(checked), func(st *txState) error {
		out = out[:0]
		ledger, subjects := st.tx.Bucket(bktLabels), st.tx.Bucket(bktLabelSubjects)
		for _, e := range checked {
			seq, err := ledger.NextSequence()
			if err != nil {
				return err
			}
			e.Seq = seq
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := ledger.Put(u64(seq), v); err != nil {
				return err
			}
			if err := subjects.Put(append(subjectKey(e.Kind, e.Subject), u64(seq)...), nil); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record labels: %w", err)
	}
	return out, nil
}

// LabelEntries returns the whole ledger in sequence order. The slice is
// shared: callers must not modify it.
func (db *DB) LabelEntries(ctx context.Context) ([]decision.LabelEntry, error) {
	c, err := db.ledger(ctx)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	return c.entries, nil
}

// ledger returns the cache brought up to date, locked.
func (db *DB) ledger(ctx context.Context) (*ledgerCache, error) {
	c := &db.labels
	c.mu.Lock()
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktLabels)
		if b == nil || b.Sequence() == c.seq {
			return nil
		}
		return walk(ctx, b.Cursor(), u64(c.seq+1), u64(^uint64(0)), false, func(k, v []byte) (bool, error) {
			var e decision.LabelEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return false, fmt.Errorf("label entry %x: %w: %v", k, errRecord, err)
			}
			c.entries = append(c.entries, e)
			c.book = nil // books are shared and never change: build a new one
			c.seq = e.Seq
			return true, nil
		})
	})
	if err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("read the labels ledger: %w", err)
	}
	return c, nil
}

// LabelBook returns the labels in force as of asOf (zero: now, every
// entry). The book is shared: callers must only read it.
func (db *DB) LabelBook(ctx context.Context, asOf time.Time) (*decision.LabelBook, error) {
	b, _, err := db.labelBook(ctx, asOf)
	return b, err
}

// labelBook is LabelBook, with the sequence of the newest entry it read.
func (db *DB) labelBook(ctx context.Context, asOf time.Time) (*decision.LabelBook, uint64, error) {
	c, err := db.ledger(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer c.mu.Unlock()
	if !asOf.IsZero() {
		return decision.NewLabelBook(c.entries, asOf), c.seq, nil
	}
	if c.book == nil {
		c.book = decision.NewLabelBook(c.entries, time.Time{})
	}
	return c.book, c.seq, nil
}

// LabelHistory returns a subject's ledger entries, oldest first.
func (db *DB) LabelHistory(ctx context.Context, kind decision.SubjectKind, subject string) ([]decision.LabelEntry, error) {
	subject = decision.NormalizeSubject(kind, subject)
	prefix := subjectKey(kind, subject)
	var out []decision.LabelEntry
	err := db.view(func(tx *bolt.Tx) error {
		subs, ledger := tx.Bucket(bktLabelSubjects), tx.Bucket(bktLabels)
		if subs == nil || ledger == nil {
			return nil
		}
		c := subs.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(k) != len(prefix)+8 {
				continue // a longer subject sharing the prefix cannot: lp makes prefixes exact
			}
			v := ledger.Get(k[len(prefix):])
			if v == nil {
				return fmt.Errorf("label subject entry %x names a missing entry: %w", k, errRecord)
			}
			var e decision.LabelEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("label entry %d: %w: %v", binary.BigEndian.Uint64(k[len(prefix):]), errRecord, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("label history of %s %q: %w", kind, subject, err)
	}
	return out, nil
}

// SubjectKnown reports whether any stored decision (or queued event, for
// an event ID) has the subject.
func (db *DB) SubjectKnown(ctx context.Context, kind decision.SubjectKind, subject string) (bool, error) {
	subject = decision.NormalizeSubject(kind, subject)
	found := false
	err := db.view(func(tx *bolt.Tx) error {
		stop := func(evKey, []byte) (bool, error) { found = true; return false, nil }
		all := evRangeOf(time.Time{}, time.Time{})
		switch kind {
		case decision.SubjectEvent:
			found = tx.Bucket(bktEvents).Get(eventKey(subject)) != nil
			return nil
		case decision.SubjectUser:
			return walkUser(ctx, tx, subject, all, func(e evKey) (bool, error) { return stop(e, nil) })
		case decision.SubjectIP:
			return walkDim(ctx, tx, KindIP, KindIP.Normalize(subject), all, stop)
		case decision.SubjectEmail:
			return walkDim(ctx, tx, KindEmail, KindEmail.Normalize(subject), all, stop)
		}
		return fmt.Errorf("unknown subject kind %q", kind)
	})
	if err != nil {
		return false, fmt.Errorf("look up %s %q: %w", kind, subject, err)
	}
	return found, nil
}
