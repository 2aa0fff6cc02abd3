package collector

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/riskwatch/riskwatch/store"
)

// TestTruncationDuringCommitRefusesItsIngest: the database file is
// truncated while the commit of an HTTP ingest runs, and bbolt writes that
// commit's pages into the emptied file. The commit itself goes through,
// but the ingest answers 503, not 202: the events it would have claimed
// are in a file no one will open again, and the client must send them
// again. The loss is reported once (the gauge, one ERROR line) and
// /healthz says so. Before, that ingest was answered 202 and only the next
// write was refused. The store's watch looks once an hour here: the
// writer's own check after the commit is what notices.
func TestTruncationDuringCommitRefusesItsIngest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rw.db")
	db, armed := openCutOnce(t, path)
	c, logs := startLostCollector(t, db)

	// The ingest's commit is the store's first: nothing else writes
	// before an event is stored.
	armed.Store(true)
	code, body := postOne(t, c.Addr(), "cut")
	var e struct {
		Error string `json:"error"`
	}
	if code != http.StatusServiceUnavailable || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "truncated") {
		t.Errorf("ingest whose commit the truncation hit: %d %s, want 503 with a JSON error saying so", code, body)
	}
	if armed.Load() {
		t.Fatal("the ingest never reached its commit")
	}
	if n := db.InboxDepth(); n != 1 {
		t.Errorf("inbox depth %d after the cut commit, want 1: the commit went through (into the lost file)", n)
	}
	if n := testutil.ToFloat64(c.metrics.EventsAccepted.WithLabelValues("http")); n != 0 {
		t.Errorf("%v events counted as accepted", n)
	}
	waitFor(t, "the gauge and the log", 10*time.Second, func() bool {
		return testutil.ToFloat64(c.metrics.StoreLost) == 1 && strings.Contains(logs.String(), "DATABASE FILE LOST")
	})
	if n := strings.Count(logs.String(), "DATABASE FILE LOST"); n != 1 {
		t.Errorf("the loss was logged %d times, want once:\n%s", n, logs.String())
	}
	status, h, err := getHealthz(c.Addr())
	if err != nil || status == http.StatusOK || !strings.Contains(h.StoreError, "truncated") {
		t.Errorf("healthz after the cut commit: %d %+v (%v)", status, h, err)
	}
}

// TestTruncationDuringCommitKeepsKafkaOffsets: the database file is
// truncated while the commit of a Kafka batch (its events and partition
// offsets) runs. The source hears ErrFileLost and commits no offset to the
// group: the records are still there for a collector restarted on a good
// file. Before, the commit counted as done and the offsets were committed
// in Kafka, so a restart would have skipped the records.
func TestTruncationDuringCommitKeepsKafkaOffsets(t *testing.T) {
	c := newKfake(t, 1)
	values, keys, _ := kafkaEvents(t, 3, 20)
	produce(t, c.ListenAddrs(), values, keys)
	path := filepath.Join(t.TempDir(), "rw.db")
	db, armed := openCutOnce(t, path)
	armed.Store(true)
	r := startKafka(t, db, c.ListenAddrs(), "cut", nil)
	waitUntil(t, "the batch's commit to fail or succeed", func() bool {
		return db.Lost() != nil && r.Stats().State == kafkaError || r.read() > 0
	})
	if err := db.Lost(); !errors.Is(err, store.ErrFileLost) {
		t.Errorf("Lost() = %v, want ErrFileLost", err)
	}
	if armed.Load() {
		t.Fatal("the batch never reached its commit")
	}
	if n := db.InboxDepth(); n == 0 {
		t.Error("the cut commit stored nothing: not the case under test")
	}
	r.stop()
	// Stopping commits the offsets the source holds: still the start.
	for p, off := range committedOffsets(t, c.ListenAddrs(), "cut") {
		if off != 0 {
			t.Errorf("partition %d: offset %d committed in Kafka for a batch in the lost file", p, off)
		}
	}
	if n := r.read(); n != 0 {
		t.Errorf("%d records counted as read", n)
	}
}

// openCutOnce opens the store at path with a FailCommit that, once armed
// is set, truncates the file under the next commit (cutUnderCommit) and
// disarms; the watch looks once an hour, so only the writer's own check
// can notice.
func openCutOnce(t *testing.T, path string) (*store.DB, *atomic.Bool) {
	t.Helper()
	armed := &atomic.Bool{}
	db, err := store.Open(path, store.Options{NoSync: true, WatchEvery: time.Hour, FailCommit: func() error {
		if armed.CompareAndSwap(true, false) {
			return cutUnderCommit(path)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, armed
}

// cutUnderCommit leaves the bbolt file at path as a truncation racing the
// commit about to run leaves it (the commit's pages written into the
// emptied file), short of the pages that commit reads: every page is there
// but the current meta page, which the commit neither reads (its
// transaction copied the meta as it began) nor rewrites (it writes the
// other one). That page becomes a hole in place (fallocate), so readers
// never see the file shorter than its mapping: a fault in bbolt's Begin
// would leave its meta lock held and hang the commit. Meta pages are
// pages 0 and 1; each holds its page size at byte 24 and its transaction
// ID at byte 64.
func cutUnderCommit(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(data) < 4096 {
		return fmt.Errorf("%s: %d bytes, not a bbolt file", path, len(data))
	}
	page := int(binary.LittleEndian.Uint32(data[24:]))
	if page < 512 || len(data) < 2*page || len(data)%page != 0 {
		return fmt.Errorf("%s: page size %d in a file of %d bytes", path, page, len(data))
	}
	cur := 0
	if binary.LittleEndian.Uint64(data[page+64:]) > binary.LittleEndian.Uint64(data[64:]) {
		cur = 1
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(cur*page), int64(page))
}
