package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
)

var labelFixture struct {
	once sync.Once
	err  error
}

// labelBenchStore labels about 100k of the 1M fixture's decisions: 4,500
// of its 50,000 users (20 decisions each), 10,000 events and 50 IPs, a
// third of them legit.
func labelBenchStore(b *testing.B) string {
	path, _ := benchStore(b)
	labelFixture.once.Do(func() {
		db, err := Open(path, Options{NoSync: true})
		if err != nil {
			labelFixture.err = err
			return
		}
		defer db.Close()
		var es []decision.LabelEntry
		class := func(i int) decision.LabelClass {
			if i%3 == 0 {
				return decision.LabelLegit
			}
			return decision.LabelFraud
		}
		for u := range 4500 {
			es = append(es, decision.LabelEntry{Kind: decision.SubjectUser, Subject: fmt.Sprintf("user-%d", u*11), Class: class(u), Source: decision.SourceImport})
		}
		for e := range 10_000 {
			es = append(es, decision.LabelEntry{Kind: decision.SubjectEvent, Subject: fmt.Sprintf("ev-%d", e*97), Class: class(e + 1), Source: decision.SourceImport})
		}
		for ip := range 50 {
			es = append(es, decision.LabelEntry{Kind: decision.SubjectIP, Subject: fmt.Sprintf("10.0.%d.%d", ip/256, ip%256), Class: decision.LabelFraud, Source: decision.SourceRule})
		}
		_, labelFixture.err = db.AppendLabels(context.Background(), es)
	})
	if labelFixture.err != nil {
		b.Fatal(labelFixture.err)
	}
	return path
}

// BenchmarkLabelWhatIf measures the what-if with labels on the 1M store
// with about 100k labelled decisions (SPEC section 16: any threshold
// < 50 ms, the curve over 101 thresholds in the same budget). "threshold"
// moves the thresholds (and the score) each time, as the What-if view's
// keys do: the report with its matrices, metrics and 101-point curve from
// the counts of the first scan. "scan" is the first ask after the ledger
// changed: a full scan of the window.
func BenchmarkLabelWhatIf(b *testing.B) {
	path := labelBenchStore(b)
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	q := LabelWhatIfQuery{Thresholds: decision.Thresholds{Score: decision.ScoreRisk, Challenge: 60, Deny: 90}}
	w, err := db.LabelWhatIf(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	r := w.Report()
	labelled := r.LagCount
	b.Logf("%d labelled decisions, %d unlabelled", labelled, r.Unlabeled)
	b.Run("threshold", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			q.Thresholds = decision.Thresholds{Score: decision.Score(i % 4), Challenge: float64(i % 50), Deny: float64(i % 101)}
			w, err := db.LabelWhatIf(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			if r := w.Report(); r.LagCount != labelled {
				b.Fatalf("labelled %d, want %d", r.LagCount, labelled)
			}
		}
		b.ReportMetric(float64(labelled), "labelled")
	})
	b.Run("scan", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			e := decision.LabelEntry{Kind: decision.SubjectUser, Subject: fmt.Sprintf("bench-%d", i), Class: decision.LabelFraud, Source: decision.SourceManual}
			if _, err := db.AppendLabels(ctx, []decision.LabelEntry{e}); err != nil {
				b.Fatal(err)
			}
			if _, err := db.LabelWhatIf(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}
