package store

import (
	"bytes"
	"context"
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
// the decision, its event ID and event-time index entries and the rollups.
// (The user, IP and dimension indexes and the user summary follow in
// batches; queries see them at once, see userstate.go.) It returns the
// decisions as stored, in the order of results: a result whose event was
// already decided returns the earlier decision, so calling Complete twice
// stores one decision.
//
// New decisions get an ID and Time from the writer: Time is the commit
// group's clock reading (never earlier than the previous group's), and IDs
// increase strictly in the order decisions are stored. A decision's
// EventTime is kept as given (the collector sets it with
// decision.EventTimeOf) with two exceptions: a zero EventTime becomes
// ReceivedAt, or the stored time when that is zero too; and one more than
// decision.MaxClockSkew ahead of the store's clock becomes the clock's
// reading, with ClockSkew set. So an event time is never further ahead of
// its stored time than MaxClockSkew (unless the clock steps back), which is
// what lets Latest end its walk at a since: bound.
//
// The raw request and response are compressed (see rawcodec.go) by the
// calling goroutine before the writer sees them, so callers completing in
// parallel compress in parallel and the writer only writes pages. The
// completion that brings the store to a size where a new dictionary is
// due wakes the trainer (rawtrain.go), which trains it in the background.
//
// Complete returns after the commit. If ctx ends first it returns
// ctx.Err(), and the decisions may or may not have been stored: completing
// again is safe.
func (db *DB) Complete(ctx context.Context, results []Result) ([]decision.Decision, error) {
	prep := make([]prepared, len(results))
	now := db.now()
	ua := uaFamilies{}
	for i := range results {
		d := &results[i].Decision
		if d.EventID == "" {
			return nil, fmt.Errorf("complete: result %d has no event ID", i)
		}
		if d.Action.Index() < 0 {
			return nil, fmt.Errorf("complete: result %d (event %q): unknown action %q", i, d.EventID, d.Action)
		}
		if d.ShadowAction != "" && d.ShadowAction.Index() < 0 {
			return nil, fmt.Errorf("complete: result %d (event %q): unknown shadow action %q", i, d.EventID, d.ShadowAction)
		}
		prep[i] = prepare(d, now, ua, db.raw, db.strs)
	}
	strs := db.strs.size() // every string the records name
	out := make([]decision.Decision, len(results))
	err := db.submit(ctx, len(results), func(st *txState) error {
		if err := db.strs.persist(st.tx, strs); err != nil {
			return fmt.Errorf("complete: %w", err)
		}
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
	db.train.poke(db.decisions.Load())
	return out, nil
}

// prepared holds what the writer needs of a decision, encoded by the
// caller's goroutine so that the writer only reads and writes pages.
type prepared struct {
	val []byte // the stored value
	ek  []byte // event key
	// ev is the event time in unix nanoseconds, 0 for the stored time;
	// skew is the stored ClockSkew.
	ev   int64
	skew bool
	// pend is the decision's pending record, without key and (when ev is
	// 0) event time.
	pend pendingDec
	// dims are its values in the dimension rollups.
	dims dimVals
}

// prepare normalises d's event time as Complete describes (now is the
// store's clock) and encodes d, compressing its raw bodies with raw and
// naming its repeating strings by their IDs in strs; ua
// remembers the user agents' families.
func prepare(d *decision.Decision, now time.Time, ua uaFamilies, raw *rawCodec, strs *strTab) prepared {
	n := *d
	if n.EventTime.IsZero() {
		n.EventTime = n.ReceivedAt
	}
	if n.EventTime.Sub(now) > decision.MaxClockSkew {
		n.EventTime, n.ClockSkew = now, true
	}
	p := prepared{val: encodeDecision(nil, &n, raw, strs), ek: eventKey(d.EventID), ev: clampNanos(n.EventTime), skew: n.ClockSkew}
	p.pend = pendingDec{user: indexPart(d.UserID), f: fieldsOf(d)}
	dimValues(d, &p.pend.dims)
	p.dims = dimValsOf(d, ua)
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
	switch cur := get(&st.eventsC, st.events, p.ek); len(cur) {
	case len(decKey{}):
		r.Existed = true
		v := st.decisions.Get(cur)
		if v == nil {
			return fmt.Errorf("event index names missing decision %x", cur)
		}
		return decodeDecision(cur, v, out, st.w.db.whole())
	case 8:
		if err := st.dropInbox(readU64(cur), p.ek); err != nil {
			return err
		}
	}
	key := st.nextKey()
	ev := p.ev
	if ev == 0 {
		ev = st.nanos
	}
	*out = r.Decision
	out.ID = key.id()
	out.Time = key.time()
	out.EventTime = time.Unix(0, ev).UTC()
	out.ClockSkew = p.skew
	kb := st.keep(key[:])
	if err := st.decisions.Put(kb, p.val); err != nil {
		return err
	}
	if err := st.events.Put(p.ek, kb); err != nil {
		return err
	}
	if err := st.byTime.Put(st.encode(func(b []byte) []byte { return appendEv(b, ev, key) }), nil); err != nil {
		return err
	}
	if p.pend.indexed() {
		pd := p.pend
		pd.key, pd.ev = key, ev
		st.w.pend = append(st.w.pend, pd)
	}
	st.contribs = append(st.contribs, contribOf(ev, out))
	st.dimRoll.add(ev, uint8(out.Action.Index()), &p.dims)
	st.dDecisions++
	return nil
}

// dropInbox removes inbox entry seq, if present, and its event index entry
// unless that entry is ek (the event being decided, whose entry the caller
// overwrites).
func (st *txState) dropInbox(seq uint64, ek []byte) error {
	sk := u64(seq)
	v := get(&st.inboxC, st.inbox, sk)
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
	if k := eventKey(id); !bytes.Equal(k, ek) && bytes.Equal(get(&st.eventsC, st.events, k), sk) {
		return st.events.Delete(k)
	}
	return nil
}
