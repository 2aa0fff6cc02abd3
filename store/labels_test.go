package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

func manual(k decision.SubjectKind, v string, c decision.LabelClass) decision.LabelEntry {
	return decision.LabelEntry{Kind: k, Subject: v, Class: c, Reason: "test", Source: decision.SourceManual, Author: "t"}
}

func TestLabelLedger(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	tick := func() { mu.Lock(); clock = clock.Add(time.Hour); mu.Unlock() }
	db := openTest(t, Options{NoSync: true, Now: now})
	if _, err := db.Complete(ctx, []Result{{Decision: decision.Decision{EventID: "e1", UserID: "u1", Email: "a@x.io", IP: "10.0.0.1", Action: decision.ActionAllow, ReceivedAt: clock}}}); err != nil {
		t.Fatal(err)
	}
	t0 := now()
	if _, err := db.AppendLabels(ctx, []decision.LabelEntry{manual(decision.SubjectUser, "u1", decision.LabelFraud)}); err != nil {
		t.Fatal(err)
	}
	tick()
	t1 := now()
	if _, err := db.AppendLabels(ctx, []decision.LabelEntry{manual(decision.SubjectUser, "u1", decision.LabelRetract)}); err != nil {
		t.Fatal(err)
	}
	tick()
	t2 := now()
	// A batch with one bad entry records nothing.
	bad := manual(decision.SubjectUser, "", decision.LabelFraud)
	if _, err := db.AppendLabels(ctx, []decision.LabelEntry{manual(decision.SubjectIP, "10.0.0.1", decision.LabelLegit), bad}); err == nil {
		t.Fatal("a batch with an empty subject was recorded")
	}
	got, err := db.AppendLabels(ctx, []decision.LabelEntry{manual(decision.SubjectIP, "::ffff:10.0.0.1", decision.LabelLegit)})
	if err != nil || got[0].Seq != 3 || got[0].Subject != "10.0.0.1" || !got[0].RecordedAt.Equal(t2) {
		t.Fatalf("third entry: %+v, %v", got, err)
	}
	d, _ := db.Latest(ctx, nil, 1, "")
	for _, c := range []struct {
		asOf time.Time
		kind decision.SubjectKind
		ok   bool
	}{
		{t0, "", false}, // nothing recorded before t0
		{t0.Add(time.Minute), decision.SubjectUser, true}, // the user's fraud label
		{t1.Add(time.Minute), "", false},                  // retracted
		{time.Time{}, decision.SubjectIP, true},           // now: the IP's legit label
	} {
		book, err := db.LabelBook(ctx, c.asOf)
		if err != nil {
			t.Fatal(err)
		}
		e, ok := book.Of(&d[0])
		if ok != c.ok || e.Kind != c.kind {
			t.Errorf("as of %v: %+v %v, want %q %v", c.asOf, e, ok, c.kind, c.ok)
		}
	}
	h, err := db.LabelHistory(ctx, decision.SubjectUser, "u1")
	if err != nil || len(h) != 2 || h[0].Class != decision.LabelFraud || h[1].Class != decision.LabelRetract {
		t.Fatalf("history of u1: %+v, %v", h, err)
	}
	for _, c := range []struct {
		k    decision.SubjectKind
		v    string
		want bool
	}{
		{decision.SubjectEvent, "e1", true}, {decision.SubjectEvent, "e2", false},
		{decision.SubjectUser, "u1", true}, {decision.SubjectUser, "u2", false},
		{decision.SubjectIP, "::ffff:10.0.0.1", true}, {decision.SubjectIP, "10.0.0.2", false},
		{decision.SubjectEmail, "A@X.io", true}, {decision.SubjectEmail, "b@x.io", false},
	} {
		if ok, err := db.SubjectKnown(ctx, c.k, c.v); err != nil || ok != c.want {
			t.Errorf("SubjectKnown(%s %s) = %v, %v", c.k, c.v, ok, err)
		}
	}
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if es, err := ro.LabelEntries(ctx); err != nil || len(es) != 3 {
		t.Fatalf("entries after reopening: %d, %v", len(es), err)
	}
	if _, err := ro.AppendLabels(ctx, []decision.LabelEntry{manual(decision.SubjectUser, "u1", decision.LabelFraud)}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only append: %v", err)
	}
}

func TestLabelLedgerReadOnlyWithoutBuckets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bktLabels); err != nil {
			return err
		}
		return tx.DeleteBucket(bktLabelSubjects)
	})
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("a file from before the ledger must open read-only: %v", err)
	}
	defer ro.Close()
	ctx := context.Background()
	if es, err := ro.LabelEntries(ctx); err != nil || len(es) != 0 {
		t.Errorf("entries: %v, %v", es, err)
	}
	if h, err := ro.LabelHistory(ctx, decision.SubjectUser, "u"); err != nil || len(h) != 0 {
		t.Errorf("history: %v, %v", h, err)
	}
}

