package policy

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// recount answers q for d by scanning every decision in held.
func recount(q Query, d *decision.Decision, held []*decision.Decision) int {
	v := q.Key.Value(d)
	if v == "" {
		return 0
	}
	from := d.EventTime.Add(-q.Window)
	n, seen := 0, map[string]bool{}
	for _, x := range held {
		if x.EventTime.Before(from) || !x.EventTime.Before(d.EventTime) || q.Key.Value(x) != v {
			continue
		}
		n++
		if o := q.Of.Value(x); o != "" {
			seen[o] = true
		}
	}
	if q.Distinct() {
		return len(seen)
	}
	return n
}

// TestLiveWindowInsertIsBruteForce feeds decisions out of event-time order, as
// concurrent scoring commits them (each up to a minute late, every tenth
// three minutes), with Lookup before Insert, and checks every answer
// against a recount of what was inserted before; a decision reaching back
// past what is retained gets ErrNotHeld, and no answer is wrong.
func TestLiveWindowInsertIsBruteForce(t *testing.T) {
	ds := newSynth(5).decisions(2500)
	r := rand.New(rand.NewPCG(3, 9))
	// Shuffle within a minute: sort by event time plus a random lag.
	type late struct {
		d   *decision.Decision
		key time.Time
	}
	order := make([]late, len(ds))
	for i := range ds {
		lag := time.Duration(r.Int64N(int64(time.Minute)))
		if i%10 == 9 {
			lag = 3 * time.Minute
		}
		order[i] = late{&ds[i], ds[i].EventTime.Add(lag)}
	}
	slices.SortStableFunc(order, func(a, b late) int { return a.key.Compare(b.key) })
	p := mustParse(t, tenRules)
	queries := append(p.Queries(), Query{Key: KeyUser, Of: KeyIP, Window: 30 * time.Second})
	w := NewLiveWindow(queries...)
	w.Retain(45 * time.Second)
	var held []*decision.Decision
	answered, missing := 0, 0
	for i, o := range order {
		for _, q := range queries {
			n, err := w.Lookup(q, o.d)
			if errors.Is(err, ErrNotHeld) {
				missing++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := recount(q, o.d, held); n != want {
				t.Fatalf("decision %d (%s at %s): %s = %d, recount %d", i, o.d.EventID, o.d.EventTime, q, n, want)
			}
			answered++
		}
		if err := w.Insert(o.d); err != nil {
			t.Fatal(err)
		}
		held = append(held, o.d)
	}
	if missing == 0 || answered < 2*missing {
		t.Errorf("%d answers, %d not held: the test should see both, mostly answers", answered, missing)
	}
}

// TestLiveWindowTrimIsBruteForce feeds decisions in order with Trim bounding
// memory to a few hundred entries: the committed entries stay within
// the bound, the time Trim returns never goes back, and every answer for
// a window from that time on equals a recount.
func TestLiveWindowTrimIsBruteForce(t *testing.T) {
	ds := newSynth(6).decisions(2000)
	p := mustParse(t, tenRules)
	w := NewLiveWindow(p.Queries()...)
	const bound = 300
	var held []*decision.Decision
	var floor time.Time
	answered, missing, trims := 0, 0, 0
	for i := range ds {
		d := &ds[i]
		for _, q := range p.Queries() {
			n, err := w.Lookup(q, d)
			reaches := d.EventTime.Add(-q.Window).Before(floor)
			if errors.Is(err, ErrNotHeld) {
				missing++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if reaches {
				// Answer does not check: the caller must not ask (see
				// Trim), and LiveVelocity does not.
				missing++
				continue
			}
			if want := recount(q, d, held); n != want {
				t.Fatalf("decision %d at %s (floor %s): %s = %d, recount %d", i, d.EventTime, floor, q, n, want)
			}
			answered++
		}
		if err := w.Insert(d); err != nil {
			t.Fatal(err)
		}
		held = append(held, d)
		if f := w.Trim(bound); !f.IsZero() {
			if f.Before(floor) {
				t.Fatalf("the floor went back from %s to %s", floor, f)
			}
			floor = f
			trims++
		}
		// The decisions at the latest time are not committed yet.
		if w.held > bound {
			t.Fatalf("%d entries held, bound %d", w.held, bound)
		}
	}
	t.Logf("%d trims, %d answers, %d reaching before the floor", trims, answered, missing)
	if trims == 0 || answered == 0 || missing == 0 {
		t.Errorf("%d trims, %d answers, %d reaching before the floor: the test does not exercise Trim", trims, answered, missing)
	}
}
