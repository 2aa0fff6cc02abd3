package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// LabelWhatIfQuery selects the decisions of a what-if with labels.
type LabelWhatIfQuery struct {
	Thresholds decision.Thresholds
	// From and To bound the event times (zero: unbounded); the filter's
	// since: and until: narrow them further.
	From, To time.Time
	Filter   *decision.Filter
	// FilterText is the filter as written; it keys the cache (see
	// StaleCounts).
	FilterText string
	// AsOf reads the labels recorded before it (zero: every label).
	AsOf time.Time
}

// labelCounts are the counts of one scan for every score at once, so that
// another score or other thresholds need no scan.
type labelCounts struct {
	hist   [decision.NumScores]decision.LabelHist
	byType map[string]*[decision.NumScores]decision.LabelHist
	errors uint64
	lag    [decision.LagDays]uint64
	// txid is the bbolt transaction the scan read, at when it ran.
	txid int
	at   time.Time
}

// StaleCounts is how old the counts of a what-if with labels may be when
// decisions were written since: a collector commits many times a second,
// and a scan per commit would make every key press of the What-if view a
// scan. A new label always counts at once (the ledger keys the counts).
const StaleCounts = 30 * time.Second

// whatifKey identifies a scan: the query without its thresholds, and the
// ledger's state.
type whatifKey struct {
	from, to, asOf int64
	filter         string
	ledger         uint64
}

// whatifCache keeps the counts of the latest scans.
type whatifCache struct {
	mu    sync.Mutex
	order []whatifKey
	m     map[whatifKey]*labelCounts
}

// indexScanMax is the longest window a what-if with labels reads through
// the time index; a longer one reads every decision in file order.
const indexScanMax = 6 * time.Hour

// whatifCacheSize is how many scans the cache keeps.
const whatifCacheSize = 8

// get returns the counts of k if they are of transaction txid or younger
// than StaleCounts at now.
func (c *whatifCache) get(k whatifKey, txid int, now time.Time) *labelCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.m[k]; v != nil && (v.txid == txid || now.Sub(v.at) < StaleCounts) {
		return v
	}
	return nil
}

func (c *whatifCache) put(k whatifKey, v *labelCounts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[whatifKey]*labelCounts{}
	}
	if _, ok := c.m[k]; ok {
		c.m[k] = v
		return
	}
	if len(c.order) == whatifCacheSize {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, k)
	c.m[k] = v
}

// LabelWhatIf counts the decisions q selects by label (as of q.AsOf),
// score bucket and actual action, overall and per event type, with the
// label lag of the labelled ones. One scan counts every score; its counts
// are kept until the ledger changes, or decisions were written and they
// are older than StaleCounts, so that moving the thresholds or switching
// the score costs no scan.
func (db *DB) LabelWhatIf(ctx context.Context, q LabelWhatIfQuery) (decision.LabelWhatIf, error) {
	s := q.Thresholds.Score
	if s < 0 || s >= decision.NumScores {
		return decision.LabelWhatIf{}, fmt.Errorf("what-if with labels: unknown score %d", s)
	}
	from, to := q.From, q.To
	if since := q.Filter.Since(); since.After(from) {
		from = since
	}
	if u := q.Filter.Until(); !u.IsZero() && (to.IsZero() || u.Before(to)) {
		to = u
	}
	c, err := db.labelCounts(ctx, from, to, q)
	if err != nil {
		return decision.LabelWhatIf{}, fmt.Errorf("what-if with labels on %s: %w", s, err)
	}
	w := decision.LabelWhatIf{Thresholds: q.Thresholds, From: from, To: to, AsOf: q.AsOf,
		Hist: c.hist[s], ByType: map[string]*decision.LabelHist{}, Errors: c.errors, Lag: c.lag}
	for t, h := range c.byType {
		th := h[s]
		w.ByType[t] = &th
	}
	return w, nil
}

