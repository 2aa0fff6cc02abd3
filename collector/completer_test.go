package collector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/riskwatch/riskwatch/decision"
)

// TestCompleterGroupsWaitingDecisions hands the completer 2500 decisions
// in slices of 7 (as the dispatcher hands them), all waiting before it
// starts: it commits them in three groups, the first two of about
// completeGroup decisions, and stores each decision once.
func TestCompleterGroupsWaitingDecisions(t *testing.T) {
	db := openTestStore(t)
	m := NewMetrics(nil)
	p := NewPipeline(PipelineOptions{DB: db, Metrics: m})
	const n, slice = 2500, 7
	done := make(chan []completion, n)
	slots := make(chan struct{}, n)
	var cs []completion
	for i := range n {
		slots <- struct{}{}
		cs = append(cs, completion{d: decision.Decision{
			EventID: fmt.Sprintf("ev-%05d", i), ReceivedAt: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC),
			Type: "$login", Action: decision.ActionAllow, UserID: fmt.Sprintf("u%d", i%50),
		}})
		if len(cs) == slice || i == n-1 {
			done <- cs
			cs = nil
		}
	}
	close(done)
	p.completer(context.Background(), done, slots)

	if len(slots) != 0 {
		t.Errorf("%d slots not given back", len(slots))
	}
	var out dto.Metric
	if err := m.CommitLatency.WithLabelValues("complete").(prometheus.Histogram).Write(&out); err != nil {
		t.Fatal(err)
	}
	if got := out.GetHistogram().GetSampleCount(); got != 3 {
		t.Errorf("%d commits for %d waiting decisions, want 3 (groups of about %d)", got, n, completeGroup)
	}
	info, err := db.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Decisions != n {
		t.Errorf("%d decisions stored, want %d", info.Decisions, n)
	}
}
