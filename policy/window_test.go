package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at makes a decision of user u from ip at t0+sec seconds.
func at(sec float64, u, ip string) *decision.Decision {
	return &decision.Decision{EventID: u + "@" + ip, UserID: u, IP: ip, Email: u + "@example.com",
		EventTime: t0.Add(time.Duration(sec * float64(time.Second)))}
}

func answer(t *testing.T, w *Window, q Query, d *decision.Decision) int {
	t.Helper()
	n, err := w.Answer(q, d)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func add(t *testing.T, w *Window, ds ...*decision.Decision) {
	t.Helper()
	for _, d := range ds {
		if err := w.Add(d); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWindowSemantics checks [t-window, t): the start is in, the event's
// own time is out (so decisions at the same time do not see each other),
// and a decision is never counted for itself.
func TestWindowSemantics(t *testing.T) {
	count := Query{Key: KeyIP, Window: 10 * time.Second}
	users := Query{Key: KeyIP, Of: KeyUser, Window: 10 * time.Second}
	w := NewWindow(count, users, count)
	if got := answer(t, w, count, at(0, "a", "1.1.1.1")); got != 0 {
		t.Errorf("empty window: %d", got)
	}
	add(t, w, at(0, "a", "1.1.1.1"), at(0, "b", "1.1.1.1"))
	// Same time: neither sees the other.
	if got := answer(t, w, count, at(0, "c", "1.1.1.1")); got != 0 {
		t.Errorf("decisions at the same time are visible: %d", got)
	}
	add(t, w, at(0, "c", "1.1.1.1"), at(5, "a", "1.1.1.1"), at(5, "x", "2.2.2.2"))
	for _, tc := range []struct {
		sec          float64
		count, users int
	}{
		{5, 3, 3},      // the three at 0; not the one at 5
		{9.999, 4, 3},  // all four, a counted once
		{10, 4, 3},     // t-10s = 0: the start of the window is in
		{10.001, 1, 1}, // those at 0 left
		{15, 1, 1},     // t-10s = 5 is in
		{15.001, 0, 0},
	} {
		d := at(tc.sec, "z", "1.1.1.1")
		if got := answer(t, w, count, d); got != tc.count {
			t.Errorf("count at %vs: %d, want %d", tc.sec, got, tc.count)
		}
		if got := answer(t, w, users, d); got != tc.users {
			t.Errorf("distinct users at %vs: %d, want %d", tc.sec, got, tc.users)
		}
	}
}

func TestWindowKeys(t *testing.T) {
	qs := map[Key]Query{}
	for k := KeyUser; k < numKeys; k++ {
		qs[k] = Query{Key: k, Window: time.Minute}
	}
	domains := Query{Key: KeyIP24, Of: KeyEmailDomain, Window: time.Minute}
	var all []Query
	for _, q := range qs {
		all = append(all, q)
	}
	w := NewWindow(append(all, domains)...)
	a := at(0, "u1", "203.0.113.5")
	a.UserAgent, a.Email = "curl/8.5.0", " U1@Example.COM"
	b := at(1, "u2", "203.0.113.77")
	b.UserAgent, b.Email = "curl/8.5.0", "u1@example.com"
	c := at(2, "u3", "::ffff:203.0.113.5")
	c.Email = ""
	add(t, w, a, b, c)
	probe := at(3, "u1", "203.0.113.5")
	probe.UserAgent, probe.Email = "curl/8.5.0", "u1@EXAMPLE.com"
	for k, want := range map[Key]int{KeyUser: 1, KeyIP: 2, KeyIP24: 3, KeyEmail: 2, KeyEmailDomain: 2, KeyDevice: 2} {
		if got := answer(t, w, qs[k], probe); got != want {
			t.Errorf("count(%s): %d, want %d", k, got, want)
		}
	}
	if got := answer(t, w, domains, probe); got != 1 {
		t.Errorf("distinct email domains of the /24: %d, want 1 (an empty value is not counted)", got)
	}
	none := at(3, "", "not an address")
	for k, q := range qs {
		if got := answer(t, w, q, none); got != 0 && k != KeyEmail && k != KeyEmailDomain {
			t.Errorf("count(%s) of a decision without one: %d", k, got)
		}
	}
}

func TestWindowOrder(t *testing.T) {
	q := Query{Key: KeyUser, Window: time.Minute}
	w := NewWindow(q)
	add(t, w, at(10, "a", "1.1.1.1"))
	if err := w.Add(at(9, "a", "1.1.1.1")); !errors.Is(err, ErrOrder) {
		t.Errorf("Add before the last: %v", err)
	}
	if _, err := w.Answer(q, at(9, "a", "1.1.1.1")); !errors.Is(err, ErrOrder) {
		t.Errorf("Answer before the last (a look-ahead): %v", err)
	}
	if _, err := w.Answer(Query{Key: KeyIP, Window: time.Minute}, at(11, "a", "1.1.1.1")); err == nil {
		t.Error("Answer of a query the window does not keep")
	}
}

// TestWindowForgets checks entries leave with the longest window, that a
// key seen again after it left starts afresh, and that a shorter window
// over the same key is still exact.
func TestWindowForgets(t *testing.T) {
	long := Query{Key: KeyUser, Window: time.Hour}
	short := Query{Key: KeyUser, Of: KeyIP, Window: time.Minute}
	w := NewWindow(long, short)
	for i := range 100 {
		add(t, w, at(float64(i), "a", "10.0.0."+string(rune('0'+i%10))))
	}
	if got := answer(t, w, short, at(100, "a", "")); got != 10 {
		t.Errorf("distinct in the last minute: %d, want 10", got)
	}
	add(t, w, at(4000, "b", "1.1.1.1"))
	add(t, w, at(4001, "b", "1.1.1.1")) // commits the one at 4000, forgets user a
	if w.Len() != 2 {
		t.Errorf("after an hour the window holds %d entries, want 2", w.Len())
	}
	add(t, w, at(4002, "a", "9.9.9.9"))
	if got := answer(t, w, long, at(4003, "a", "")); got != 1 {
		t.Errorf("user a after it was forgotten: %d, want 1", got)
	}
}
