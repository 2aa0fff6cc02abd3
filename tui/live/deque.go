package live

import "github.com/riskwatch/riskwatch/decision"

// Deque holds a contiguous run of decisions in arrival order, at most a
// capacity of them, and can grow at either end: newer rows are pushed at
// the back, older pages put in at the front. Every row has an absolute
// position, one more than the row before it; rows put in at the front
// continue the numbering downward (below 0 if need be), so a position a
// view holds keeps naming the same row until that row is dropped. Push
// and PushFront copy the decision and cost O(1); memory grows with use up
// to the capacity.
type Deque struct {
	buf   []decision.Decision // circular; head is the oldest row
	head  int
	n     int
	first int // position of the oldest row
	cap   int
}

// NewDeque returns an empty deque holding up to capacity rows (at least
// one).
func NewDeque(capacity int) *Deque { return &Deque{cap: max(capacity, 1)} }

// Len is the number of rows held.
func (q *Deque) Len() int { return q.n }

// Cap is the most rows the deque holds.
func (q *Deque) Cap() int { return q.cap }

// First is the position of the oldest row held.
func (q *Deque) First() int { return q.first }

// End is the position after the newest row held.
func (q *Deque) End() int { return q.first + q.n }

// At returns the row at position pos, or nil when it is not held. The
// pointer is valid until the next change to the deque.
func (q *Deque) At(pos int) *decision.Decision {
	if pos < q.first || pos >= q.first+q.n {
		return nil
	}
	return &q.buf[(q.head+pos-q.first)%len(q.buf)]
}

// Newest returns the newest row, nil when empty.
func (q *Deque) Newest() *decision.Decision { return q.At(q.End() - 1) }

// Oldest returns the oldest row, nil when empty.
func (q *Deque) Oldest() *decision.Decision { return q.At(q.first) }

// Push adds a copy of d as the newest row; when the deque is full the
// oldest is dropped first, and evicted says so.
func (q *Deque) Push(d *decision.Decision) (evicted bool) {
	if q.n == q.cap {
		q.DropOldest(1)
		evicted = true
	}
	q.grow()
	q.buf[(q.head+q.n)%len(q.buf)] = *d
	q.n++
	return evicted
}

// PushFront adds a copy of d as the oldest row, at position First()-1;
// when the deque is full the newest is dropped first, and evicted says so.
func (q *Deque) PushFront(d *decision.Decision) (evicted bool) {
	if q.n == q.cap {
		q.DropNewest(1)
		evicted = true
	}
	q.grow()
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = *d
	q.n++
	q.first--
	return evicted
}

// DropOldest removes up to k of the oldest rows.
func (q *Deque) DropOldest(k int) {
	k = min(max(k, 0), q.n)
	for range k {
		q.buf[q.head] = decision.Decision{}
		q.head = (q.head + 1) % len(q.buf)
	}
	q.n -= k
	q.first += k
}

// DropNewest removes up to k of the newest rows.
func (q *Deque) DropNewest(k int) {
	k = min(max(k, 0), q.n)
	for range k {
		q.buf[(q.head+q.n-1)%len(q.buf)] = decision.Decision{}
		q.n--
	}
}

// Reset empties the deque and restarts positions at 0, keeping its memory.
func (q *Deque) Reset() {
	clear(q.buf)
	q.head, q.n, q.first = 0, 0, 0
}

// grow makes room for one more row, doubling the buffer (up to the
// capacity) and laying the rows out from its start.
func (q *Deque) grow() {
	if q.n < len(q.buf) {
		return
	}
	size := min(max(2*len(q.buf), 16), q.cap)
	buf := make([]decision.Decision, size)
	for i := range q.n {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}

// Each calls fn with every row held, oldest first.
func (q *Deque) Each(fn func(*decision.Decision)) {
	for p := q.First(); p < q.End(); p++ {
		fn(q.At(p))
	}
}
