package collector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/internal/backoff"
	"github.com/riskwatch/riskwatch/store"
)

// Defaults for KafkaOptions left zero.
const (
	DefaultKafkaPoll           = 250 * time.Millisecond
	DefaultKafkaSessionTimeout = 45 * time.Second
	DefaultKafkaLagInterval    = 2 * time.Second
	// kafkaBatchRecords bounds the records of one poll, so of one commit.
	kafkaBatchRecords = 1000
	// kafkaCloseTimeout bounds the final offset commit and the group leave
	// when the source stops (the brokers may be gone).
	kafkaCloseTimeout = 5 * time.Second
)

// KafkaOptions configures a KafkaSource.
type KafkaOptions struct {
	// Brokers are the seed brokers, HOST:PORT.
	Brokers []string
	// Topic is the topic consumed; Group the consumer group.
	Topic, Group string
	// InstanceID, if set, makes the source a static member of the group: a
	// restarted collector with the same ID takes its partitions back at
	// once instead of after the session timeout. (A static member does not
	// leave the group when it stops: its partitions wait for it, or for the
	// session timeout, whichever comes first.)
	InstanceID string
	// SessionTimeout is how long the group waits for a silent member
	// before giving its partitions to others (default
	// DefaultKafkaSessionTimeout). Heartbeats go every third of it, at most
	// every 3 s.
	SessionTimeout time.Duration
	// TLS, if set, connects with TLS; SASL, if set, authenticates.
	TLS  *tls.Config
	SASL sasl.Mechanism
	// MaxRecord is the largest usable record value in bytes (default
	// DefaultFileMaxLine, the file source's line limit). Larger ones are
	// rejected.
	MaxRecord int
	// Poll is the wait before polling again after a failed poll or commit,
	// or while the inbox is full (default DefaultKafkaPoll).
	Poll time.Duration
	// LagInterval is how often the assigned partitions' high watermarks
	// are asked for, so that the lag shows while nothing is fetched (the
	// inbox full, the partition idle) (default DefaultKafkaLagInterval).
	LagInterval time.Duration
	Logger      *slog.Logger
	// Metrics receive the per-partition lag and offsets (default: metrics
	// of its own, unregistered). The collector passes its own.
	Metrics *Metrics
}

// KafkaSource consumes one topic as a member of a consumer group. Each
// record's value is one event, parsed like a line of a tailed file.
//
// Guarantees: the records of each partition are stored in order, each
// exactly once, as an inbox event or a rejected record (position
// "TOPIC/PARTITION@OFFSET"), together with the partition's checkpoint (the
// offset after the record, under "kafka:TOPIC/PARTITION") in the same
// transaction. When the group assigns it a partition, the source starts at
// the later of its own checkpoint and the offset the group committed in
// Kafka (which another collector may have advanced); with neither it starts
// at the partition's beginning. Rebalances wait while a poll is being
// stored; a revoked partition's stored offset is committed to Kafka
// synchronously before another member may take it, so two collectors that
// hand partitions to each other store disjoint shares. Offsets are also
// committed to Kafka asynchronously after each stored batch, so that the
// usual tools see the group's lag. What a collector killed with SIGKILL
// stored after its last Kafka commit is read again by whichever member gets
// its partitions: the same collector skips it (its checkpoint is ahead),
// another one stores it too.
//
// Event IDs are the event's own event_id, or "kafka:TOPIC/PARTITION@OFFSET".
type KafkaSource struct {
	o      KafkaOptions
	source string
	log    *slog.Logger

	in atomic.Pointer[Intake]

	mu    sync.Mutex
	state string
	parts map[int32]*kafkaPartition
}

// kafkaPartition is what the source knows of one assigned partition.
type kafkaPartition struct {
	// next is the offset after the last stored record (the checkpoint);
	// epoch the leader epoch of that record, -1 if unknown.
	next  int64
	epoch int32
	// hwm is the partition's high watermark at the last fetch, -1 before
	// the first.
	hwm int64
}

// States of a KafkaSource in Stats.
const (
	kafkaStarting = "starting"
	kafkaReading  = "reading"
	kafkaPaused   = "paused"
	kafkaError    = "error"
	// kafkaUnreachable: the last connection to a broker failed; the
	// client retries.
	kafkaUnreachable = "unreachable"
	// kafkaUnassigned: reading, but the group gave this member no
	// partition (yet, or there are more members than partitions).
	kafkaUnassigned = "unassigned"
	kafkaStopped    = "stopped"
)

