package whatif

import (
	"context"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/collector/collectortest"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// BenchmarkRecompute measures what a threshold key press costs on a store
// of 1M decisions: moving deny, the WhatIf read from the rollups, taking
// the answer and the frame (SPEC section 8: < 10 ms), over all history and
// over 24 hours. "flips" is the list read that follows (a scan of the
// newest decisions until 200 would change), which runs beside it.
func BenchmarkRecompute(b *testing.B) {
	db, end := collectortest.BigStore(b)
	c := common.New(context.Background(), collector.NewStoreReader(db, func() time.Time { return end }), func() time.Time { return end })
	policy := decision.Thresholds{Challenge: 60, Deny: 90} // the store's own
	for _, win := range []int{3, 2} {
		b.Run(common.Windows[win].Label, func(b *testing.B) {
			m := New(c, nil)
			m.SetSize(200, 50)
			m.th, m.win = policy, win
			m, _ = m.Update(m.loadFlips(false)())
			i := 0
			for b.Loop() {
				delta := 1.0
				if i%2 == 1 {
					delta = -1
				}
				i++
				m.th = Move(m.th, Deny, delta)
				m, _ = m.Update(m.loadWhatIf(false)())
				if m.wi == nil || m.wi.q.th != m.th {
					b.Fatal("no matrix")
				}
				_ = m.View()
			}
		})
	}
	b.Run("flips", func(b *testing.B) {
		m := New(c, nil)
		m.SetSize(200, 50)
		m.th = Move(policy, Deny, -1)
		for b.Loop() {
			m, _ = m.Update(m.loadFlips(false)())
			if len(m.flips) != FlipsPage {
				b.Fatalf("%d flips", len(m.flips))
			}
		}
	})
}