func TestLabelLedgerConcurrentWriters(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		d := decision.Decision{UserID: "u0-0"}
		for {
			select {
			case <-stop:
				return
			default:
			}
			book, err := db.LabelBook(ctx, time.Time{})
			if err != nil {
				t.Error(err)
				return
			}
			book.Of(&d)
		}
	})
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				e := manual(decision.SubjectUser, fmt.Sprintf("u%d-%d", w, i), decision.LabelFraud)
				if _, err := db.AppendLabels(ctx, []decision.LabelEntry{e, e}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	es, err := db.LabelEntries(ctx)
	if err != nil || len(es) != 400 {
		t.Fatalf("%d entries, %v", len(es), err)
	}
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		if i%2 == 1 && es[i-1].Subject != e.Subject {
			t.Fatalf("a batch was split: %q then %q", es[i-1].Subject, e.Subject)
		}
	}
}

// bruteLabelOf reads the ledger as SPEC section 12 says, for one decision.
func bruteLabelOf(entries []decision.LabelEntry, d *decision.Decision, asOf time.Time) (decision.LabelEntry, bool) {
	for _, k := range decision.SubjectKinds {
		v := decision.SubjectOf(d, k)
		if v == "" {
			continue
		}
		var last *decision.LabelEntry
		for i := range entries {
			if e := &entries[i]; e.Kind == k && e.Subject == v && (asOf.IsZero() || e.RecordedAt.Before(asOf)) {
				last = e
			}
		}
		if last != nil && last.Class != decision.LabelRetract && (last.AppliesFrom.IsZero() || !d.EventTime.Before(last.AppliesFrom)) {
			return *last, true
		}
	}
	return decision.LabelEntry{}, false
}

func TestLabelWhatIfAgainstBruteForce(t *testing.T) {
	ctx := context.Background()
	clock := time.Unix(1_700_100_000, 0).UTC()
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Second); return clock }
	db := openTest(t, Options{NoSync: true, Now: now})
	g := newFakeGen(7, 40, 12)
	var rs []Result
	for i := range 3000 {
		rs = append(rs, Result{Decision: g.decision(i)})
	}
	if _, err := db.Complete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	var labels []decision.LabelEntry
	for i := range 60 {
		e := manual(decision.SubjectEvent, fmt.Sprintf("ev-%d", i*37), []decision.LabelClass{decision.LabelFraud, decision.LabelLegit}[i%2])
		labels = append(labels, e)
	}
	for u := range 15 {
		e := manual(decision.SubjectUser, fmt.Sprintf("user-%d", u), []decision.LabelClass{decision.LabelFraud, decision.LabelLegit, decision.LabelRetract}[u%3])
		if u%4 == 0 {
			e.AppliesFrom = time.Unix(1_700_000_000+1500, 0)
		}
		labels = append(labels, e)
	}
	for ip := range 5 {
		labels = append(labels, manual(decision.SubjectIP, fmt.Sprintf("10.0.0.%d", ip), decision.LabelFraud))
	}
	if _, err := db.AppendLabels(ctx, labels[:40]); err != nil {
		t.Fatal(err)
	}
	mid := now()
	if _, err := db.AppendLabels(ctx, labels[40:]); err != nil {
		t.Fatal(err)
	}
	entries, _ := db.LabelEntries(ctx)
	all, err := db.Range(ctx, RangeQuery{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	filter, err := decision.ParseFilter("-type:$custom", now())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		th     decision.Thresholds
		asOf   time.Time
		from   time.Time
		to     time.Time
		filter *decision.Filter
	}{
		{th: decision.Thresholds{Score: decision.ScoreRisk, Challenge: 60, Deny: 90}},
		{th: decision.Thresholds{Score: decision.ScoreRisk, Challenge: 30, Deny: 70}, asOf: mid},
		{th: decision.Thresholds{Score: decision.ScoreBot, Challenge: 50, Deny: 50}, from: time.Unix(1_700_001_000, 0)},
		{th: decision.Thresholds{Score: decision.ScoreATO, Challenge: 10.5, Deny: 99}, filter: filter},
		// A short window reads through the time index.
		{th: decision.Thresholds{Score: decision.ScoreRisk, Challenge: 40, Deny: 60}, from: time.Unix(1_700_000_500, 0), to: time.Unix(1_700_002_500, 0)},
	} {
		text := ""
		if c.filter != nil {
			text = "-type:$custom"
		}
		w, err := db.LabelWhatIf(ctx, LabelWhatIfQuery{Thresholds: c.th, From: c.from, To: c.to, AsOf: c.asOf, Filter: c.filter, FilterText: text})
		if err != nil {
			t.Fatal(err)
		}
		r := w.Report()
		var matrix [3][3]uint64
		var sim, today decision.ClassCounts
		var unl uint64
		var curveTP, curveFP [101]uint64
		for i := range all.Decisions {
			d := &all.Decisions[i]
			if d.Action == decision.ActionError || d.EventTime.Before(c.from) || (!c.to.IsZero() && !d.EventTime.Before(c.to)) || (c.filter != nil && !c.filter.Match(d)) {
				continue
			}
			a, s := d.Action.Index(), c.th.Of(d).Index()
			matrix[a][s]++
			e, ok := bruteLabelOf(entries, d, c.asOf)
			if !ok {
				unl++
				continue
			}
			cl := decision.ClassFraud
			if e.Class == decision.LabelLegit {
				cl = decision.ClassLegit
			}
			sim[cl][s]++
			today[cl][a]++
			for th := range 101 {
				if decision.Bucket(d.ScoreValue(c.th.Score)) >= th {
					if cl == decision.ClassFraud {
						curveTP[th]++
					} else {
						curveFP[th]++
					}
				}
			}
		}
		if r.Matrix != matrix || r.Simulated.Labels != sim || r.Today.Labels != today || r.Unlabeled != unl {
			t.Fatalf("%+v: got matrix %v labels %v today %v unlabeled %d; want %v %v %v %d", c.th, r.Matrix, r.Simulated.Labels, r.Today.Labels, r.Unlabeled, matrix, sim, today, unl)
		}
		if sim[0][2]+sim[1][2] == 0 || sim[0] == (decision.ByAction{}) || sim[1] == (decision.ByAction{}) {
			t.Fatalf("%+v: the case labels too little to test: %v", c.th, sim)
		}
		f, l := sim[decision.ClassFraud], sim[decision.ClassLegit]
		wantP := float64(f[2]) / float64(f[2]+l[2])
		wantR := float64(f[2]) / float64(f[0]+f[1]+f[2])
		wantFPR := float64(l[2]) / float64(l[0]+l[1]+l[2])
		m := r.Simulated.Metrics.Deny
		if math.Abs(m.Precision-wantP) > 1e-12 || math.Abs(m.Recall-wantR) > 1e-12 || math.Abs(m.FPR-wantFPR) > 1e-12 {
			t.Errorf("%+v: deny metrics %+v, want p %v r %v fpr %v", c.th, m, wantP, wantR, wantFPR)
		}
		cod := r.Simulated.Metrics.ChallengeOrDeny
		if want := float64(f[1]+f[2]) / float64(f[0]+f[1]+f[2]); math.Abs(cod.Recall-want) > 1e-12 {
			t.Errorf("%+v: challenge-or-deny recall %v, want %v", c.th, cod.Recall, want)
		}
		for th := range 101 {
			p := r.Curve[th]
			fraud := float64(f[0] + f[1] + f[2])
			if p.Denied != curveTP[th]+curveFP[th] || math.Abs(p.Recall-float64(curveTP[th])/fraud) > 1e-12 {
				t.Fatalf("%+v: curve at %d: %+v, want tp %d fp %d", c.th, th, p, curveTP[th], curveFP[th])
			}
		}
		var typeSum decision.ClassCounts
		for _, tr := range r.ByType {
			for cl := range 2 {
				for a := range 3 {
					typeSum[cl][a] += tr.Simulated.Labels[cl][a]
				}
			}
		}
		if typeSum != sim {
			t.Errorf("%+v: per-type labels add up to %v, want %v", c.th, typeSum, sim)
		}
	}
}

