package collector

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

const (
	kafkaTopic    = "events"
	kafkaDeadline = 20 * time.Second
)

// newKfake starts an in-process Kafka cluster with the topic seeded with
// partitions partitions, closed at the end of the test.
func newKfake(t testing.TB, partitions int32, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, kafkaTopic),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// kafkaEvents returns n generated events, each with its event_id and the
// user it is about (the record key, so a user's events share a partition).
func kafkaEvents(t testing.TB, seed int64, n int) (values [][]byte, keys []string, ids []string) {
	t.Helper()
	g, err := emulator.NewGenerator("mixed", seed, func() time.Time { return time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		v := g.Next()
		ev, err := safee.ParseEvent(v)
		if err != nil {
			t.Fatalf("generated event: %v", err)
		}
		values, keys, ids = append(values, v), append(keys, ev.UserID), append(ids, ev.EventID)
	}
	return values, keys, ids
}

// produce writes the records to the topic, keyed by keys[i], and waits
// until every one is acknowledged. opts add to the producer's options.
func produce(t testing.TB, brokers []string, values [][]byte, keys []string, opts ...kgo.Opt) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(kafkaTopic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(values))
	for i := range values {
		recs[i] = &kgo.Record{Key: []byte(keys[i]), Value: values[i]}
	}
	ctx, cancel := context.WithTimeout(context.Background(), kafkaDeadline)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// kafkaRun is a KafkaSource running over its own store until stop or the
// end of the test.
type kafkaRun struct {
	*KafkaSource
	db      *store.DB
	in      *Intake
	metrics *Metrics
	stop    func()
}

// startKafka runs a source of the test topic in group over db with test
// timings (a quick heartbeat and session timeout).
func startKafka(t testing.TB, db *store.DB, brokers []string, group string, mod func(*KafkaOptions)) *kafkaRun {
	t.Helper()
	m := NewMetrics(nil)
	o := KafkaOptions{
		Brokers: brokers, Topic: kafkaTopic, Group: group,
		SessionTimeout: 900 * time.Millisecond, Poll: 10 * time.Millisecond, LagInterval: 50 * time.Millisecond, Metrics: m,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if mod != nil {
		mod(&o)
	}
	s := NewKafkaSource(o)
	in := testIntake(t, db, s.Name(), func(io *IntakeOptions) { io.Metrics = m })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, in) }()
	var once sync.Once
	r := &kafkaRun{KafkaSource: s, db: db, in: in, metrics: m}
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("kafka source Run: %v", err)
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// read is how many records the source committed (events and rejects).
func (r *kafkaRun) read() uint64 { return r.Stats().LinesRead }

// duplicates is how many accepted events were already stored: a source
// that reads a record again after its checkpoint counts one.
func (r *kafkaRun) duplicates() float64 {
	return testutil.ToFloat64(r.metrics.EventsDuplicate.WithLabelValues(r.Name()))
}

// inboxIDs returns the event IDs in db's inbox.
func inboxIDs(t testing.TB, db *store.DB) []string {
	t.Helper()
	items, err := db.InboxNext(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.EventID
	}
	return ids
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(kafkaDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", kafkaDeadline, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kafkaCheckpoints returns db's stored offset of each partition.
func kafkaCheckpoints(t testing.TB, db *store.DB, partitions int32) map[int32]int64 {
	t.Helper()
	out := map[int32]int64{}
	for p := range partitions {
		cp, ok, err := db.Checkpoint(fmt.Sprintf("kafka:%s/%d", kafkaTopic, p))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out[p] = cp.Offset
		}
	}
	return out
}

// committedOffsets returns the offsets group committed in Kafka for the
// test topic's partitions.
func committedOffsets(t testing.TB, brokers []string, group string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	ctx, cancel := context.WithTimeout(context.Background(), kafkaDeadline)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int32]int64{}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if tp.Topic == kafkaTopic && p.Offset >= 0 {
				out[p.Partition] = p.Offset
			}
		}
	}
	return out
}
