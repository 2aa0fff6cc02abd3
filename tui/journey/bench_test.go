package journey

import (
	"context"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/collector/collectortest"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// BenchmarkOpen measures opening a journey of 1,000 events on a store of
// 1M decisions: the Journey read through the user index, deriving the rows
// (devices, gaps, changes, the chain), taking the answer and the frame
// (SPEC section 8: < 10 ms). "users" is the list's first read, the first
// UsersPage of 50,000 users by max risk, for comparison.
func BenchmarkOpen(b *testing.B) {
	db, end := collectortest.BigStore(b)
	c := common.New(context.Background(), collector.NewStoreReader(db, func() time.Time { return end }), func() time.Time { return end })
	b.Run("journey", func(b *testing.B) {
		m := New(c)
		m.SetSize(200, 50)
		for b.Loop() {
			m.tl = newTLState()
			m.tl.table.SetWidth(m.width)
			read := m.Open(collectortest.BigJourneyUser)
			m, _ = m.Update(read())
			if m.tl.count() != 1000 {
				b.Fatalf("%d events", m.tl.count())
			}
			_ = m.View()
		}
	})
	b.Run("frame", func(b *testing.B) {
		m := New(c)
		m.SetSize(200, 50)
		m, _ = m.Update(m.Open(collectortest.BigJourneyUser)())
		for b.Loop() {
			_ = m.View()
		}
	})
	b.Run("users", func(b *testing.B) {
		m := New(c)
		m.SetSize(200, 50)
		for b.Loop() {
			m.list.sort = decision.SortMaxRisk
			m, _ = m.Update(m.loadUsers(false)())
			if len(m.list.users) != UsersPage {
				b.Fatalf("%d users", len(m.list.users))
			}
			_ = m.View()
		}
	})
}
