package collector

import (
	"bytes"
	"sync"

	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/store"
)

// parsedBudget bounds the bytes of event bodies a pipeline keeps parsed for
// its loader (about 2 KB of memory per event of 1 KB): enough for a few
// seconds of backlog at the target rates, while a larger backlog is parsed
// again from the inbox.
const parsedBudget = 16 << 20

// parsedOverhead is what one kept event costs besides its body: the map
// entry and the strings of its fields.
const parsedOverhead = 256

// parsedEvents keeps the events intakes stored, in the form their sources
// parsed them, until the pipeline's loader reads them back from the inbox,
// so that an event is parsed once on its way through the collector. It is
// only a cache: an event it does not hold (queued before a restart, by
// another process, or while the budget was spent) is parsed from the
// inbox's bytes, and an event is used only if the inbox holds exactly the
// bytes it was parsed from. It is safe for concurrent use.
type parsedEvents struct {
	mu     sync.Mutex
	m      map[string]parsedEvent
	gen    uint64 // number of put calls so far
	bytes  int    // held: bodies plus parsedOverhead each
	budget int
}

// parsedEvent is one kept event, in the slice handed to put (a pointer
// keeps the map's values small, so that an entry costs no allocation), and
// the put call that added it.
type parsedEvent struct {
	q   *QueuedEvent
	gen uint64
}

func newParsedEvents(budget int) *parsedEvents {
	return &parsedEvents{m: map[string]parsedEvent{}, budget: budget}
}

// put keeps the events of q, by event ID, while the budget lasts: the
// oldest are kept, as the loader reads the inbox oldest first. It keeps q
// and clears each element as it is taken or forgotten.
func (c *parsedEvents) put(q []QueuedEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for i := range q {
		size := len(q[i].Event.Raw) + parsedOverhead
		if c.bytes+size > c.budget {
			return
		}
		if old, ok := c.m[q[i].ID]; ok {
			c.drop(old)
		}
		c.m[q[i].ID] = parsedEvent{q: &q[i], gen: c.gen}
		c.bytes += size
	}
}

// take returns, and forgets, the parsed form of the inbox event in, if it
// is held and was parsed from in's exact body.
func (c *parsedEvents) take(in *store.InboxEvent) (safee.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[in.EventID]
	if !ok {
		return safee.Event{}, false
	}
	delete(c.m, in.EventID)
	ev := p.q.Event
	c.drop(p)
	return ev, bytes.Equal(ev.Raw, in.Body)
}

// drop uncounts p, which has left the map, and clears its element.
func (c *parsedEvents) drop(p parsedEvent) {
	c.bytes -= len(p.q.Event.Raw) + parsedOverhead
	*p.q = QueuedEvent{}
}

// mark returns a mark for forget: the number of put calls so far.
func (c *parsedEvents) mark() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// forget drops the events put up to mark: the loader calls it when it
// found the inbox empty after taking mark, so those events left the inbox
// without being read (another event with the same ID was decided).
func (c *parsedEvents) forget(mark uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, p := range c.m {
		if p.gen <= mark {
			delete(c.m, id)
			c.drop(p)
		}
	}
}