// NewKafkaSource returns a source for o.Topic. It does nothing until Run.
// Its name, and the Source of its events and rejections, is "kafka:TOPIC";
// its checkpoints are "kafka:TOPIC/PARTITION".
func NewKafkaSource(o KafkaOptions) *KafkaSource {
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = DefaultKafkaSessionTimeout
	}
	if o.MaxRecord <= 0 {
		o.MaxRecord = DefaultFileMaxLine
	}
	if o.Poll <= 0 {
		o.Poll = DefaultKafkaPoll
	}
	if o.LagInterval <= 0 {
		o.LagInterval = DefaultKafkaLagInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	source := "kafka:" + o.Topic
	return &KafkaSource{o: o, source: source, log: o.Logger.With("source", source),
		state: kafkaStarting, parts: map[int32]*kafkaPartition{}}
}

// Name returns "kafka:" and the topic.
func (s *KafkaSource) Name() string { return s.source }

// checkpointKey is where a partition's offset is stored.
func (s *KafkaSource) checkpointKey(p int32) string {
	return s.source + "/" + strconv.FormatInt(int64(p), 10)
}

// Run consumes until ctx ends, committing through in (whose source must be
// s.Name()), then commits the stored offsets to Kafka, leaves the group and
// returns nil. It returns an error only when it cannot start (options
// missing or refused by the client). Broker outages and store failures are
// logged, shown in Stats and retried.
func (s *KafkaSource) Run(ctx context.Context, in *Intake) error {
	switch {
	case len(s.o.Brokers) == 0:
		return errors.New("kafka source: no brokers given")
	case s.o.Topic == "":
		return errors.New("kafka source: no topic given")
	case s.o.Group == "":
		return fmt.Errorf("kafka source %s: no consumer group given", s.o.Topic)
	case in == nil || in.Source() != s.source:
		return fmt.Errorf("kafka source %s: needs an intake for %s", s.o.Topic, s.source)
	}
	s.in.Store(in)
	defer s.setState(kafkaStopped)
	cl, err := kgo.NewClient(s.clientOpts(in)...)
	if err != nil {
		return fmt.Errorf("kafka source %s: %w", s.o.Topic, err)
	}
	defer s.close(cl)
	lagCtx, stopLag := context.WithCancel(ctx)
	lagDone := make(chan struct{})
	go func() { defer close(lagDone); s.watchLag(lagCtx, cl) }()
	defer func() { stopLag(); <-lagDone }()
	s.setState(kafkaReading)
	for ctx.Err() == nil {
		if full, depth, limit := in.Full(); full {
			s.setState(kafkaPaused)
			s.log.Debug("inbox full, not polling", "depth", depth, "limit", limit)
			_ = backoff.Sleep(ctx, s.o.Poll)
			continue
		}
		s.leave(kafkaPaused)
		fs := cl.PollRecords(ctx, kafkaBatchRecords)
		if fs.IsClientClosed() {
			break
		}
		ok := s.store(ctx, cl, in, fs)
		cl.AllowRebalance()
		if !ok && backoff.Sleep(ctx, s.o.Poll) != nil {
			break
		}
	}
	return nil
}

// clientOpts are the franz-go options: a group member with manual offsets
// (stored with the events, adjusted on assignment, committed to Kafka by
// the source) that blocks rebalances while a poll is being stored.
func (s *KafkaSource) clientOpts(in *Intake) []kgo.Opt {
	hb := min(3*time.Second, s.o.SessionTimeout/3)
	opts := []kgo.Opt{
		kgo.SeedBrokers(s.o.Brokers...),
		kgo.ConsumerGroup(s.o.Group),
		kgo.ConsumeTopics(s.o.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(s.o.SessionTimeout),
		kgo.HeartbeatInterval(hb),
		kgo.AdjustFetchOffsetsFn(func(_ context.Context, offs map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
			return s.adjust(in, offs)
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
			s.revoke(ctx, cl, revoked[s.o.Topic], true)
		}),
		kgo.OnPartitionsLost(func(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
			s.revoke(ctx, cl, lost[s.o.Topic], false)
		}),
		kgo.WithLogger(kgoLogger{s.log}),
		kgo.WithHooks(kafkaConnHook{s}),
	}
	if s.o.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(s.o.InstanceID))
	}
	if s.o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(s.o.TLS))
	}
	if s.o.SASL != nil {
		opts = append(opts, kgo.SASL(s.o.SASL))
	}
	return opts
}