// The counts of a what-if with labels are kept while only decisions
// arrive, for StaleCounts; a new label counts at once.
func TestLabelWhatIfStaleCounts(t *testing.T) {
	ctx := context.Background()
	clock := time.Unix(1_700_100_000, 0).UTC()
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	db := openTest(t, Options{NoSync: true, Now: now})
	add := func(id string) {
		d := decision.Decision{EventID: id, UserID: "u1", Type: "$login", Action: decision.ActionDeny, Risk: 95, ReceivedAt: now()}
		if _, err := db.Complete(ctx, []Result{{Decision: d}}); err != nil {
			t.Fatal(err)
		}
	}
	scored := func() uint64 {
		w, err := db.LabelWhatIf(ctx, LabelWhatIfQuery{Thresholds: decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 90}})
		if err != nil {
			t.Fatal(err)
		}
		r := w.Report()
		return r.Unlabeled + r.LagCount
	}
	add("e1")
	if n := scored(); n != 1 {
		t.Fatalf("%d decisions counted, want 1", n)
	}
	add("e2")
	if n := scored(); n != 1 {
		t.Fatalf("%d decisions counted right after a write, want the kept 1", n)
	}
	if _, err := db.AppendLabels(ctx, []decision.LabelEntry{manual(decision.SubjectUser, "u1", decision.LabelFraud)}); err != nil {
		t.Fatal(err)
	}
	if n := scored(); n != 2 {
		t.Fatalf("%d decisions counted after a label, want 2", n)
	}
	add("e3")
	mu.Lock()
	clock = clock.Add(StaleCounts)
	mu.Unlock()
	if n := scored(); n != 3 {
		t.Fatalf("%d decisions counted after StaleCounts, want 3", n)
	}
}
