package emulator

import "net/netip"

// DefaultMaxEntries bounds each of the emulator's three state tables (users,
// IP addresses, devices). Every entry has a fixed size (under 600 bytes with
// its map and list overhead; hostile long strings are hashed, never kept), so
// the three tables together stay under about 150 MB however many distinct
// users, addresses and agents arrive, and a demo's few thousand users take a
// few megabytes. Past the bound the least recently used entry is forgotten,
// which makes that user, address or device "new" again.
const DefaultMaxEntries = 100_000

// lru is a map bounded to max entries that forgets the least recently used
// one. It is not safe for concurrent use: the Emulator's mutex guards it.
type lru[K comparable, V any] struct {
	max   int
	items map[K]*lruNode[K, V]
	root  lruNode[K, V] // sentinel: root.next is the most recently used
}

type lruNode[K comparable, V any] struct {
	key        K
	val        V
	prev, next *lruNode[K, V]
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	c := &lru[K, V]{max: max, items: make(map[K]*lruNode[K, V])}
	c.root.next = &c.root
	c.root.prev = &c.root
	return c
}

// get returns the entry for k, creating a zero one if there is none, and
// marks it most recently used. Creating an entry in a full table reuses the
// least recently used entry's node.
func (c *lru[K, V]) get(k K) *V {
	if n, ok := c.items[k]; ok {
		c.unlink(n)
		c.pushFront(n)
		return &n.val
	}
	var n *lruNode[K, V]
	if len(c.items) >= c.max {
		n = c.root.prev
		c.unlink(n)
		delete(c.items, n.key)
		var zero V
		n.val = zero
	} else {
		n = new(lruNode[K, V])
	}
	n.key = k
	c.items[k] = n
	c.pushFront(n)
	return &n.val
}

// len reports the number of entries.
func (c *lru[K, V]) len() int { return len(c.items) }

func (c *lru[K, V]) unlink(n *lruNode[K, V]) {
	n.prev.next = n.next
	n.next.prev = n.prev
}

func (c *lru[K, V]) pushFront(n *lruNode[K, V]) {
	n.prev = &c.root
	n.next = c.root.next
	c.root.next.prev = n
	c.root.next = n
}

// recent keeps the newest len(at) timestamps (unix seconds) of something.
type recent struct {
	at   [16]int64
	n    uint8 // filled slots, at most len(at)
	next uint8 // slot the next timestamp goes to
}

func (r *recent) add(t int64) {
	r.at[r.next] = t
	r.next = (r.next + 1) % uint8(len(r.at))
	if int(r.n) < len(r.at) {
		r.n++
	}
}

// since counts the kept timestamps at or after from.
func (r *recent) since(from int64) int {
	c := 0
	for _, t := range r.at[:r.n] {
		if t >= from {
			c++
		}
	}
	return c
}

// hashSet remembers the last len(h) distinct hashes added to it.
type hashSet struct {
	h    [8]uint64
	n    uint8
	next uint8
}

func (s *hashSet) has(x uint64) bool {
	for _, v := range s.h[:s.n] {
		if v == x {
			return true
		}
	}
	return false
}

func (s *hashSet) add(x uint64) {
	if s.has(x) {
		return
	}
	s.h[s.next] = x
	s.next = (s.next + 1) % uint8(len(s.h))
	if int(s.n) < len(s.h) {
		s.n++
	}
}

// actors remembers up to len(who) distinct users with the time each was last
// seen; a new user replaces the one seen longest ago.
type actors struct {
	who [16]uint64
	at  [16]int64
	n   uint8
}

func (a *actors) touch(user uint64, t int64) {
	oldest := 0
	for i := range int(a.n) {
		if a.who[i] == user {
			a.at[i] = max(a.at[i], t)
			return
		}
		if a.at[i] < a.at[oldest] {
			oldest = i
		}
	}
	if int(a.n) < len(a.who) {
		oldest = int(a.n)
		a.n++
	}
	a.who[oldest] = user
	a.at[oldest] = t
}

// distinctSince counts the users seen at or after from.
func (a *actors) distinctSince(from int64) int {
	c := 0
	for _, t := range a.at[:a.n] {
		if t >= from {
			c++
		}
	}
	return c
}

// userState is what the emulator knows about one user. Devices, addresses
// and countries are learned only from successful events the policy allowed:
// a challenged or denied success does not make an attacker's device trusted.
type userState struct {
	known     bool // at least one allowed success was learned
	devices   hashSet
	ips       hashSet
	countries hashSet
	// lastCountry and lastAt describe the newest allowed success, the
	// reference point for impossible travel.
	lastCountry string
	lastAt      int64
	events      recent // every scored event of the user
	failures    recent // failed logins
}

// ipState is what the emulator knows about one address.
type ipState struct {
	loginUsers actors // distinct users of $login events
}

// deviceState is what the emulator knows about one user agent on one
// address.
type deviceState struct {
	accounts actors
}

// FNV-1a, 64 bits: the state tables' keys are hashes, so a hostile
// megabyte-long user ID costs them 8 bytes.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// hashString is the state tables' key for a string.
func hashString(s string) uint64 { return fnvString(fnvOffset, s) }

// hashAddr is the state tables' key for an address.
func hashAddr(ip netip.Addr) uint64 {
	b := ip.As16()
	return fnvBytes(fnvOffset, b[:])
}

// deviceKey identifies a user agent on an address.
func deviceKey(agent string, ip netip.Addr) uint64 {
	b := ip.As16()
	return fnvBytes(fnvString(fnvOffset, agent)^0xff, b[:])
}
