package live

import (
	"slices"
	"strconv"
	"testing"
)

func dequeIDs(q *Deque) []string {
	var out []string
	for p := q.First(); p < q.End(); p++ {
		out = append(out, q.At(p).ID)
	}
	return out
}

func want(ids ...int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.Itoa(id)
	}
	return out
}

// Rows grow at both ends, keep their positions, and never exceed the
// capacity: a push at one end drops from the other.
func TestDeque(t *testing.T) {
	q := NewDeque(4)
	if q.Len() != 0 || q.At(0) != nil || q.Newest() != nil || q.Oldest() != nil {
		t.Fatal("a new deque must be empty")
	}
	for i := 10; i < 13; i++ {
		if q.Push(dec(i)) {
			t.Fatal("evicted below capacity")
		}
	}
	if got := dequeIDs(q); !slices.Equal(got, want(10, 11, 12)) || q.First() != 0 || q.End() != 3 {
		t.Fatalf("pushed 10..12: %v first %d end %d", got, q.First(), q.End())
	}
	if q.PushFront(dec(9)) {
		t.Fatal("evicted at capacity")
	}
	if q.First() != -1 || q.At(-1).ID != "9" || q.At(0).ID != "10" {
		t.Fatalf("an older row goes below: first %d", q.First())
	}
	if !q.PushFront(dec(8)) || !slices.Equal(dequeIDs(q), want(8, 9, 10, 11)) || q.First() != -2 {
		t.Fatalf("PushFront when full drops the newest: %v first %d", dequeIDs(q), q.First())
	}
	if !q.Push(dec(12)) || !slices.Equal(dequeIDs(q), want(9, 10, 11, 12)) || q.First() != -1 || q.At(2).ID != "12" {
		t.Fatalf("Push when full drops the oldest: %v first %d", dequeIDs(q), q.First())
	}
	q.DropNewest(2)
	q.DropOldest(1)
	if !slices.Equal(dequeIDs(q), want(10)) || q.First() != 0 || q.Newest().ID != "10" || q.Oldest().ID != "10" {
		t.Fatalf("after drops: %v first %d", dequeIDs(q), q.First())
	}
	q.DropNewest(5)
	if q.Len() != 0 || q.End() != q.First() {
		t.Fatal("dropping more than held must empty it")
	}
	q.Reset()
	if q.First() != 0 || q.End() != 0 {
		t.Fatal("Reset restarts positions")
	}
	// Many turns around the buffer, at both ends.
	for i := range 100 {
		if i%3 == 0 {
			q.PushFront(dec(-i))
		} else {
			q.Push(dec(i))
		}
		if q.Len() > q.Cap() || q.End()-q.First() != q.Len() {
			t.Fatalf("turn %d: len %d first %d end %d", i, q.Len(), q.First(), q.End())
		}
	}
}