// adjust starts each assigned partition at the later of its stored
// checkpoint and the group's committed offset (or the start, with
// neither), and begins tracking it.
func (s *KafkaSource) adjust(in *Intake, offs map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	for p, off := range offs[s.o.Topic] {
		committed := off.EpochOffset()
		start := committed
		cp, ok, err := in.Checkpoint(s.checkpointKey(p))
		if err != nil {
			return nil, fmt.Errorf("kafka source %s: %w", s.o.Topic, err)
		}
		if ok && cp.Offset > committed.Offset {
			offs[s.o.Topic][p] = kgo.NewOffset().At(cp.Offset)
			start = kgo.EpochOffset{Epoch: -1, Offset: cp.Offset}
		}
		s.log.Info("partition assigned", "partition", p, "stored", cp.Offset, "has_stored", ok,
			"committed", committed.Offset, "start", start.Offset)
		s.mu.Lock()
		s.parts[p] = &kafkaPartition{next: max(start.Offset, 0), epoch: start.Epoch, hwm: -1}
		s.mu.Unlock()
	}
	return offs, nil
}

// revoke stops tracking partitions given up. Everything polled is stored
// by now (rebalances wait for AllowRebalance), so for a revocation the
// stored offsets are committed to Kafka before the next owner reads them;
// for a loss (the member was fenced) no commit could succeed.
func (s *KafkaSource) revoke(ctx context.Context, cl *kgo.Client, ps []int32, commit bool) {
	offs := map[int32]kgo.EpochOffset{}
	s.mu.Lock()
	for _, p := range ps {
		if pt, ok := s.parts[p]; ok {
			offs[p] = kgo.EpochOffset{Epoch: pt.epoch, Offset: pt.next}
			delete(s.parts, p)
		}
		s.o.Metrics.KafkaLag.DeleteLabelValues(s.source, strconv.FormatInt(int64(p), 10))
	}
	s.mu.Unlock()
	if !commit || len(offs) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, kafkaCloseTimeout)
	defer cancel()
	if err := commitSync(cctx, cl, s.o.Topic, offs); err != nil {
		s.log.Warn("commit offsets of revoked partitions", "partitions", ps, "err", err)
	}
}

// store writes one poll through the intake with the checkpoint of every
// partition it covers, then commits those offsets to Kafka asynchronously.
// It reports false when the poll failed or ctx ended before the commit.
func (s *KafkaSource) store(ctx context.Context, cl *kgo.Client, in *Intake, fs kgo.Fetches) bool {
	ok := true
	fs.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		ok = false
		s.log.Warn("fetch", "topic", topic, "partition", p, "err", err)
	})
	b := in.Batch()
	next := map[int32]kgo.EpochOffset{}
	hwm := map[int32]int64{}
	fs.EachPartition(func(ftp kgo.FetchTopicPartition) {
		if ftp.Topic != s.o.Topic || len(ftp.Records) == 0 {
			return
		}
		for _, r := range ftp.Records {
			s.add(b, r)
		}
		last := ftp.Records[len(ftp.Records)-1]
		next[ftp.Partition] = kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}
		hwm[ftp.Partition] = ftp.HighWatermark
	})
	if len(next) == 0 {
		if !ok {
			s.setState(kafkaError)
		}
		return ok
	}
	for p, eo := range next {
		b.Checkpoint(store.Checkpoint{Source: s.checkpointKey(p), Offset: eo.Offset})
	}
	if !s.commit(ctx, in, b) {
		return false
	}
	s.advance(next, hwm)
	cl.CommitOffsets(ctx, map[string]map[int32]kgo.EpochOffset{s.o.Topic: next},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err = commitError(resp, err); err != nil && ctx.Err() == nil {
				s.log.Debug("async offset commit", "err", err)
			}
		})
	if ok {
		s.setState(kafkaReading)
	}
	return ok
}

// add turns one record into an inbox event or a rejected record.
func (s *KafkaSource) add(b *Batch, r *kgo.Record) {
	id, ev, err := parseKafkaRecord(r.Topic, r.Partition, r.Offset, r.Value, s.o.MaxRecord)
	if err != nil {
		b.Reject(kafkaPosition(r.Topic, r.Partition, r.Offset), err, head(r.Value))
		return
	}
	b.AcceptEvent(id, ev)
}

// commit stores b, retrying while the store fails, until ctx ends; the
// commit under way completes even then.
func (s *KafkaSource) commit(ctx context.Context, in *Intake, b *Batch) bool {
	for attempt := 0; ; attempt++ {
		_, err := in.Commit(context.WithoutCancel(ctx), b)
		if err == nil {
			return true
		}
		s.log.Warn("store", "err", err)
		s.setState(kafkaError)
		if backoff.Sleep(ctx, backoff.Ceiling(s.o.Poll, maxStoreBackoff, attempt)) != nil {
			return false
		}
	}
}

