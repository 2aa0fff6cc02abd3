package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Result is a scored (or failed) event for Complete.
type Result struct {
	// Seq is the inbox position the event came from; 0 when it did not come
	// from the inbox (the proxy).
	Seq uint64
	// Decision is what to store. Its ID and Time are assigned by the store.
	Decision decision.Decision
	// Existed is set by Complete: true when the event had been decided
	// before, so the decision returned for it is the earlier one and nothing
	// new was stored.
	Existed bool
}

// Complete stores decisions, all in one transaction: for each result it
// removes the inbox entry Seq (and any other inbox entry of the same event)
// and, unless a decision with the same EventID is already stored, writes
// the decision, its event ID and IP index entries and the rollups. (The
// user index and summary follow in batches; queries see them at once, see
// userstate.go.) It returns the decisions as stored, in the order of
// results: a result whose event was already decided returns the earlier
// decision, so calling Complete twice stores one decision.
//
// New decisions get an ID and Time from the writer: Time is the commit
// group's clock reading (never earlier than the previous group's), and IDs
// increase strictly in the order decisions are stored.
//
// Complete returns after the commit. If ctx ends first it returns
// ctx.Err(), and the decisions may or may not have been stored: completing
// again is safe.
func (db *DB) Complete(ctx context.Context, results []Result) ([]decision.Decision, error) {
	prep := make([]prepared, len(results))
	for i := range results {
		d := &results[i].Decision
		if d.EventID == "" {
			return nil, fmt.Errorf("complete: result %d has no event ID", i)
		}
		if d.Action.Index() < 0 {
			return nil, fmt.Errorf("complete: result %d (event %q): unknown action %q", i, d.EventID, d.Action)
		}
		prep[i] = prepare(d)
	}
	out := make([]decision.Decision, len(results))
	err := db.submit(ctx, len(results), func(st *txState) error {
		for i := range results {
			if err := st.complete(&results[i], &prep[i], &out[i]); err != nil {
				return fmt.Errorf("complete event %q: %w", results[i].Decision.EventID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// prepared holds what the writer needs of a decision, encoded by the
// caller's goroutine so that the writer only reads and writes pages.
type prepared struct {
	val   []byte // the stored value
	ek    []byte // event key
	ipKey []byte // by_ip key; nil without an IP
}

func prepare(d *decision.Decision) prepared {
	p := prepared{val: encodeDecision(nil, d), ek: eventKey(d.EventID)}
	if d.IP != "" {
		p.ipKey = appendLP(ipPrefix(d.IP), indexPart(d.UserID))
	}
	return p
}

// complete applies one result and sets out to the stored decision.
func (st *txState) complete(r *Result, p *prepared, out *decision.Decision) error {
	if r.Seq != 0 {
		if err := st.dropInbox(r.Seq, p.ek); err != nil {
			return err
		}
	}
	r.Existed = false
	switch cur := st.events.Get(p.ek); len(cur) {
	case len(decKey{}):
		r.Existed = true
		v := st.decisions.Get(cur)
		if v == nil {
			return fmt.Errorf("event index names missing decision %x", cur)
		}
		return decodeDecision(cur, v, out, true)
	case 8:
		if err := st.dropInbox(readU64(cur), p.ek); err != nil {
			return err
		}
	}
	key := st.nextKey()
	*out = r.Decision
	out.ID = key.id()
	out.Time = key.time()
	kb := st.keep(key[:])
	if err := st.decisions.Put(kb, p.val); err != nil {
		return err
	}
	if err := st.events.Put(p.ek, kb); err != nil {
		return err
	}
	if d := &r.Decision; d.UserID != "" {
		st.w.pend = append(st.w.pend, pendingOf(key, d))
	}
	if p.ipKey != nil {
		if err := st.markIP(p.ipKey); err != nil {
			return err
		}
	}
	st.roll.add(out)
	st.dDecisions++
	return nil
}

// dayOf returns the unix day of a nanosecond time.
func dayOf(nanos int64) uint32 { return uint32(nanos / int64(24*time.Hour)) }

// markIP records that the (IP, user) pair of key has a decision today; the
// page is written only when the pair is new or its day changes.
func (st *txState) markIP(key []byte) error {
	day := dayOf(st.nanos)
	if v := st.byIP.Get(key); len(v) == 4 && binary.BigEndian.Uint32(v) >= day {
		return nil
	}
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], day)
	return st.byIP.Put(key, st.keep(v[:]))
}

// dropInbox removes inbox entry seq, if present, and its event index entry
// unless that entry is ek (the event being decided, whose entry the caller
// overwrites).
func (st *txState) dropInbox(seq uint64, ek []byte) error {
	sk := u64(seq)
	v := st.inbox.Get(sk)
	if v == nil {
		return nil
	}
	id, err := inboxEventID(v)
	if err != nil {
		return fmt.Errorf("inbox item %d: %w", seq, err)
	}
	if err := st.inbox.Delete(sk); err != nil {
		return err
	}
	st.dInbox--
	if k := eventKey(id); !bytes.Equal(k, ek) && bytes.Equal(st.events.Get(k), sk) {
		return st.events.Delete(k)
	}
	return nil
}
