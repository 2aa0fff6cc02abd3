package store

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// TestLabelWhatIfWithoutLabelsFromRollups: with no label in force, the
// counts of a what-if with labels come from the rollups and equal a scan
// of the decisions, and a recount of them, for whole-minute windows: before
// and after a retention whose cut lies inside a minute (the rollups keep
// the deleted decisions of that minute).
func TestLabelWhatIfWithoutLabelsFromRollups(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, Options{NoSync: true})
	g := newFakeGen(11, 50, 20)
	base := time.Unix(1_700_000_000, 0).UTC().Truncate(time.Minute)
	r := rand.New(rand.NewPCG(3, 5))
	for c := range 8 {
		var rs []Result
		for i := range 500 {
			d := g.decision(c*500 + i)
			d.EventTime = base.Add(time.Duration(r.Int64N(int64(3 * time.Hour))))
			rs = append(rs, Result{Decision: d})
		}
		if _, err := db.Complete(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	windows := [][2]time.Time{
		{},
		{base.Add(17 * time.Minute), time.Time{}},
		{time.Time{}, base.Add(2*time.Hour + 3*time.Minute)},
		{base.Add(40 * time.Minute), base.Add(41 * time.Minute)},
		{base.Add(-time.Hour), base.Add(5 * time.Hour)},
		{base.Add(41 * time.Minute), base.Add(3 * time.Hour)},
	}
	// Each stage asks LabelWhatIf a window of its own: counts are cached
	// for StaleCounts.
	check := func(stage string, from time.Time) {
		t.Helper()
		all, err := db.Range(ctx, RangeQuery{Limit: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range windows {
			var rolled, scanned labelCounts
			err := db.view(func(tx *bolt.Tx) error {
				rolled.byType, scanned.byType = map[string]*[decision.NumScores]decision.LabelHist{}, map[string]*[decision.NumScores]decision.LabelHist{}
				if err := rolled.unlabelled(ctx, tx, w[0], w[1], db.brief()); err != nil {
					return err
				}
				return scanned.scan(ctx, tx, w[0], w[1], nil, &decision.LabelBook{}, db.brief())
			})
			if err != nil {
				t.Fatal(err)
			}
			if rolled.hist != scanned.hist || rolled.errors != scanned.errors || len(rolled.byType) != len(scanned.byType) {
				t.Fatalf("%s, window %v: the rollups count %d errors and %d types, the scan %d and %d, or their histograms differ",
					stage, w, rolled.errors, len(rolled.byType), scanned.errors, len(scanned.byType))
			}
			for typ, h := range scanned.byType {
				if rolled.byType[typ] == nil || *rolled.byType[typ] != *h {
					t.Fatalf("%s, window %v: type %s differs", stage, w, typ)
				}
			}
			var scored, errs uint64
			for _, d := range all.Decisions {
				if d.EventTime.Before(w[0]) || (!w[1].IsZero() && !d.EventTime.Before(w[1])) {
					continue
				}
				if d.Action == decision.ActionError {
					errs++
					continue
				}
				scored++
				if rolled.hist[decision.ScoreBot][decision.ClassUnlabeled][decision.Bucket(d.Bot)][d.Action.Index()] == 0 {
					t.Fatalf("%s, window %v: decision %s not counted", stage, w, d.EventID)
				}
			}
			var n uint64
			for _, b := range rolled.hist[decision.ScoreRisk][decision.ClassUnlabeled] {
				n += b[0] + b[1] + b[2]
			}
			if n != scored || rolled.errors != errs {
				t.Fatalf("%s, window %v: %d scored and %d errors counted, a recount finds %d and %d", stage, w, n, rolled.errors, scored, errs)
			}
		}
		w, err := db.LabelWhatIf(ctx, LabelWhatIfQuery{Thresholds: decision.Thresholds{Score: decision.ScoreATO, Challenge: 30, Deny: 80}, From: from})
		if err != nil {
			t.Fatal(err)
		}
		var scanned labelCounts
		scanned.byType = map[string]*[decision.NumScores]decision.LabelHist{}
		err = db.view(func(tx *bolt.Tx) error {
			return scanned.scan(ctx, tx, from, time.Time{}, nil, &decision.LabelBook{}, db.brief())
		})
		if err != nil || w.Hist != scanned.hist[decision.ScoreATO] {
			t.Fatalf("%s: LabelWhatIf without labels differs from a scan (%v)", stage, err)
		}
	}
	check("before retention", base.Add(10*time.Minute))

	cut := base.Add(40*time.Minute + 17*time.Second)
	if _, err := db.Retain(ctx, cut); err != nil {
		t.Fatal(err)
	}
	// The cut's minute keeps the rollup of the decisions deleted from it:
	// the rollups alone would count them.
	var inRollup, left uint64
	err := db.view(func(tx *bolt.Tx) error {
		m := cut.Truncate(time.Minute).Unix()
		if err := eachRollup(ctx, tx, m, m+minuteSecs, func(_ int64, v []byte) error {
			return walkRollup(v, func(_ []byte, counts *[decision.NumActions]uint64, _ *[decision.NumScores][]byte) error {
				inRollup += counts[0] + counts[1] + counts[2] + counts[3]
				return nil
			})
		}); err != nil {
			return err
		}
		return walkDecisions(ctx, tx, "", evRangeOf(cut.Truncate(time.Minute), cut.Truncate(time.Minute).Add(time.Minute)), func(evKey, []byte) (bool, error) {
			left++
			return true, nil
		})
	})
	if err != nil || left == 0 || inRollup <= left {
		t.Fatalf("the cut's minute: rollup %d, decisions left %d (%v): the test needs some deleted and some kept", inRollup, left, err)
	}
	check("after retention", base.Add(11*time.Minute))
}

// TestLabelFieldsPeekIsTheDecode: the fast read of a scan's fields gives,
// for records of versions 2 and 3, the counts a full decode gives; it
// declines version 4 and records that do not decode, which the scan then
// decodes in full.
func TestLabelFieldsPeekIsTheDecode(t *testing.T) {
	g := newFakeGen(5, 30, 10)
	book := &decision.LabelBook{}
	book.Add(manual(decision.SubjectUser, "user-3", decision.LabelFraud))
	book.Add(manual(decision.SubjectIP, "10.0.0.4", decision.LabelLegit))
	book.Add(manual(decision.SubjectEvent, "ev-17", decision.LabelFraud))
	raw := trainedCodec(t, g, 50)
	peeked, decoded := labelCounts{byType: map[string]*[decision.NumScores]decision.LabelHist{}}, labelCounts{byType: map[string]*[decision.NumScores]decision.LabelHist{}}
	var f labelFields
	for i := range 400 {
		d := g.decision(i)
		d.Time = time.Unix(1_700_000_000+int64(i), 0).UTC()
		d.EventTime = d.Time.Add(-time.Duration(i%7) * time.Second)
		k := makeDecKey(d.Time.UnixNano(), uint64(i))
		for _, rec := range [][]byte{encodeDecisionV2(&d), encodeDecisionV3(nil, &d, raw)} {
			if !f.peek(rec) {
				t.Fatalf("decision %d: version %d declined", i, rec[0])
			}
			peeked.addFields(&f, d.EventTime.UnixNano(), book)
			var got decision.Decision
			if err := decodeDecision(k[:], rec, &got, recCodec{}); err != nil {
				t.Fatal(err)
			}
			decoded.add(&got, book)
		}
	}
	if peeked.hist != decoded.hist || peeked.errors != decoded.errors || peeked.lag != decoded.lag || len(peeked.byType) != len(decoded.byType) {
		t.Fatalf("peeked counts differ from decoded ones: errors %d vs %d", peeked.errors, decoded.errors)
	}
	var labelled uint64
	for _, n := range decoded.lag {
		labelled += n
	}
	if labelled == 0 || decoded.errors == 0 {
		t.Fatalf("the case needs labelled and error decisions: %d labelled, %d errors", labelled, decoded.errors)
	}
	d := g.decision(400)
	strs := newStrTab(nil)
	for _, rec := range [][]byte{encodeDecision(nil, &d, nil, strs), {}, {decisionV3}, encodeDecisionV3(nil, &d, nil)[:20]} {
		if f.peek(rec) {
			t.Errorf("record %x peeked", rec)
		}
	}
}
