package store

import (
	"cmp"
	"slices"
	"strings"
)

// dimBatch puts the user and dimension index entries of a merge's pending
// decisions in key order without comparing whole keys. A key is a prefix
// (kind byte + lp(value)) and an event key; prefixes are prefix-free (the
// length is a uvarint), so key order is prefix order, then event key
// order. The batch gives each distinct prefix a group, sorts the groups'
// prefixes (far fewer than the entries: an email domain or a device
// family is one group of most decisions), places the entries by group
// with a counting sort that keeps arrival order, and sorts a group by
// event time only when its decisions arrived out of event-time order
// (pending decisions are in decision-key order, which breaks event-time
// ties as the key does). The writer keeps one dimBatch and reuses its
// buffers.
type dimBatch struct {
	groups   map[string]int32 // prefix -> group
	prefixes []string         // by group
	ents     []dimEnt         // in arrival order, then sorted
	tmp      []dimEnt
	rank     []int32 // group -> position of its prefix in key order
	start    []int32 // by rank: the first entry of the group
	key, val []byte
}

// dimEnt is one index entry: its group and the pending decision it comes
// from.
type dimEnt struct {
	group int32
	pend  int32
}

// build collects and sorts the entries of pend.
func (b *dimBatch) build(pend []pendingDec) {
	if b.groups == nil {
		b.groups = make(map[string]int32)
	}
	clear(b.groups)
	b.prefixes, b.ents = b.prefixes[:0], b.ents[:0]
	add := func(prefix []byte, i int) {
		g, ok := b.groups[string(prefix)]
		if !ok {
			g = int32(len(b.prefixes))
			s := string(prefix)
			b.groups[s] = g
			b.prefixes = append(b.prefixes, s)
		}
		b.ents = append(b.ents, dimEnt{group: g, pend: int32(i)})
	}
	for i := range pend {
		p := &pend[i]
		if p.user != "" {
			b.key = userRunPrefix(b.key[:0], p.user)
			add(b.key, i)
		}
		for j, v := range p.dims {
			if v != "" {
				b.key = dimPrefix(b.key[:0], DimKinds[j], v)
				add(b.key, i)
			}
		}
	}
	b.sort(pend)
}

// sort orders b.ents by key.
func (b *dimBatch) sort(pend []pendingDec) {
	n := len(b.prefixes)
	byPrefix := make([]int32, n)
	for g := range byPrefix {
		byPrefix[g] = int32(g)
	}
	slices.SortFunc(byPrefix, func(x, y int32) int { return strings.Compare(b.prefixes[x], b.prefixes[y]) })
	b.rank = slices.Grow(b.rank[:0], n)[:n]
	for r, g := range byPrefix {
		b.rank[g] = int32(r)
	}
	// Counting sort by rank, stable.
	b.start = slices.Grow(b.start[:0], n+1)[:n+1]
	clear(b.start)
	for _, e := range b.ents {
		b.start[b.rank[e.group]+1]++
	}
	for r := 1; r <= n; r++ {
		b.start[r] += b.start[r-1]
	}
	b.tmp = slices.Grow(b.tmp[:0], len(b.ents))[:len(b.ents)]
	next := byPrefix // reused: the next free slot of each rank
	copy(next, b.start[:n])
	for _, e := range b.ents {
		r := b.rank[e.group]
		b.tmp[next[r]] = e
		next[r]++
	}
	b.ents, b.tmp = b.tmp, b.ents
	byEv := func(x, y dimEnt) int { return cmp.Compare(pend[x.pend].ev, pend[y.pend].ev) }
	for r := range n {
		grp := b.ents[b.start[r]:b.start[r+1]]
		if !slices.IsSortedFunc(grp, byEv) {
			slices.SortStableFunc(grp, byEv)
		}
	}
}

// each calls fn with every entry's key and value in key order (both valid
// only during the call).
func (b *dimBatch) each(pend []pendingDec, fn func(k, v []byte) error) error {
	for _, e := range b.ents {
		p := &pend[e.pend]
		prefix := b.prefixes[e.group]
		b.key = appendEv(append(b.key[:0], prefix...), p.ev, p.key)
		b.val = b.val[:0]
		if DimKind(prefix[0]) != kindUser {
			b.val = appendLP(b.val, p.user)
		}
		if err := fn(b.key, b.val); err != nil {
			return err
		}
	}
	return nil
}

// reset drops the batch's references to user and value strings, and its
// buffers when they grew past limit entries.
func (b *dimBatch) reset(limit int) {
	clear(b.prefixes)
	b.prefixes = b.prefixes[:0]
	clear(b.groups)
	if cap(b.ents) > limit {
		*b = dimBatch{}
	}
}
