package store

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
)

// mergePrep is a merge of pending decisions into the batched indexes,
// prepared outside any transaction: the by_dim run's entries in key
// order, each user's decisions summed up, the (IP, user) pairs with their
// newest day, in key order. Preparing reads only pend (which nothing else
// changes meanwhile), so the writer may hand it to a goroutine of its own
// while it commits other groups; applying it (applyMerge) reads and
// writes pages in a transaction and is all the writer does itself.
type mergePrep struct {
	pend []pendingDec
	// upTo is the newest decision key the merge covers: the index mark
	// after it is committed. Every pending decision up to upTo is in pend,
	// every later one is not.
	upTo  decKey
	dims  dimBatch
	users []userAdd // by user, in key order
	order []int32
	ips   []ipPair // in key order, one per pair
	ipBuf []byte
}

// userAdd is what a merge adds to a user's summary.
type userAdd struct {
	user string
	add  summary
}

// ipPair is a by_ip key, in mergePrep.ipBuf, and the event-time day of its
// newest decision.
type ipPair struct {
	off, end uint32
	day      uint32
}

// prepare builds the merge of m.pend.
func (m *mergePrep) prepare() {
	m.dims.build(m.pend)
	m.prepareUsers()
	m.prepareIPs()
}

// prepareUsers sums up each user's decisions, users in key order.
func (m *mergePrep) prepareUsers() {
	pend := m.pend
	order := m.order[:0]
	for i := range pend {
		if pend[i].user != "" {
			order = append(order, int32(i))
		}
	}
	// A user's decisions stay in arrival order, which summary.add needs
	// for ties: the index breaks ties (cheaper than a stable sort).
	slices.SortFunc(order, func(a, b int32) int {
		if c := strings.Compare(pend[a].user, pend[b].user); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	m.order = order
	m.users = m.users[:0]
	for len(order) > 0 {
		u := userAdd{user: pend[order[0]].user}
		n := 0
		for ; n < len(order) && pend[order[n]].user == u.user; n++ {
			p := &pend[order[n]]
			u.add.add(p.ev, &p.f)
		}
		order = order[n:]
		m.users = append(m.users, u)
	}
}

// prepareIPs collects the (IP, user) pairs, each once with its newest day.
func (m *mergePrep) prepareIPs() {
	m.ipBuf, m.ips = m.ipBuf[:0], m.ips[:0]
	for i := range m.pend {
		p := &m.pend[i]
		if p.user == "" || p.f.ip == "" {
			continue
		}
		off := len(m.ipBuf)
		m.ipBuf = appendLP(appendLP(m.ipBuf, indexPart(p.f.ip)), p.user)
		m.ips = append(m.ips, ipPair{off: uint32(off), end: uint32(len(m.ipBuf)), day: dayOf(p.ev)})
	}
	slices.SortFunc(m.ips, func(a, b ipPair) int {
		if c := bytes.Compare(m.ipKey(a), m.ipKey(b)); c != 0 {
			return c
		}
		return cmp.Compare(b.day, a.day)
	})
	m.ips = slices.CompactFunc(m.ips, func(a, b ipPair) bool { return bytes.Equal(m.ipKey(a), m.ipKey(b)) })
}

func (m *mergePrep) ipKey(p ipPair) []byte { return m.ipBuf[p.off:p.end:p.end] }

// reset forgets the merge for reuse, keeping buffers unless they grew past
// limit entries.
func (m *mergePrep) reset(limit int) {
	clear(m.pend)
	clear(m.users)
	m.pend, m.users = m.pend[:0], m.users[:0]
	m.dims.reset(limit)
	if cap(m.order) > limit {
		*m = mergePrep{}
	}
}