// advance records the stored offsets and the fetched high watermarks, and
// sets the lag gauges.
func (s *KafkaSource) advance(next map[int32]kgo.EpochOffset, hwm map[int32]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, eo := range next {
		pt, ok := s.parts[p]
		if !ok {
			continue
		}
		pt.next, pt.epoch, pt.hwm = eo.Offset, eo.Epoch, max(pt.hwm, hwm[p])
		s.o.Metrics.KafkaLag.WithLabelValues(s.source, strconv.FormatInt(int64(p), 10)).Set(float64(max(pt.hwm-pt.next, 0)))
	}
}

// watchLag asks for the high watermarks of the assigned partitions every
// LagInterval until ctx ends.
func (s *KafkaSource) watchLag(ctx context.Context, cl *kgo.Client) {
	t := time.NewTicker(s.o.LagInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		ps := slices.Collect(maps.Keys(s.parts))
		s.mu.Unlock()
		if len(ps) == 0 {
			continue
		}
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = s.o.Topic
		for _, p := range ps {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp = p, -1 // -1: the latest offset
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			continue // the connection hook shows an unreachable broker
		}
		hwm := map[int32]int64{}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if t.Topic == s.o.Topic && p.ErrorCode == 0 {
					hwm[p.Partition] = p.Offset
				}
			}
		}
		s.setHighWatermarks(hwm)
	}
}

// setHighWatermarks records high watermarks of assigned partitions and sets
// the lag gauges.
func (s *KafkaSource) setHighWatermarks(hwm map[int32]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, h := range hwm {
		if pt, ok := s.parts[p]; ok {
			pt.hwm = h
			s.o.Metrics.KafkaLag.WithLabelValues(s.source, strconv.FormatInt(int64(p), 10)).Set(float64(max(pt.hwm-pt.next, 0)))
		}
	}
}

// close commits the stored offsets of the partitions still held, leaves
// the group (each bounded by kafkaCloseTimeout: the brokers may be gone)
// and closes the client.
func (s *KafkaSource) close(cl *kgo.Client) {
	offs := map[int32]kgo.EpochOffset{}
	s.mu.Lock()
	for p, pt := range s.parts {
		offs[p] = kgo.EpochOffset{Epoch: pt.epoch, Offset: pt.next}
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaCloseTimeout)
	defer cancel()
	if err := commitSync(ctx, cl, s.o.Topic, offs); err != nil {
		s.log.Warn("commit offsets on stop", "err", err)
	}
	if err := cl.LeaveGroupContext(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("leave group", "err", err)
	}
	cl.Close()
}

// Stats returns the source's state (unassigned while the group gives it no
// partition), what its intake counted and, per assigned partition, the
// stored offset, the high watermark and the lag.
func (s *KafkaSource) Stats() api.Source {
	st := s.in.Load().Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Name, st.State = s.source, s.state
	if st.State == kafkaReading && len(s.parts) == 0 {
		st.State = kafkaUnassigned
	}
	for p, pt := range s.parts {
		pl := api.Partition{Partition: p, Offset: pt.next, HighWatermark: pt.hwm}
		if pt.hwm >= 0 {
			pl.Lag = max(pt.hwm-pt.next, 0)
		}
		st.Partitions = append(st.Partitions, pl)
	}
	slices.SortFunc(st.Partitions, func(a, b api.Partition) int { return int(a.Partition - b.Partition) })
	return st
}

// kafkaConnHook shows broker connections in the source's state: a failed
// dial makes it unreachable until a dial succeeds.
type kafkaConnHook struct{ s *KafkaSource }

func (h kafkaConnHook) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil && s.state != kafkaUnreachable:
		s.state = kafkaUnreachable
		s.log.Warn("broker unreachable", "broker", net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port))), "err", err)
	case err == nil && s.state == kafkaUnreachable:
		s.state = kafkaReading
		s.log.Info("broker reachable again", "broker", net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port))))
	}
}

// leave sets the state back to reading if it is st.
func (s *KafkaSource) leave(st string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == st {
		s.state = kafkaReading
	}
}

func (s *KafkaSource) setState(st string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = st
}

// commitSync commits offs of topic and waits for the answer.
func commitSync(ctx context.Context, cl *kgo.Client, topic string, offs map[int32]kgo.EpochOffset) error {
	if len(offs) == 0 {
		return nil
	}
	var rerr error
	cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{topic: offs},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			rerr = commitError(resp, err)
		})
	return rerr
}