// labelCounts returns the counts of the decisions in [from, to) matching
// q.Filter: from the cache; from the rollups when no label is in force and
// nothing but whole minutes is asked (every decision is unlabelled then);
// else from a scan.
func (db *DB) labelCounts(ctx context.Context, from, to time.Time, q LabelWhatIfQuery) (*labelCounts, error) {
	book, ledgerSeq, err := db.labelBook(ctx, q.AsOf)
	if err != nil {
		return nil, err
	}
	key := whatifKey{from: nanosOrZero(from), to: nanosOrZero(to), asOf: nanosOrZero(q.AsOf), filter: q.FilterText, ledger: ledgerSeq}
	var out *labelCounts
	err = db.view(func(tx *bolt.Tx) error {
		now := db.now()
		if out = db.whatifs.get(key, tx.ID(), now); out != nil {
			return nil
		}
		out = &labelCounts{byType: map[string]*[decision.NumScores]decision.LabelHist{}, txid: tx.ID(), at: now}
		if book.Len() == 0 && q.Filter.Empty() && wholeMinute(from) && wholeMinute(to) {
			return out.unlabelled(ctx, tx, from, to, db.brief())
		}
		return out.scan(ctx, tx, from, to, q.Filter, book, db.brief())
	})
	if err != nil {
		return nil, err
	}
	db.whatifs.put(key, out)
	return out, nil
}

// scan counts the decisions with an event time in [from, to) that filter
// matches, reading each one.
func (c *labelCounts) scan(ctx context.Context, tx *bolt.Tx, from, to time.Time, filter *decision.Filter, book *decision.LabelBook, brief recCodec) error {
	user := filter.UserID()
	r := evRangeOf(from, to)
	var d decision.Decision
	count := func(k decKey, v []byte) (bool, error) {
		if err := decodeDecision(k[:], v, &d, brief); err != nil {
			return false, err
		}
		if (user != "" && d.UserID != user) || !filter.Match(&d) {
			return true, nil
		}
		c.add(&d, book)
		return true, nil
	}
	if user != "" || (!from.IsZero() && !to.IsZero() && to.Sub(from) <= indexScanMax) {
		return walkDecisions(ctx, tx, user, r, func(e evKey, v []byte) (bool, error) { return count(e.dec(), v) })
	}
	// A long window: read the decisions in the order they lie in the
	// file, which is much faster than following the time index, and
	// keep those whose event time is in the window.
	fast := filter.Empty()
	var f labelFields
	return walk(ctx, tx.Bucket(bktDecisions).Cursor(), nil, maxKey[:], false, func(k, v []byte) (bool, error) {
		key := decKey(k)
		_, ev, err := peekEvent(key, v)
		if err != nil {
			return false, err
		}
		if !r.contains(makeEvKey(ev, key)) {
			return true, nil
		}
		if fast && f.peek(v) {
			c.addFields(&f, ev, book)
			return true, nil
		}
		return count(key, v)
	})
}

// unlabelled counts every decision with an event time in [from, to) (zero
// or whole minutes) as unlabelled, without reading them: from the minute
// rollups, which count the same decisions by the same event time, except
// in the minute of the oldest decision stored. Retention keeps the
// rollups of the decisions it deletes, and deletes every decision with an
// event time before its cut, so the minutes after that one are whole; that
// minute is counted from its decisions.
func (c *labelCounts) unlabelled(ctx context.Context, tx *bolt.Tx, from, to time.Time, brief recCodec) error {
	first, _ := tx.Bucket(bktByTime).Cursor().First()
	if first == nil {
		return nil
	}
	f, t := windowSecs(from, to)
	oldest := evKey(first).ev() / int64(time.Second)
	oldest -= oldest % minuteSecs
	if lo, hi := max(f, oldest), min(t, oldest+minuteSecs); lo < hi {
		min0 := time.Unix(lo, 0).UTC()
		if err := c.scan(ctx, tx, min0, time.Unix(hi, 0).UTC(), nil, &decision.LabelBook{}, brief); err != nil {
			return fmt.Errorf("the oldest minute %s: %w", min0.Format(time.RFC3339), err)
		}
	}
	return eachRollup(ctx, tx, max(f, oldest+minuteSecs), t, func(_ int64, v []byte) error {
		return walkRollup(v, func(name []byte, counts *[decision.NumActions]uint64, secs *[decision.NumScores][]byte) error {
			c.errors += counts[decision.ActionError.Index()]
			if counts[0]+counts[1]+counts[2] == 0 {
				return nil
			}
			t := c.byType[string(name)]
			if t == nil {
				t = new([decision.NumScores]decision.LabelHist)
				c.byType[string(name)] = t
			}
			for s := range decision.NumScores {
				var h hist
				if err := addSection(secs[s], &h); err != nil {
					return err
				}
				for a := range scoredActions {
					for b, n := range h[a*101 : (a+1)*101] {
						c.hist[s][decision.ClassUnlabeled][b][a] += n
						t[s][decision.ClassUnlabeled][b][a] += n
					}
				}
			}
			return nil
		})
	})
}

