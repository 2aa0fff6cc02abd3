package live

import "testing"

// An arrival is counted once: not when the answer it arrived during
// already holds it, nor twice when the subscription repeats it.
func TestCounterCountsEachArrivalOnce(t *testing.T) {
	var k counter
	if _, ok := k.value(); ok || !k.arrive("05", true, false) {
		t.Fatal("a count before its first answer")
	}
	k.start()
	k.arrive("09", true, true)  // arrives while the count is read; in it
	k.arrive("10", false, true) // in it too
	k.arrive("11", true, true)  // stored after it
	k.answer(countRead{counts: counts{matching: 4, total: 10}, newest: "10"})
	if c, ok := k.value(); !ok || c != (counts{matching: 5, total: 11}) {
		t.Fatalf("after the answer %+v, want 5 of 11", c)
	}
	k.arrive("11", true, false) // repeated
	k.arrive("12", false, false)
	k.arrive("13", true, false)
	if c, _ := k.value(); c != (counts{matching: 6, total: 13}) {
		t.Fatalf("after arrivals %+v, want 6 of 13", c)
	}
	for range maxAside {
		k.arrive("99", true, true)
	}
	if k.arrive("99", true, true) {
		t.Error("too many waiting aside must ask for a new count")
	}
}
