package collector

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/store"
)

var (
	_ Source = (*FileSource)(nil)
	_ Source = (*Server)(nil)
)

// TestIntakeCommit: one commit stores the events, the rejects and the
// checkpoint together, reports which events were new, and keeps every
// book of intake: counters, latest rejections, metrics, the wake-up.
func TestIntakeCommit(t *testing.T) {
	db := openTestStore(t)
	m := NewMetrics(nil)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	notified := 0
	in := testIntake(t, db, "test:a", func(o *IntakeOptions) {
		o.Metrics, o.Now, o.Notify = m, func() time.Time { return now }, func() { notified++ }
	})

	b := in.Batch()
	b.Accept("e1", []byte(`{"type":"$login"}`))
	b.Reject("line 2", safee.ErrNotJSON, []byte("nope"))
	b.Accept("e2", []byte(`{"type":"$login"}`))
	b.Accept("e1", []byte(`{"type":"$login","again":true}`)) // repeated in the batch
	b.Checkpoint(store.Checkpoint{Source: "test:a", FileID: "f", Offset: 10})
	b.Checkpoint(store.Checkpoint{Source: "test:a", FileID: "f", Offset: 40}) // replaces the first
	fresh, err := in.Commit(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fresh, []bool{true, true, false}) {
		t.Fatalf("fresh = %v, want [true true false]", fresh)
	}
	items, err := db.InboxNext(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].EventID != "e1" || items[0].Source != "test:a" || !items[0].ReceivedAt.Equal(now) ||
		string(items[0].Body) != `{"type":"$login"}` || items[1].EventID != "e2" {
		t.Fatalf("inbox = %+v", items)
	}
	rj, err := db.RecentRejected(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rj) != 1 || rj[0].Source != "test:a" || rj[0].Position != "line 2" || rj[0].Reason != safee.ErrNotJSON.Error() ||
		!rj[0].Time.Equal(now) || string(rj[0].Head) != "nope" {
		t.Fatalf("rejected = %+v", rj)
	}
	expectTailCheckpoint(t, db, "test:a", "f", 40)
	if notified != 1 {
		t.Errorf("notified %d times, want 1", notified)
	}

	// Committing again stores nothing new and does not wake the pipeline.
	again := in.Batch()
	again.Accept("e2", []byte(`{"type":"$login"}`))
	again.Reject("line 5", errors.New("odd"), nil)
	if fresh, err := in.Commit(context.Background(), again); err != nil || !slices.Equal(fresh, []bool{false}) {
		t.Fatalf("second commit: %v, %v", fresh, err)
	}
	if notified != 1 {
		t.Errorf("notified %d times after a commit of duplicates, want 1", notified)
	}
	st := in.Stats()
	if st.Name != "test:a" || st.LinesRead != 6 || st.Rejected != 2 ||
		!slices.Equal(st.LastRejects, []string{"line 5: odd", "line 2: " + safee.ErrNotJSON.Error()}) {
		t.Errorf("stats = %+v", st)
	}
	for _, c := range []struct {
		got  float64
		want float64
		name string
	}{
		{testutil.ToFloat64(m.EventsAccepted.WithLabelValues("test:a")), 2, "accepted"},
		{testutil.ToFloat64(m.EventsDuplicate.WithLabelValues("test:a")), 2, "duplicate"},
		{testutil.ToFloat64(m.EventsRejected.WithLabelValues("test:a", "not_json")), 1, "rejected not_json"},
		{testutil.ToFloat64(m.EventsRejected.WithLabelValues("test:a", "other")), 1, "rejected other"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.CommitLatency); n != 1 {
		t.Errorf("commit latency series = %d, want 1 (enqueue)", n)
	}
}

// TestIntakeNothingToWrite: an empty batch is no transaction and no count.
func TestIntakeNothingToWrite(t *testing.T) {
	db := openTestStore(t)
	in := testIntake(t, db, "test:a", nil)
	if fresh, err := in.Commit(context.Background(), in.Batch()); err != nil || fresh != nil {
		t.Fatalf("empty commit: %v, %v", fresh, err)
	}
	if _, ok, _ := in.Checkpoint("test:a"); ok {
		t.Error("an empty batch wrote a checkpoint")
	}
	if st := in.Stats(); st.LinesRead != 0 {
		t.Errorf("stats = %+v", st)
	}
	var none *Intake
	if st := none.Stats(); st.LinesRead != 0 || st.Name != "" {
		t.Errorf("nil intake stats = %+v", st)
	}
}

// TestIntakeFailedCommit: a commit that fails counts nothing, and the same
// batch can be committed again.
func TestIntakeFailedCommit(t *testing.T) {
	db := openTestStore(t)
	in := testIntake(t, db, "test:a", nil)
	b := in.Batch()
	b.Accept("e1", []byte(`{"type":"$login"}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := in.Commit(ctx, b); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "test:a") {
		t.Fatalf("commit with an ended context: %v", err)
	}
	if st := in.Stats(); st.LinesRead != 0 {
		t.Errorf("a failed commit was counted: %+v", st)
	}
	if fresh, err := in.Commit(context.Background(), b); err != nil || len(fresh) != 1 {
		t.Fatalf("commit again: %v, %v", fresh, err)
	}
	other := testIntake(t, db, "test:b", nil)
	if _, err := other.Commit(context.Background(), b); err == nil {
		t.Error("an intake committed another source's batch")
	}
}

func TestIntakeFull(t *testing.T) {
	db := openTestStore(t)
	unlimited := testIntake(t, db, "test:a", nil)
	limited := testIntake(t, db, "test:b", func(o *IntakeOptions) { o.InboxLimit = 2 })
	for i, id := range []string{"e1", "e2"} {
		if full, depth, limit := limited.Full(); full || depth != uint64(i) || limit != 2 {
			t.Fatalf("at depth %d: full %v depth %d limit %d", i, full, depth, limit)
		}
		b := limited.Batch()
		b.Accept(id, []byte(`{"type":"$login"}`))
		if _, err := limited.Commit(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if full, depth, _ := limited.Full(); !full || depth != 2 {
		t.Errorf("at the limit: full %v depth %d", full, depth)
	}
	if full, _, _ := unlimited.Full(); full {
		t.Error("an intake without a limit reports the inbox full")
	}
}

func TestNewIntakeNeedsAStoreAndAName(t *testing.T) {
	if _, err := NewIntake(IntakeOptions{Source: "x"}); err == nil {
		t.Error("no store accepted")
	}
	if _, err := NewIntake(IntakeOptions{DB: openTestStore(t)}); err == nil {
		t.Error("no source name accepted")
	}
}
