package store

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Alert state (SPEC section 13). The store keeps what the collector's alert
// evaluator encodes, opaque to it: one state per rule, replaced as the rule
// is evaluated, and a history of transitions (firings and resolutions),
// append-only and bounded to the newest MaxAlertHistory. A state and the
// transitions it made are written in one transaction, so after a crash the
// restored state never precedes a transition already announced.

// MaxAlertHistory bounds the stored history of alert transitions.
const MaxAlertHistory = 10_000

// Key prefixes in bktAlerts.
var (
	alertState   = []byte("s/")
	alertHistory = []byte("h/")
)

// SaveAlerts replaces the stored state of each rule in states (by name) and
// appends events to the history in order, in one transaction, dropping
// the oldest history beyond MaxAlertHistory. It returns after the commit.
func (db *DB) SaveAlerts(ctx context.Context, states map[string][]byte, events [][]byte) error {
	err := db.submit(ctx, len(states)+len(events), func(st *txState) error {
		b := st.tx.Bucket(bktAlerts)
		for name, v := range states {
			if err := b.Put(append(bytes.Clone(alertState), name...), bytes.Clone(v)); err != nil {
				return err
			}
		}
		if len(events) == 0 {
			return nil
		}
		c := b.Cursor()
		next := uint64(1)
		if k, _ := lastWithPrefix(c, alertHistory); k != nil {
			next = readU64(k[len(alertHistory):]) + 1
		}
		for i, v := range events {
			if err := b.Put(append(bytes.Clone(alertHistory), u64(next+uint64(i))...), bytes.Clone(v)); err != nil {
				return err
			}
		}
		last := next + uint64(len(events)) - 1
		if last <= MaxAlertHistory {
			return nil
		}
		cut := append(bytes.Clone(alertHistory), u64(last-MaxAlertHistory+1)...)
		for k, _ := c.Seek(alertHistory); k != nil && bytes.HasPrefix(k, alertHistory) && bytes.Compare(k, cut) < 0; k, _ = c.Seek(alertHistory) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save alerts: %w", err)
	}
	return nil
}

// lastWithPrefix returns the last key (and value) of c starting with p.
func lastWithPrefix(c *bolt.Cursor, p []byte) ([]byte, []byte) {
	end := append(bytes.Clone(p[:len(p)-1]), p[len(p)-1]+1)
	k, v := c.Seek(end)
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, p) {
		return nil, nil
	}
	return k, v
}

// AlertStates returns every stored rule state by rule name (copies). A
// read-only store of a file without alert state has none.
func (db *DB) AlertStates() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktAlerts)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(alertState); k != nil && bytes.HasPrefix(k, alertState); k, v = c.Next() {
			out[string(k[len(alertState):])] = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("alert states: %w", err)
	}
	return out, nil
}

// AlertHistory returns up to n of the newest stored transitions (copies),
// newest first.
func (db *DB) AlertHistory(ctx context.Context, n int) ([][]byte, error) {
	var out [][]byte
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktAlerts)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := lastWithPrefix(c, alertHistory); k != nil && bytes.HasPrefix(k, alertHistory) && len(out) < n; k, v = c.Prev() {
			if len(out)%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			out = append(out, bytes.Clone(v))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("alert history: %w", err)
	}
	return out, nil
}
