package store

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// This file freezes how round 1 (schema 1) wrote its records and buckets,
// so that tests and benchmarks can make schema-1 files of any size without
// the round-1 binary. Do not change it when the schema changes: it is what
// migrations read.

// encodeDecisionV1 is round 1's decision encoder. Its event time field
// held the event's own timestamp (zero when it had none).
func encodeDecisionV1(b []byte, d *decision.Decision) []byte {
	e := encoder{b}
	e.byte1(1)
	e.str(d.UserID)
	e.str(d.EventID)
	e.time(d.ReceivedAt)
	e.time(d.EventTime)
	e.str(d.Source)
	e.str(d.Type)
	e.str(d.Status)
	e.str(d.Email)
	e.str(d.IP)
	e.str(d.UserAgent)
	e.str(d.Country)
	e.f64(d.Risk)
	e.f64(d.AccountAbuse)
	e.f64(d.AccountTakeover)
	e.f64(d.Bot)
	e.uvarint(uint64(len(d.Signals)))
	for _, s := range d.Signals {
		e.str(s)
	}
	e.str(d.Policy)
	e.byte1(byte(d.Action.Index()))
	e.str(d.Error)
	e.varint(int64(d.HTTPStatus))
	e.varint(int64(d.Latency))
	e.varint(int64(d.Attempts))
	e.bytes(d.Request)
	e.bytes(d.Response)
	return e.b
}

// summaryV1Of is round 1's user summary: times are stored times, the
// latest values the latest non-empty ones in arrival order.
type summaryV1Of struct {
	email, ip, country        string
	first, last               int64
	count, denies, challenges uint64
	maxRisk                   float64
}

func (s *summaryV1Of) add(stored int64, d *decision.Decision) {
	if s.count == 0 {
		s.first = stored
	}
	s.last = stored
	s.count++
	switch d.Action {
	case decision.ActionDeny:
		s.denies++
	case decision.ActionChallenge:
		s.challenges++
	}
	if d.Action != decision.ActionError {
		s.maxRisk = max(s.maxRisk, d.Risk)
	}
	if d.Email != "" {
		s.email = d.Email
	}
	if d.IP != "" {
		s.ip = d.IP
	}
	if d.Country != "" {
		s.country = d.Country
	}
}

func (s *summaryV1Of) encode() []byte {
	e := encoder{}
	e.byte1(1)
	e.str(s.email)
	e.str(s.ip)
	e.str(s.country)
	e.varint(s.first)
	e.varint(s.last)
	e.uvarint(s.count)
	e.uvarint(s.denies)
	e.uvarint(s.challenges)
	e.f64(s.maxRisk)
	return e.b
}

// rollupV1 is round 1's rollup record, built by stored time.
type rollupV1 map[string]*[decision.NumActions + decision.NumScores*3*101]uint64

func (r rollupV1) add(d *decision.Decision) {
	t := r[d.Type]
	if t == nil {
		t = new([decision.NumActions + decision.NumScores*3*101]uint64)
		r[d.Type] = t
	}
	a := d.Action.Index()
	t[a]++
	if a < 3 {
		for s := range decision.NumScores {
			t[decision.NumActions+int(s)*303+a*101+decision.Bucket(d.ScoreValue(s))]++
		}
	}
}

func (r rollupV1) encode() []byte {
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range r {
			if !yield(n) {
				return
			}
		}
	})
	var totals [decision.NumActions]uint64
	for _, t := range r {
		for a := range totals {
			totals[a] += t[a]
		}
	}
	e := encoder{}
	e.byte1(1)
	for _, c := range totals {
		e.uvarint(c)
	}
	e.uvarint(uint64(len(names)))
	for _, name := range names {
		t := r[name]
		e.str(name)
		for a := range decision.NumActions {
			e.uvarint(t[a])
		}
		for s := range decision.NumScores {
			var sec encoder
			next := 0
			for i := range 303 {
				if c := t[decision.NumActions+int(s)*303+i]; c != 0 {
					sec.uvarint(uint64(i - next))
					sec.uvarint(c)
					next = i + 1
				}
			}
			e.bytes(sec.b)
		}
	}
	return e.b
}

