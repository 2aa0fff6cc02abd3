package live

import (
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// batchOf returns n decisions numbered from first, stored 1 ms apart
// ending at Now, as the hub would deliver them.
func batchOf(first, n int) []decision.Decision {
	ds := make([]decision.Decision, n)
	for k := range ds {
		ds[k] = fixture.Decision(first+k, fixture.Now().Add(-time.Duration(n-k)*time.Millisecond))
	}
	return ds
}

// fullView returns a loaded Live view at w x h whose ring is full
// (DefaultRingSize rows).
func fullView(b *testing.B, w, h int) *harness {
	b.Helper()
	hs := newHarness(b, 0, 0, w, h)
	hs.send(common.BatchMsg{Batch: api.Batch{Decisions: batchOf(1, DefaultRingSize)}})
	if hs.m.rows.Len() != DefaultRingSize {
		b.Fatalf("ring holds %d", hs.m.rows.Len())
	}
	return hs
}

// BenchmarkViewFullRing is one frame of the Live view at 200x50 with
// 10,000 rows held (the header cached, as between two seconds).
func BenchmarkViewFullRing(b *testing.B) {
	hs := fullView(b, 200, 50)
	b.ReportAllocs()
	for b.Loop() {
		_ = hs.m.View()
	}
}

// BenchmarkViewFullRingHeader is the same frame with the rates header
// drawn again (the first frame of each second).
func BenchmarkViewFullRingHeader(b *testing.B) {
	hs := fullView(b, 200, 50)
	b.ReportAllocs()
	for b.Loop() {
		hs.m.header.text = ""
		_ = hs.m.View()
	}
}

// BenchmarkUpdateBatch500 is one subscription batch of 500 decisions
// (5,000 events/s arrive as ~10 such batches a second) into a full ring.
func BenchmarkUpdateBatch500(b *testing.B) {
	benchBatch(b, "")
}

// BenchmarkUpdateBatch500Filtered is the same with a filter to match.
func BenchmarkUpdateBatch500Filtered(b *testing.B) {
	benchBatch(b, "action:deny risk>=60 -ip:10.0.0.0/8")
}

func benchBatch(b *testing.B, filter string) {
	hs := fullView(b, 200, 50)
	if filter != "" {
		hs.run(hs.m.applyFilter(filter))
	}
	msg := common.BatchMsg{Batch: api.Batch{Decisions: batchOf(DefaultRingSize+1, 500)}}
	b.ReportAllocs()
	for b.Loop() {
		hs.m, _ = hs.m.Update(msg)
	}
}
