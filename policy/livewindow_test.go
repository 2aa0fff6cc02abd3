package policy

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// TestLiveWindowSemantics is TestWindowSemantics for a LiveWindow:
// [t-window, t), decisions at the same time do not see each other.
func TestLiveWindowSemantics(t *testing.T) {
	count := Query{Key: KeyIP, Window: 10 * time.Second}
	users := Query{Key: KeyIP, Of: KeyUser, Window: 10 * time.Second}
	w := NewLiveWindow(count, users, count)
	ask := func(q Query, d *decision.Decision) int {
		t.Helper()
		n, err := w.Answer(q, d)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	feed := func(ds ...*decision.Decision) {
		t.Helper()
		for _, d := range ds {
			if err := w.Add(d); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := ask(count, at(0, "a", "1.1.1.1")); got != 0 {
		t.Errorf("empty window: %d", got)
	}
	feed(at(0, "a", "1.1.1.1"), at(0, "b", "1.1.1.1"))
	if got := ask(count, at(0, "c", "1.1.1.1")); got != 0 {
		t.Errorf("decisions at the same time are visible: %d", got)
	}
	feed(at(0, "c", "1.1.1.1"), at(5, "a", "1.1.1.1"), at(5, "x", "2.2.2.2"))
	for _, tc := range []struct {
		sec          float64
		count, users int
	}{
		{5, 3, 3}, {9.999, 4, 3}, {10, 4, 3}, {10.001, 1, 1}, {15, 1, 1}, {15.001, 0, 0},
	} {
		d := at(tc.sec, "z", "1.1.1.1")
		if got := ask(count, d); got != tc.count {
			t.Errorf("count at %vs: %d, want %d", tc.sec, got, tc.count)
		}
		if got := ask(users, d); got != tc.users {
			t.Errorf("distinct users at %vs: %d, want %d", tc.sec, got, tc.users)
		}
	}
	if err := w.Add(at(1, "a", "1.1.1.1")); !errors.Is(err, ErrOrder) {
		t.Errorf("Add before the last: %v", err)
	}
	if _, err := w.Answer(Query{Key: KeyUser, Window: time.Minute}, at(20, "a", "1.1.1.1")); err == nil {
		t.Error("Answer of a query the window does not keep")
	}
}

// TestLiveWindowIsBruteForce feeds a LiveWindow decisions out of
// event-time order (each up to a minute late, every tenth three minutes),
// looks up every query before each insert, and every few hundred
// decisions trims it to a random bound: every answer for a window from the
// floor on equals a recount of what was inserted before, the entries held
// stay within the bound, and the floor never goes back. At the end, the
// values numbered are exactly those the entries hold, and the running
// counts those of the entries.
func TestLiveWindowIsBruteForce(t *testing.T) {
	for seed := range uint64(2) {
		ds := newSynth(20 + seed).decisions(2400)
		r := rand.New(rand.NewPCG(seed, 77))
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
		queries := append(p.Queries(), Query{Key: KeyUser, Of: KeyIP, Window: 30 * time.Second},
			Query{Key: KeyIP24, Of: KeyEmailDomain, Window: 2 * time.Minute})
		lw := NewLiveWindow(queries...)
		lw.Retain(45 * time.Second)
		var held []*decision.Decision
		var floor time.Time
		answered, missing, trims := 0, 0, 0
		for i, o := range order {
			for _, q := range queries {
				from := o.d.EventTime.Add(-q.Window)
				n, err := lw.Lookup(q, o.d)
				if errors.Is(err, ErrNotHeld) || from.Before(floor) {
					missing++
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if want := recount(q, o.d, held); n != want {
					t.Fatalf("seed %d decision %d (%s at %s): %s = %d, recount %d", seed, i, o.d.EventID, o.d.EventTime, q, n, want)
				}
				answered++
			}
			if err := lw.Insert(o.d); err != nil {
				t.Fatal(err)
			}
			held = append(held, o.d)
			if i%200 == 199 {
				bound := 500 + r.IntN(3000)
				if f := lw.Trim(bound); !f.IsZero() {
					if f.Before(floor) {
						t.Fatalf("the floor went back from %s to %s", floor, f)
					}
					floor, trims = f, trims+1
				}
				if lw.held > bound {
					t.Fatalf("after a trim to %d: %d held", bound, lw.held)
				}
			}
		}
		t.Logf("seed %d: %d answers, %d not held, %d trims", seed, answered, missing, trims)
		if missing == 0 || trims == 0 || answered < missing {
			t.Errorf("seed %d: %d answers, %d not held, %d trims: the test should see all three, more answers", seed, answered, missing, trims)
		}
		checkNumbering(t, lw)
	}
}

// TestLiveWindowReusesNumbers feeds a long stream of values each seen
// once: what leaves the windows is forgotten, and the numbers and count
// slices stay within what the windows hold.
func TestLiveWindowReusesNumbers(t *testing.T) {
	q := Query{Key: KeyIP, Of: KeyUser, Window: time.Minute}
	w := NewLiveWindow(q, Query{Key: KeyUser, Window: time.Minute})
	for i := range 20000 {
		d := at(float64(i)/10, "u"+strconv.Itoa(i), "10.0."+strconv.Itoa(i%250)+"."+strconv.Itoa(i/250%250))
		if _, err := w.Lookup(q, d); err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(d); err != nil {
			t.Fatal(err)
		}
	}
	// 600 decisions a minute.
	if n := len(w.ids[KeyUser].index); n > 700 {
		t.Errorf("%d user values numbered for a minute of 600 decisions", n)
	}
	if n := len(w.ids[KeyUser].strs); n > 1400 {
		t.Errorf("%d user numbers for a minute of 600 decisions", n)
	}
	for _, s := range w.slots {
		if len(s.counts) > 1400 {
			t.Errorf("%s counts %d numbers", s.key.key, len(s.counts))
		}
	}
	checkNumbering(t, w)
}

// checkNumbering checks that each key kind's numbers are referenced
// exactly as often as the entries held name them, and that the running
// counts of each slot equal a recount of the entries from its cursor on.
func checkNumbering(t *testing.T, w *LiveWindow) {
	t.Helper()
	var refs [numKeys]map[uint32]int32
	for k := range refs {
		refs[k] = map[uint32]int32{}
	}
	for _, k := range w.keys {
		if k == nil {
			continue
		}
		for e := k.head; e < len(k.times); e++ {
			row := k.ids[e*k.stride : (e+1)*k.stride]
			refs[k.key][row[0]]++
			for c, of := range k.cols {
				if row[1+c] != 0 {
					refs[of][row[1+c]]++
				}
			}
		}
		for _, s := range k.slots {
			counts, pairs := map[uint32]int32{}, map[uint64]int32{}
			for e := s.cursor; e < len(k.times); e++ {
				row := k.ids[e*k.stride : (e+1)*k.stride]
				if s.col < 0 {
					counts[row[0]]++
				} else if of := row[1+s.col]; of != 0 {
					if pairs[uint64(row[0])<<32|uint64(of)]++; pairs[uint64(row[0])<<32|uint64(of)] == 1 {
						counts[row[0]]++
					}
				}
			}
			for v, n := range s.counts {
				if n != counts[uint32(v)] {
					t.Fatalf("%s slot: value %d counted %d, recount %d", k.key, v, n, counts[uint32(v)])
				}
			}
			if s.col >= 0 && len(pairs) != len(s.pairs) {
				t.Fatalf("%s slot: %d pairs, recount %d", k.key, len(s.pairs), len(pairs))
			}
		}
	}
	for k := range w.ids {
		in := &w.ids[k]
		if len(in.index) != len(refs[k]) {
			t.Fatalf("%s: %d values numbered, %d held", Key(k), len(in.index), len(refs[k]))
		}
		for s, id := range in.index {
			if in.strs[id] != s || in.refs[id] != refs[k][id] {
				t.Fatalf("%s: %q is %d (%q) with %d references, entries hold %d", Key(k), s, id, in.strs[id], in.refs[id], refs[k][id])
			}
		}
	}
}
