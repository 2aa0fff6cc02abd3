package collector

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

func TestFileAppend(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	tailWrite(t, path, "")
	src := startTailSource(t, db, FileOptions{Path: path})
	waitTailSettled(t, src)

	// Several appends: own IDs and FileID:offset IDs, CRLF, blank lines.
	first := tailEvLine("a1") + tailAnonLine(1)
	tailAppend(t, path, first)
	fileID := tailFileID(t, path)
	want := slices.Concat([]string{"a1"}, tailAnonIDs(fileID, 0, first))
	expectTailInbox(t, db, src, want)

	second := "\n" + strings.TrimSuffix(tailEvLine("a2"), "\n") + "\r\n" + "  \r\n" + tailAnonLine(2) + "\n\n"
	tailAppend(t, path, second)
	want = slices.Concat(want, []string{"a2"}, tailAnonIDs(fileID, int64(len(first)), second))
	expectTailInbox(t, db, src, want)

	size := int64(len(first) + len(second))
	expectTailCheckpoint(t, db, src.Name(), fileID, size)
	st := src.Stats()
	if st.LinesRead != 4 || st.Rejected != 0 || st.Name != "file:"+path {
		t.Fatalf("stats = %+v, want 4 lines read, 0 rejected, name file:%s", st, path)
	}
	if src.notified.Load() == 0 {
		t.Fatal("Notify was never called")
	}
	// The bodies are the lines as written, without their line endings.
	items, err := db.InboxNext(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(items[2].Body); got != strings.TrimSuffix(tailEvLine("a2"), "\n") {
		t.Fatalf("body of a2 = %q", got)
	}
	if items[0].Source != src.Name() || items[0].ReceivedAt.IsZero() {
		t.Fatalf("item = %+v, want source %s and a receive time", items[0].InboxEvent, src.Name())
	}
	expectTailRejects(t, db, src.Name(), nil)
}

func TestFileFromStartVsEnd(t *testing.T) {
	// The file holds two lines and the start of a third when the source
	// starts; the third is completed afterwards.
	before := tailEvLine("old1") + tailAnonLine(1)
	straddle := tailEvLine("straddle")
	after := tailEvLine("new1") + tailAnonLine(2)
	cut := len(straddle) / 2
	for _, tc := range []struct {
		name      string
		fromStart bool
		wantOld   bool
	}{
		{"from end", false, false},
		{"from start", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newTailStore(t)
			path := filepath.Join(t.TempDir(), "events.ndjson")
			tailWrite(t, path, before+straddle[:cut])
			src := startTailSource(t, db, FileOptions{Path: path, FromStart: tc.fromStart})
			waitTailSettled(t, src)
			fileID := tailFileID(t, path)
			// Either way the checkpoint stands before the partial line: from
			// the end it is stored at once, before any line is read.
			expectTailCheckpoint(t, db, src.Name(), fileID, int64(len(before)))

			tailAppend(t, path, straddle[cut:]+after)
			want := slices.Concat([]string{"straddle", "new1"},
				tailAnonIDs(fileID, int64(len(before)+len(straddle)), after))
			if tc.wantOld {
				want = slices.Concat([]string{"old1"}, tailAnonIDs(fileID, 0, before), want)
			}
			expectTailInbox(t, db, src, want)
			expectTailCheckpoint(t, db, src.Name(), fileID, int64(len(before)+len(straddle)+len(after)))
			if got := src.Stats().LinesRead; got != uint64(len(want)) {
				t.Fatalf("lines read %d, want %d", got, len(want))
			}
		})
	}
}

func TestFilePartialLineCompletedLater(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	p2 := tailEvLine("p2")
	tailWrite(t, path, tailEvLine("p1")+p2[:10])
	src := startTailSource(t, db, FileOptions{Path: path, FromStart: true})
	expectTailInbox(t, db, src, []string{"p1"})
	// The checkpoint stays before the partial line.
	expectTailCheckpoint(t, db, src.Name(), "", int64(len(tailEvLine("p1"))))

	// Completed in two more writes, the second with a CRLF ending.
	tailAppend(t, path, p2[10:20])
	waitTailSettled(t, src)
	if ids := tailInboxIDs(t, db); len(ids) != 1 {
		t.Fatalf("a partial line was stored: %v", ids)
	}
	tailAppend(t, path, strings.TrimSuffix(p2[20:], "\n")+"\r\n")
	expectTailInbox(t, db, src, []string{"p1", "p2"})
	expectTailRejects(t, db, src.Name(), nil)
}

func TestFileEmptyFile(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	tailWrite(t, path, "")
	src := startTailSource(t, db, FileOptions{Path: path})
	waitTailSettled(t, src)
	expectTailInbox(t, db, src, nil)
	expectTailCheckpoint(t, db, src.Name(), "", 0)

	// The fingerprint of the empty file was pending; the IDs use the final
	// one, taken over the first line.
	content := tailAnonLine(1) + tailAnonLine(2)
	tailAppend(t, path, content)
	fileID := tailFileID(t, path)
	expectTailInbox(t, db, src, tailAnonIDs(fileID, 0, content))
	expectTailCheckpoint(t, db, src.Name(), fileID, int64(len(content)))
}

