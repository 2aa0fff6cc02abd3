package collector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// Today's policy, as the dashboard fits it from the store's histogram,
// recovers exactly the thresholds the stored actions came from; for a
// policy that is no threshold pair, it reports the agreement a recount of
// the stored decisions gives.
func TestFitFromAStore(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	known := decision.Thresholds{Score: decision.ScoreRisk, Challenge: 48, Deny: 71}
	for name, act := range map[string]func(d *decision.Decision) decision.Action{
		"thresholds 48/71": known.Of,
		"a deny band": func(d *decision.Decision) decision.Action {
			switch {
			case d.Risk >= 30 && d.Risk < 45:
				return decision.ActionDeny
			case d.Risk >= 45:
				return decision.ActionChallenge
			}
			return decision.ActionAllow
		},
	} {
		t.Run(name, func(t *testing.T) {
			db := newTailStore(t)
			var rs []store.Result
			for i := range 2000 {
				d := decision.Decision{
					EventID: fmt.Sprintf("fit-%d", i), Source: "test", ReceivedAt: time.Now(), Type: "$login",
					UserID: fmt.Sprintf("u%d", i%50), Risk: float64(r.IntN(10001)) / 100, Policy: "p",
				}
				if i <= 100 {
					d.Risk = float64(i) // every whole point at least once
				}
				d.Action = act(&d)
				rs = append(rs, store.Result{Decision: d})
			}
			stored, err := db.Complete(context.Background(), rs)
			if err != nil {
				t.Fatal(err)
			}
			h, err := NewStoreReader(db, nil).Histogram(context.Background(), api.HistogramQuery{Score: decision.ScoreRisk})
			if err != nil {
				t.Fatal(err)
			}
			fit := decision.FitThresholds(&h)
			var agree uint64
			for i := range stored {
				if fit.Thresholds.Of(&stored[i]) == stored[i].Action {
					agree++
				}
			}
			if fit.Agree != agree || fit.Total != uint64(len(stored)) {
				t.Errorf("fit %+v reproduces %d of %d by its count, %d of %d by a recount",
					fit.Thresholds, fit.Agree, fit.Total, agree, len(stored))
			}
			if name == "thresholds 48/71" && (fit.Thresholds != known || fit.Agree != fit.Total) {
				t.Errorf("fit %+v (%d of %d), want exactly %+v reproducing all", fit.Thresholds, fit.Agree, fit.Total, known)
			}
		})
	}
}
