package collector

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/riskwatch/riskwatch/safee"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// parseKafkaRecord reads one record's value as an event, like a line of a
// tailed file: it returns the event ID (the event's own event_id, or
// "kafka:TOPIC/PARTITION@OFFSET") and the event (its Raw the value's
// bytes), or why the value is not an event. A value over max bytes is not
// parsed.
func parseKafkaRecord(topic string, partition int32, offset int64, value []byte, max int) (id string, ev safee.Event, err error) {
	if len(value) > max {
		return "", safee.Event{}, recordTooLongError{n: len(value), max: max}
	}
	ev, err = parseSourceEvent(value)
	if err != nil {
		return "", safee.Event{}, err
	}
	id = ev.EventID
	if id == "" {
		id = "kafka:" + kafkaPosition(topic, partition, offset)
	}
	return id, ev, nil
}

// kafkaPosition names a record: "TOPIC/PARTITION@OFFSET".
func kafkaPosition(topic string, partition int32, offset int64) string {
	return topic + "/" + strconv.FormatInt(int64(partition), 10) + "@" + strconv.FormatInt(offset, 10)
}

// recordTooLongError is why a record over the size limit is rejected; its
// class is errLineTooLong ("too_long"), as for a file's line.
type recordTooLongError struct{ n, max int }

func (e recordTooLongError) Error() string {
	return fmt.Sprintf("record of %d bytes is over the %d-byte limit", e.n, e.max)
}

func (e recordTooLongError) Unwrap() error { return errLineTooLong }

// commitError is the error of an offset commit: the request's, or the
// first partition's.
func commitError(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return fmt.Errorf("commit offsets: %w", err)
	}
	if resp == nil {
		return nil
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("commit offset of %s/%d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}

// kgoLogger hands franz-go's errors to slog. (Its warnings repeat every
// retry while a broker is down; the source logs that once itself.)
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelError }

func (k kgoLogger) Log(_ kgo.LogLevel, msg string, keyvals ...any) {
	k.l.Log(context.Background(), slog.LevelError, "kafka client: "+msg, keyvals...)
}
