package hist

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/collector/collectortest"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// BenchmarkSwitch measures a score switch on a store of 1M decisions: the
// key, the two Histogram reads (the window and the one before it) from
// the rollups, taking the answer, and the frame (SPEC section 8: a 24h
// histogram < 10 ms).
func BenchmarkSwitch(b *testing.B) {
	db, end := collectortest.BigStore(b)
	c := common.New(context.Background(), collector.NewStoreReader(db, func() time.Time { return end }), func() time.Time { return end })
	keys := []string{"t", "b", "a", "r"}
	for _, win := range []int{1, 2, 3} {
		b.Run(common.Windows[win].Label, func(b *testing.B) {
			m := New(c)
			m.SetSize(200, 50)
			m.win = win
			i := 0
			for b.Loop() {
				var read tea.Cmd
				m, read = m.Update(fixture.Press(keys[i%len(keys)]))
				i++
				m, _ = m.Update(read())
				if m.data == nil || m.data.failed || m.data.cur.Total == 0 {
					b.Fatalf("no histogram: %+v", m.data)
				}
				_ = m.View()
			}
		})
	}
	b.Run("frame", func(b *testing.B) {
		m := New(c)
		m.SetSize(200, 50)
		m, _ = m.Update(m.load()())
		i := 0
		for b.Loop() {
			m.sel = (i % 50) * 2 // a new frame each time
			i++
			_ = m.View()
		}
	})
}
