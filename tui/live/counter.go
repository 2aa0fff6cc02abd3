package live

// counts is how many decisions match the filter and how many there are.
type counts struct {
	matching, total uint64
}

// countRead is the answer to a count: the counts, and the newest decision
// the store held just after (api.Reader.Latest read after Stats).
type countRead struct {
	counts counts
	newest string
}

// counter keeps the row count of Live ("1,204 of 19,793") as decisions
// arrive, without counting one twice: an answer counts what the store held
// when it was read, and an arrival counts only if it is newer than the
// newest decision the store held just after (decision IDs follow arrival
// order). Arrivals while a count is read wait aside until it answers. A
// decision stored between the two reads of a count is missed until the
// next count; none is counted twice.
type counter struct {
	c      counts
	newest string // the newest decision the count includes
	have   bool
	// aside are the arrivals while a count is read.
	aside []arrival
}

type arrival struct {
	id    string
	match bool
}

// maxAside bounds the arrivals kept while a count is read; past it the
// count is read again.
const maxAside = 100_000

// arrive counts a decision that arrived, or keeps it aside while a count
// is read (busy). It reports false when too many wait aside: the count
// must be read again.
func (k *counter) arrive(id string, match, busy bool) bool {
	if busy {
		if len(k.aside) >= maxAside {
			return false
		}
		k.aside = append(k.aside, arrival{id, match})
		return true
	}
	if k.have && id > k.newest {
		k.newest = id
		k.c.total++
		if match {
			k.c.matching++
		}
	}
	return true
}

// answer takes a count and then the arrivals kept aside while it was read.
func (k *counter) answer(r countRead) {
	k.c, k.newest, k.have = r.counts, r.newest, true
	aside := k.aside
	k.aside = k.aside[:0]
	for _, a := range aside {
		k.arrive(a.id, a.match, false)
	}
}

// start forgets what arrived aside before a new count is read.
func (k *counter) start() { k.aside = k.aside[:0] }

// value is the count shown; ok is false before the first answer.
func (k *counter) value() (counts, bool) { return k.c, k.have }