func TestFileAppearsLate(t *testing.T) {
	db := newTailStore(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "later.ndjson")
	// Not FromStart: a file that appears after the start is still read
	// from its beginning.
	src := startTailSource(t, db, FileOptions{Path: path})
	tailWaitState(t, src, "waiting-for-file")
	if _, ok, err := db.Checkpoint(src.Name()); ok || err != nil {
		t.Fatalf("checkpoint before the file exists: ok=%v err=%v", ok, err)
	}

	content := tailEvLine("l1") + tailAnonLine(1)
	tailWrite(t, path, content)
	expectTailInbox(t, db, src, slices.Concat([]string{"l1"}, tailAnonIDs(tailFileID(t, path), 0, content)))
}

func TestFileSymlinkResolvedOnce(t *testing.T) {
	db := newTailStore(t)
	dir := t.TempDir()
	real := filepath.Join(dir, "real.ndjson")
	link := filepath.Join(dir, "current.ndjson")
	tailWrite(t, real, tailEvLine("r1"))
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	src := startTailSource(t, db, FileOptions{Path: link, FromStart: true})
	expectTailInbox(t, db, src, []string{"r1"})
	if src.Name() != "file:"+link {
		t.Fatalf("name %q, want the configured path", src.Name())
	}
	// Repointing the link is not a rotation: the resolved file is followed.
	other := filepath.Join(dir, "other.ndjson")
	tailWrite(t, other, tailEvLine("o1"))
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, link); err != nil {
		t.Fatal(err)
	}
	tailAppend(t, real, tailEvLine("r2"))
	expectTailInbox(t, db, src, []string{"r1", "r2"})
}

func TestFileRestartResumesFromCheckpoint(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	first := tailEvLine("r1") + tailAnonLine(1) + tailEvLine("r2")
	tailWrite(t, path, first)
	src := startTailSource(t, db, FileOptions{Path: path, FromStart: true})
	fileID := tailFileID(t, path)
	want := slices.Concat([]string{"r1", "r2"}, tailAnonIDs(fileID, 0, first))
	expectTailInbox(t, db, src, want)
	src.stop()

	// Written while stopped, with a partial line at the end.
	r4 := tailEvLine("r4")
	second := tailAnonLine(2) + tailEvLine("r3") + r4[:7]
	tailAppend(t, path, second)
	// Not FromStart: the checkpoint wins over "start at the end".
	src = startTailSource(t, db, FileOptions{Path: path})
	want = slices.Concat(want, []string{"r3"}, tailAnonIDs(fileID, int64(len(first)), second))
	expectTailInbox(t, db, src, want)
	if got := src.Stats().LinesRead; got != 2 {
		t.Fatalf("second run read %d lines, want 2 (nothing read twice)", got)
	}
	src.stop()

	tailAppend(t, path, r4[7:])
	src = startTailSource(t, db, FileOptions{Path: path})
	expectTailInbox(t, db, src, append(want, "r4"))
	if got := src.Stats().LinesRead; got != 1 {
		t.Fatalf("third run read %d lines, want 1", got)
	}
	expectTailCheckpoint(t, db, src.Name(), fileID, int64(len(first)+len(second)+len(r4)-7))
}

func TestFileBackpressure(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	tailWrite(t, path, tailEvLine("b1")+tailEvLine("b2")+tailEvLine("b3"))
	src := startTailSource(t, db, FileOptions{Path: path, FromStart: true}, tailOptions{InboxLimit: 3})
	expectTailInbox(t, db, src, []string{"b1", "b2", "b3"})

	// The inbox is at its limit: the next line waits, and is not dropped.
	tailAppend(t, path, tailEvLine("b4"))
	tailWaitState(t, src, "paused")
	if ids := tailInboxIDs(t, db); len(ids) != 3 {
		t.Fatalf("read while paused: %v", ids)
	}
	if lag := src.Stats().LagBytes; lag != int64(len(tailEvLine("b4"))) {
		t.Fatalf("lag while paused = %d, want the unread line's %d bytes", lag, len(tailEvLine("b4")))
	}

	// Scoring one event makes room.
	items, err := db.InboxNext(context.Background(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Complete(context.Background(), []store.Result{{
		Seq:      items[0].Seq,
		Decision: decision.Decision{EventID: items[0].EventID, Action: decision.ActionError, Error: "test"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectTailInbox(t, db, src, []string{"b2", "b3", "b4"})
}

// TestFilePathIsADirectory: an unusable path is an error state, retried
// every poll; once a file takes its place it is read from its start.
func TestFilePathIsADirectory(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	src := startTailSource(t, db, FileOptions{Path: path})
	tailWaitState(t, src, "error")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	tailWrite(t, path, tailEvLine("d1"))
	expectTailInbox(t, db, src, []string{"d1"})
}

// TestFileStoreFailure: a store that refuses writes shows as an error state
// and is retried; Run still returns nil when stopped, and nothing is counted
// as read.
func TestFileStoreFailure(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	tailWrite(t, path, "")
	src := startTailSource(t, db, FileOptions{Path: path})
	waitTailSettled(t, src)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	tailAppend(t, path, tailEvLine("f1"))
	tailWaitState(t, src, "error")
	src.stop()
	if st := src.Stats(); st.LinesRead != 0 {
		t.Fatalf("stats after failed commits: %+v", st)
	}
}
