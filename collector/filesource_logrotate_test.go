package collector

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// logrotate runs the real logrotate once, forced, over path with the given
// directives (one a line); the test is skipped when logrotate is not
// installed.
func logrotate(t *testing.T, path string, directives ...string) {
	t.Helper()
	bin := needLogrotate(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "logrotate.conf")
	body := fmt.Sprintf("%s {\n  %s\n}\n", path, strings.Join(directives, "\n  "))
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-f", "-s", filepath.Join(dir, "state"), conf).CombinedOutput()
	if err != nil {
		t.Fatalf("logrotate: %v\n%s", err, out)
	}
}

// needLogrotate returns the path of the real logrotate and skips the test
// when it is not installed. It looks in the sbin directories too, which a
// user's PATH often leaves out although that is where Debian installs it.
func needLogrotate(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("logrotate"); err == nil {
		return bin
	}
	for _, bin := range []string{"/usr/sbin/logrotate", "/sbin/logrotate"} {
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
	}
	t.Skip("logrotate is not installed (apt-get install -y logrotate): this test needs the real tool")
	return ""
}

// tailScoreAll completes every event in the inbox, as the pipeline does
// once Safe-e answers again, and returns their IDs.
func tailScoreAll(t *testing.T, db *store.DB) []string {
	t.Helper()
	ctx := context.Background()
	items, err := db.InboxNext(ctx, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	res := make([]store.Result, len(items))
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.EventID
		res[i] = store.Result{Seq: it.Seq, Decision: decision.Decision{EventID: it.EventID, Action: decision.ActionError, Error: "test"}}
	}
	if _, err := db.Complete(ctx, res); err != nil {
		t.Fatal(err)
	}
	return ids
}

func anonLines(from, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(tailAnonLine(from + i))
	}
	return b.String()
}

// TestFileCopyTruncateWhilePaused: reading is paused at the inbox limit
// (Safe-e down), logrotate copytruncate empties the file in place and the
// application writes more than had been read before. When reading resumes,
// the new content is read once from its start: not from the old offset
// (cutting a line in two) and then again from 0 once the end shows the
// change.
func TestFileCopyTruncateWhilePaused(t *testing.T) {
	needLogrotate(t)
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "app.log")
	first := anonLines(0, 5)
	tailWrite(t, path, first)
	src := startTailSource(t, db, FileOptions{Path: path, FromStart: true}, tailOptions{InboxLimit: 3})
	oldID := tailFileID(t, path)
	expectTailInbox(t, db, src, tailAnonIDs(oldID, 0, first))

	// More lines while the inbox is full: reading pauses before them.
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString(anonLines(5, 2)); err != nil {
		t.Fatal(err)
	}
	tailWaitState(t, src, "paused")

	logrotate(t, path, "copytruncate", "rotate 1", "missingok")
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		t.Fatalf("after copytruncate: %v, %v", st, err)
	}
	// The application goes on writing at the new end, past the old offset.
	fresh := anonLines(100, 20)
	if _, err := w.WriteString(fresh); err != nil {
		t.Fatal(err)
	}
	newID := tailFileID(t, path)

	// Safe-e is back: the pipeline scores whatever reaches the inbox, and
	// reading resumes.
	var scored []string
	tailWait(t, "the source to settle with everything scored", func() (bool, string) {
		scored = append(scored, tailScoreAll(t, db)...)
		st := src.Stats()
		return st.State == "at-eof" && st.LagBytes == 0 && len(tailInboxIDs(t, db)) == 0, fmt.Sprintf("%+v", st)
	})
	want := slices.Concat(tailAnonIDs(oldID, 0, first), tailAnonIDs(newID, 0, fresh))
	if d := tailDiffIDs(scored, want); d != "" {
		t.Fatalf("events stored: %s", d)
	}
	if rs := tailRejects(t, db); len(rs) != 0 {
		t.Fatalf("lines rejected: %+v", rs)
	}
	expectTailCheckpoint(t, db, src.Name(), newID, int64(len(fresh)))
}

// TestFileRewrittenSameStartWhilePaused: the content is replaced in place
// while reading is paused by content that starts with the same first line
// (same fingerprint), so only the bytes before the read position show the
// change; the new content is read from its start all the same.
func TestFileRewrittenSameStartWhilePaused(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "app.log")
	first := tailEvLine("head") + anonLines(0, 4)
	tailWrite(t, path, first)
	src := startTailSource(t, db, FileOptions{Path: path, FromStart: true}, tailOptions{InboxLimit: 3})
	oldID := tailFileID(t, path)
	expectTailInbox(t, db, src, slices.Concat([]string{"head"}, tailAnonIDs(oldID, 0, first)))
	tailAppend(t, path, anonLines(4, 1))
	tailWaitState(t, src, "paused")

	fresh := tailEvLine("head")
	var freshIDs []string
	for i := range 10 {
		id := fmt.Sprintf("n%d", i)
		fresh += tailEvLine(id)
		freshIDs = append(freshIDs, id)
	}
	tailWrite(t, path, fresh)
	var scored []string
	tailWait(t, "the source to settle with everything scored", func() (bool, string) {
		scored = append(scored, tailScoreAll(t, db)...)
		st := src.Stats()
		return st.State == "at-eof" && st.LagBytes == 0 && len(tailInboxIDs(t, db)) == 0, fmt.Sprintf("%+v", st)
	})
	// "head" comes again in the new content: whether the store takes the
	// replayed event again does not matter here.
	scored = slices.DeleteFunc(scored, func(id string) bool { return id == "head" })
	want := slices.Concat(tailAnonIDs(oldID, 0, first), freshIDs)
	if d := tailDiffIDs(scored, want); d != "" {
		t.Fatalf("events stored: %s", d)
	}
	if rs := tailRejects(t, db); len(rs) != 0 {
		t.Fatalf("lines rejected: %+v", rs)
	}
}

// TestFileRestartDrainsRotatedBacklog: the collector stops gracefully with
// a backlog (the checkpoint in the middle of the file), logrotate renames
// the file to app.log.1 and creates a new one; on restart the rest of
// app.log.1 is found by its identity and read before the new file.
func TestFileRestartDrainsRotatedBacklog(t *testing.T) {
	needLogrotate(t)
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "app.log")
	backlog := anonLines(0, 2500)
	tailWrite(t, path, backlog)
	oldID := tailFileID(t, path)
	src := startTailSource(t, db, FileOptions{Path: path, FromStart: true}, tailOptions{InboxLimit: 10})
	tailWaitState(t, src, "paused")
	src.stop()
	cp, _, err := db.Checkpoint(src.Name())
	if err != nil || cp.Offset == 0 || cp.Offset >= int64(len(backlog)) {
		t.Fatalf("checkpoint %+v (%v): want one in the middle of the file", cp, err)
	}

	logrotate(t, path, "rotate 1", "create")
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatalf("logrotate did not rename: %v", err)
	}
	fresh := anonLines(5000, 5)
	tailAppend(t, path, fresh)
	newID := tailFileID(t, path)

	src = startTailSource(t, db, FileOptions{Path: path})
	want := slices.Concat(tailAnonIDs(oldID, 0, backlog), tailAnonIDs(newID, 0, fresh))
	expectTailInbox(t, db, src, want)
	expectTailCheckpoint(t, db, src.Name(), newID, int64(len(fresh)))
}
