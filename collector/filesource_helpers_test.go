package collector

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/store"
)

const (
	tailPoll       = 10 * time.Millisecond
	tailRotateWait = 50 * time.Millisecond
	tailDeadline   = 20 * time.Second
)

func newTailStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "riskwatch.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return db
}

// testIntake returns an intake over db for source, with opts adjusted by
// mod (nil for none).
func testIntake(tb testing.TB, db *store.DB, source string, mod func(*IntakeOptions)) *Intake {
	tb.Helper()
	o := IntakeOptions{DB: db, Source: source}
	if mod != nil {
		mod(&o)
	}
	in, err := NewIntake(o)
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

// tailOptions are what a tailer test sets besides FileOptions: the
// intake's inbox limit and metrics.
type tailOptions struct {
	InboxLimit uint64
	Metrics    *Metrics
}

// tailSource is a FileSource running in its own goroutine.
type tailSource struct {
	*FileSource
	notified atomic.Int64
	stop     func()
}

// startTailSource runs a FileSource over db with test timings until the test
// ends or stop is called; Run must return nil. Its intake takes extra, if
// given.
func startTailSource(t *testing.T, db *store.DB, opts FileOptions, extra ...tailOptions) *tailSource {
	t.Helper()
	if opts.Poll == 0 {
		opts.Poll = tailPoll
	}
	if opts.RotateWait == 0 {
		opts.RotateWait = tailRotateWait
	}
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := &tailSource{FileSource: NewFileSource(opts)}
	in := testIntake(t, db, ts.Name(), func(o *IntakeOptions) {
		o.Notify = func() { ts.notified.Add(1) }
		for _, x := range extra {
			o.InboxLimit, o.Metrics = x.InboxLimit, x.Metrics
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Run(ctx, in) }()
	ts.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if st := ts.Stats().State; st != "stopped" {
			t.Errorf("state after Run returned: %q, want stopped", st)
		}
	})
	t.Cleanup(ts.stop)
	return ts
}

// tailWait polls cond until it holds or the deadline passes; cond returns
// whether it holds and what it saw, for the failure message.
func tailWait(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(tailDeadline)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last saw: %s", what, saw)
		}
		<-tick.C
	}
}

func tailWaitState(t *testing.T, src *tailSource, state string) {
	t.Helper()
	tailWait(t, "state "+state, func() (bool, string) {
		st := src.Stats().State
		return st == state, st
	})
}

// tailInboxIDs returns the IDs of every event in the inbox, in inbox order.
func tailInboxIDs(t *testing.T, db *store.DB) []string {
	t.Helper()
	items, err := db.InboxNext(context.Background(), 0, 1<<30)
	if err != nil {
		t.Fatalf("inbox: %v", err)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.EventID
	}
	return ids
}

// tailDiffIDs describes how got differs from want as sets, and any duplicates.
func tailDiffIDs(got, want []string) string {
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	var missing, extra, dups []string
	for _, id := range want {
		if seen[id] == 0 {
			missing = append(missing, id)
		}
	}
	wantSet := map[string]bool{}
	for _, id := range want {
		wantSet[id] = true
	}
	for id, n := range seen {
		if !wantSet[id] {
			extra = append(extra, id)
		}
		if n > 1 {
			dups = append(dups, id)
		}
	}
	if len(missing)+len(extra)+len(dups) == 0 && len(got) == len(want) {
		return ""
	}
	cut := func(s []string) []string {
		slices.Sort(s)
		return s[:min(len(s), 10)]
	}
	return fmt.Sprintf("got %d want %d; missing %d %v; extra %d %v; duplicated %d %v",
		len(got), len(want), len(missing), cut(missing), len(extra), cut(extra), len(dups), cut(dups))
}

// expectTailInbox waits until the inbox holds exactly want (no gaps, no
// duplicates), then until src has read everything there is, and checks
// again so that nothing arrived late.
func expectTailInbox(t *testing.T, db *store.DB, src *tailSource, want []string) {
	t.Helper()
	tailWait(t, "the inbox to hold exactly the expected events", func() (bool, string) {
		d := tailDiffIDs(tailInboxIDs(t, db), want)
		return d == "", d
	})
	waitTailSettled(t, src)
	if d := tailDiffIDs(tailInboxIDs(t, db), want); d != "" {
		t.Fatalf("inbox changed after the source settled: %s", d)
	}
}

// waitTailSettled waits until src is at the end of its file with nothing left.
func waitTailSettled(t *testing.T, src *tailSource) {
	t.Helper()
	tailWait(t, "the source to settle at EOF", func() (bool, string) {
		st := src.Stats()
		return st.State == "at-eof" && st.LagBytes == 0, fmt.Sprintf("%+v", st)
	})
}

// tailRejects returns the rejected records in the store, oldest first.
func tailRejects(t *testing.T, db *store.DB) []store.Rejected {
	t.Helper()
	rs, err := db.RecentRejected(context.Background(), 1<<20)
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	slices.Reverse(rs)
	return rs
}

// tailReject is an expected rejected record.
type tailReject struct {
	offset int64
	reason string // a substring of Reason
	head   string // Head, exactly
}

func expectTailRejects(t *testing.T, db *store.DB, source string, want []tailReject) {
	t.Helper()
	got := tailRejects(t, db)
	if len(got) != len(want) {
		t.Fatalf("got %d rejected records, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Source != source || g.Position != "offset "+strconv.FormatInt(w.offset, 10) ||
			!strings.Contains(g.Reason, w.reason) || string(g.Head) != w.head || g.Time.IsZero() {
			t.Errorf("rejected[%d] = {%s %s %q head %q}, want {%s offset %d reason containing %q head %q}",
				i, g.Source, g.Position, g.Reason, g.Head, source, w.offset, w.reason, w.head)
		}
	}
}

// tailEvLine is an event line carrying its own event_id.
func tailEvLine(id string) string {
	return `{"type":"$login","status":"$succeeded","event_id":"` + id + `","user":{"user_id":"u-` + id + `"}}` + "\n"
}

// tailAnonLine is an event line without event_id: its ID is FileID:offset.
func tailAnonLine(n int) string {
	return `{"type":"$transaction","user":{"user_id":"anon-` + strconv.Itoa(n) + `"}}` + "\n"
}

// tailAnonIDs returns the IDs of the tailAnonLine lines in content, which starts at
// file offset base in the file with the given FileID.
func tailAnonIDs(fileID string, base int64, content string) []string {
	var ids []string
	off := base
	for line := range strings.SplitAfterSeq(content, "\n") {
		if strings.Contains(line, `"anon-`) && strings.HasSuffix(line, "\n") {
			ids = append(ids, fileID+":"+strconv.FormatInt(off, 10))
		}
		off += int64(len(line))
	}
	return ids
}

// tailFileID returns the FileID of the file at path as it is now; its
// fingerprint must be final.
func tailFileID(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, _, err := identify(f)
	if err != nil {
		t.Fatal(err)
	}
	if id.pending {
		t.Fatalf("%s: fingerprint still pending", path)
	}
	return id.String()
}

func tailWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func tailAppend(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func expectTailCheckpoint(t *testing.T, db *store.DB, source, fileID string, offset int64) {
	t.Helper()
	cp, ok, err := db.Checkpoint(source)
	if err != nil || !ok {
		t.Fatalf("checkpoint of %s: ok=%v err=%v", source, ok, err)
	}
	if cp.Offset != offset || (fileID != "" && cp.FileID != fileID) {
		t.Fatalf("checkpoint = %+v, want file %s offset %d", cp, fileID, offset)
	}
}
