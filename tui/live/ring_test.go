package live

import (
	"strconv"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
)

func dec(id int) *decision.Decision {
	return &decision.Decision{ID: strconv.Itoa(id)}
}

func ids(r *Ring) []string {
	var out []string
	for p := r.First(); p < r.End(); p++ {
		out = append(out, r.At(p).ID)
	}
	return out
}

func TestRingPositionsAndEviction(t *testing.T) {
	r := NewRing(3)
	if r.Len() != 0 || r.First() != 0 || r.End() != 0 || r.At(0) != nil || r.Overflowed() {
		t.Fatal("a new ring must be empty")
	}
	for i := range 5 {
		r.Push(dec(i))
	}
	if got := ids(r); len(got) != 3 || got[0] != "2" || got[2] != "4" {
		t.Fatalf("ring holds %v, want the newest 3: [2 3 4]", got)
	}
	if r.First() != 2 || r.End() != 5 || r.Total() != 5 || r.Len() != 3 || r.Cap() != 3 {
		t.Fatalf("first %d end %d total %d len %d", r.First(), r.End(), r.Total(), r.Len())
	}
	if !r.Overflowed() {
		t.Error("5 pushed into 3: overflowed")
	}
	// Positions are absolute: an evicted one is gone, a held one keeps
	// its number while newer rows arrive.
	if r.At(1) != nil || r.At(5) != nil {
		t.Error("positions outside [First, End) must be nil")
	}
	held := r.At(3)
	r.Push(dec(5))
	if r.At(3).ID != "3" || held.ID != "3" {
		t.Error("position 3 changed meaning after a push")
	}
	if r.At(2) != nil {
		t.Error("position 2 should have been evicted")
	}
}

func TestRingPushCopies(t *testing.T) {
	r := NewRing(2)
	d := dec(1)
	r.Push(d)
	d.ID = "changed"
	if r.At(0).ID != "1" {
		t.Error("Push must copy the decision")
	}
}

func TestRingReset(t *testing.T) {
	r := NewRing(2)
	r.Push(dec(1))
	r.Push(dec(2))
	r.Push(dec(3))
	r.Reset()
	if r.Len() != 0 || r.Total() != 0 || r.Overflowed() || r.At(0) != nil {
		t.Fatal("Reset must empty the ring and restart positions")
	}
	r.Push(dec(9))
	if r.First() != 0 || r.At(0).ID != "9" {
		t.Error("positions restart at 0 after Reset")
	}
}

func TestRingMinimumCapacity(t *testing.T) {
	r := NewRing(0)
	r.Push(dec(1))
	r.Push(dec(2))
	if r.Cap() != 1 || r.Len() != 1 || r.At(1).ID != "2" {
		t.Fatalf("capacity 0 must act as 1: cap %d len %d", r.Cap(), r.Len())
	}
}