// entry is a key and value of a round-1 bucket.
type entry struct{ k, v []byte }

// userPrefix is round 1's by_user key prefix of a user.
func userPrefix(user string) []byte {
	return appendLP(nil, indexPart(user))
}

// round1File describes a schema-1 file to write: n decisions in arrival
// order, each with Time (its stored time, increasing) and EventTime as
// round 1 kept it (the raw timestamp or zero). decision(i) is called once
// for each i, in order. The first gone of them are decisions round-1
// retention deleted: only their rollup counts are in the file.
type round1File struct {
	n, gone     int
	decision    func(i int) decision.Decision
	inbox       []InboxEvent
	rejects     []Rejected
	checkpoints []Checkpoint
}

// writeRound1 writes f as round 1 would have left it after a clean Close:
// every decision indexed (by_user keyed by stored key, by_ip by stored
// day, summaries by stored time), rollups by stored time.
func writeRound1(tb testing.TB, path string, f *round1File) {
	tb.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		tb.Fatal(err)
	}
	defer b.Close()
	names := [][]byte{[]byte("meta"), []byte("inbox"), []byte("events"), []byte("decisions"), []byte("by_user"), []byte("by_ip"),
		[]byte("users"), []byte("rollup_min"), []byte("rollup_hour"), []byte("rejected"), []byte("checkpoints")}
	put := func(bucket string, es []entry, fill float64) {
		slices.SortFunc(es, func(a, b entry) int { return bytesCompare(a.k, b.k) })
		for len(es) > 0 {
			n := min(len(es), 100_000)
			err := b.Update(func(tx *bolt.Tx) error {
				bk := tx.Bucket([]byte(bucket))
				bk.FillPercent = fill
				for _, e := range es[:n] {
					if err := bk.Put(e.k, e.v); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				tb.Fatal(err)
			}
			es = es[n:]
		}
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, n := range names {
			if _, err := tx.CreateBucket(n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	minutes, hours := map[int64]rollupV1{}, map[int64]rollupV1{}
	roll := func(d *decision.Decision) {
		sec := d.Time.Unix()
		for _, p := range []struct {
			m    map[int64]rollupV1
			size int64
		}{{minutes, 60}, {hours, 3600}} {
			k := sec - sec%p.size
			if p.m[k] == nil {
				p.m[k] = rollupV1{}
			}
			p.m[k].add(d)
		}
	}
	for i := range f.gone {
		d := f.decision(i)
		roll(&d)
	}
	var events, byUser []entry
	byIP := map[string]uint32{}
	sums := map[string]*summaryV1Of{}
	seq := uint64(f.gone)
	var last decKey
	for start := f.gone; start < f.n; start += 50_000 {
		end := min(f.n, start+50_000)
		err := b.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket([]byte("decisions"))
			bk.FillPercent = 0.95
			for i := start; i < end; i++ {
				dv := f.decision(i)
				d := &dv
				seq++
				k := makeDecKey(d.Time.UnixNano(), seq)
				last = k
				if err := bk.Put(slices.Clone(k[:]), encodeDecisionV1(nil, d)); err != nil {
					return err
				}
				roll(d)
				events = append(events, entry{eventKey(d.EventID), slices.Clone(k[:])})
				if d.UserID != "" {
					byUser = append(byUser, entry{append(userPrefix(d.UserID), k[:]...), nil})
					s := sums[indexPart(d.UserID)]
					if s == nil {
						s = new(summaryV1Of)
						sums[indexPart(d.UserID)] = s
					}
					s.add(d.Time.UnixNano(), d)
				}
				if d.IP != "" {
					byIP[string(appendLP(ipPrefix(d.IP), indexPart(d.UserID)))] = dayOf(d.Time.UnixNano())
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, ev := range f.inbox {
		events = append(events, entry{eventKey(ev.EventID), nil}) // the sequence is set below
	}
	put("by_user", byUser, 0.5)
	var es []entry
	for k, day := range byIP {
		es = append(es, entry{[]byte(k), binary.BigEndian.AppendUint32(nil, day)})
	}
	put("by_ip", es, 0.5)
	es = es[:0]
	for u, s := range sums {
		es = append(es, entry{[]byte(u), s.encode()})
	}
	put("users", es, 0.5)
	for _, p := range []struct {
		name string
		m    map[int64]rollupV1
	}{{"rollup_min", minutes}, {"rollup_hour", hours}} {
		es = es[:0]
		for sec, r := range p.m {
			es = append(es, entry{u64(uint64(sec)), r.encode()})
		}
		put(p.name, es, 0.95)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		inbox := tx.Bucket([]byte("inbox"))
		for i := range f.inbox {
			s, _ := inbox.NextSequence()
			if err := inbox.Put(u64(s), encodeInbox(nil, &f.inbox[i])); err != nil {
				return err
			}
			events[len(events)-len(f.inbox)+i].v = u64(s)
		}
		rj := tx.Bucket([]byte("rejected"))
		for i := range f.rejects {
			s, _ := rj.NextSequence()
			if err := rj.Put(u64(s), encodeRejected(nil, &f.rejects[i])); err != nil {
				return err
			}
		}
		for i := range f.checkpoints {
			if err := tx.Bucket([]byte("checkpoints")).Put([]byte(f.checkpoints[i].Source), encodeCheckpoint(nil, &f.checkpoints[i])); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte("meta"))
		for k, v := range map[string][]byte{"schema": u64(1), "n_decisions": u64(uint64(f.n - f.gone)),
			"n_inbox": u64(uint64(len(f.inbox))), "n_rejected": u64(uint64(len(f.rejects)))} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		if f.n > f.gone {
			if err := meta.Put([]byte("last_key"), slices.Clone(last[:])); err != nil {
				return err
			}
			return meta.Put([]byte("user_mark"), slices.Clone(last[:]))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	put("events", events, 0.5)
}

func bytesCompare(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return len(a) - len(b)
}

// round1Decisions returns a generator of decisions as round 1 stored them
// (for round1File.decision): from users and IPs (about n/20 and n/50),
// stored times stepping from start, raw timestamps mostly up to 11 hours
// earlier, some missing, some hours ahead (clock skew).
func round1Decisions(seed uint64, n int, start time.Time, step time.Duration) func(i int) decision.Decision {
	g := newFakeGen(seed, max(10, n/20), max(5, n/50))
	rng := rand.New(rand.NewPCG(seed, 7))
	return func(i int) decision.Decision {
		d := g.decision(i)
		vary(rng, &d)
		d.Time = start.Add(time.Duration(i) * step)
		d.ReceivedAt = d.Time.Add(-time.Duration(rng.IntN(500)) * time.Millisecond)
		switch x := rng.IntN(20); {
		case x == 0:
			d.EventTime = time.Time{}
		case x == 1:
			d.EventTime = d.ReceivedAt.Add(2 * time.Hour)
		default:
			d.EventTime = d.ReceivedAt.Add(-time.Duration(rng.Int64N(int64(11 * time.Hour))))
		}
		return d
	}
}

// asStored returns what decision d of a round-1 file reads as after the
// migration: its event time through decision.EventTimeOf.
func asStored(d decision.Decision) decision.Decision {
	d.EventTime, d.ClockSkew = decision.EventTimeOf(d.EventTime, d.ReceivedAt)
	if d.EventTime.IsZero() {
		d.EventTime = d.Time
	}
	d.EventTime = time.Unix(0, d.EventTime.UnixNano()).UTC()
	return d
}