// wholeMinute reports whether t is zero or the start of a minute.
func wholeMinute(t time.Time) bool { return t.IsZero() || t.Equal(t.Truncate(time.Minute)) }

// add counts one decision.
func (c *labelCounts) add(d *decision.Decision, book *decision.LabelBook) {
	a := d.Action.Index()
	if a < 0 || a > 2 {
		c.errors++
		return
	}
	class := decision.ClassUnlabeled
	if e, ok := book.Of(d); ok {
		class = decision.ClassFraud
		if e.Class == decision.LabelLegit {
			class = decision.ClassLegit
		}
		c.lag[decision.LagDay(d.EventTime, e.RecordedAt)]++
	}
	t := c.byType[d.Type]
	if t == nil {
		t = new([decision.NumScores]decision.LabelHist)
		c.byType[d.Type] = t
	}
	for s := range decision.NumScores {
		b := decision.Bucket(d.ScoreValue(s))
		c.hist[s][class][b][a]++
		t[s][class][b][a]++
	}
}

func nanosOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// labelFields are what the label counts need of a stored decision, as
// views of the stored value (valid only in its transaction).
type labelFields struct {
	user, event, typ, email, ip []byte
	// scores in decision.Score order: risk, ATO, bot, abuse.
	scores [decision.NumScores]float64
	action int
}

// peek reads the fields of a version-2 or version-3 record (the same up to
// the raw bodies) without copying; false for another version or a record
// that does not decode (the caller decodes it in full, and reports what is
// wrong).
func (f *labelFields) peek(val []byte) bool {
	r := decoder{b: val}
	if v := r.version(decisionV3); v != decisionV2 && v != decisionV3 {
		return false
	}
	f.user = r.view()
	r.varint() // event time: the caller has it
	r.byte1()
	f.event = r.view()
	r.time()
	r.view() // source
	f.typ = r.view()
	r.view() // status
	f.email = r.view()
	f.ip = r.view()
	r.view() // user agent
	r.view() // country
	risk, abuse, ato, bot := r.f64(), r.f64(), r.f64(), r.f64()
	f.scores = [decision.NumScores]float64{decision.ScoreRisk: risk, decision.ScoreATO: ato, decision.ScoreBot: bot, decision.ScoreAbuse: abuse}
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		return false
	}
	for range n {
		r.view()
	}
	r.view() // policy
	f.action = int(r.byte1())
	return r.err == nil && f.action < decision.NumActions
}

// addFields counts one decision read by peek, with event time ev
// (nanoseconds).
func (c *labelCounts) addFields(f *labelFields, ev int64, book *decision.LabelBook) {
	if f.action > 2 {
		c.errors++
		return
	}
	at := time.Unix(0, ev).UTC()
	class := decision.ClassUnlabeled
	if e, ok := book.OfSubjects(f.event, f.user, f.email, f.ip, at); ok {
		class = decision.ClassFraud
		if e.Class == decision.LabelLegit {
			class = decision.ClassLegit
		}
		c.lag[decision.LagDay(at, e.RecordedAt)]++
	}
	t := c.byType[string(f.typ)]
	if t == nil {
		t = new([decision.NumScores]decision.LabelHist)
		c.byType[string(f.typ)] = t
	}
	for s := range decision.NumScores {
		b := decision.Bucket(f.scores[s])
		c.hist[s][class][b][f.action]++
		t[s][class][b][f.action]++
	}
}
