package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
	"github.com/riskwatch/riskwatch/tui/live"
)

// fullDashboard returns a loaded dashboard at 200x50 whose Live view holds
// a full ring, and a batch of 500 new decisions.
func fullDashboard(b *testing.B) (*Model, subBatchMsg) {
	b.Helper()
	_, m, _ := start(b, 200, 50)
	ds := make([]decision.Decision, live.DefaultRingSize)
	for k := range ds {
		ds[k] = fixture.Decision(stored+1+k, fixture.Now().Add(-time.Duration(len(ds)-k)*time.Millisecond))
	}
	m.Update(subBatchMsg{batch: api.Batch{Decisions: ds}})
	if m.live.Len() != live.DefaultRingSize {
		b.Fatalf("ring holds %d", m.live.Len())
	}
	return m, subBatchMsg{batch: api.Batch{Decisions: ds[:500]}}
}

// BenchmarkFrame is one whole screen (tab bar, Live view, status and help
// lines) at 200x50 with a full ring: SPEC target < 5 ms.
func BenchmarkFrame(b *testing.B) {
	m, _ := fullDashboard(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkKeyToFrame is a key press handled and the next frame drawn:
// moving the selection in a full ring.
func BenchmarkKeyToFrame(b *testing.B) {
	m, _ := fullDashboard(b)
	up, down := fixture.KeyPress("k"), fixture.KeyPress("j")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := up
		if i%2 == 1 {
			k = down
		}
		i++
		m.Update(k)
		_ = m.View()
	}
}

// BenchmarkKeyToFrameUnderLoad is the worst case at 5,000 events/s: a
// batch of 500 is handled just before the key, then the frame is drawn.
// SPEC target: key press to frame < 50 ms.
func BenchmarkKeyToFrameUnderLoad(b *testing.B) {
	m, batch := fullDashboard(b)
	keys := []tea.KeyPressMsg{fixture.KeyPress("space"), fixture.KeyPress("space")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Update(batch)
		m.Update(keys[i%2])
		i++
		_ = m.View()
	}
}
