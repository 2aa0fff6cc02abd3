package collector

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadWriter appends numbered event lines ("w00000", ...) to a file in
// bursts until stopped, like an application logging under load. swap
// points it at another file, as an application does when told to reopen
// its log after a rotation.
type loadWriter struct {
	mu      sync.Mutex
	f       *os.File
	n       int
	written atomic.Int64
	stop    chan struct{}
	done    chan error
}

func startLoadWriter(t *testing.T, path string) *loadWriter {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := &loadWriter{f: f, stop: make(chan struct{}), done: make(chan error, 1)}
	go w.run()
	t.Cleanup(func() { _ = w.finish() })
	return w
}

func (w *loadWriter) run() {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			w.done <- nil
			return
		case <-tick.C:
		}
		if err := w.burst(10); err != nil {
			w.done <- err
			return
		}
	}
}

func (w *loadWriter) burst(lines int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for range lines {
		b.WriteString(tailEvLine(fmt.Sprintf("w%05d", w.n)))
		w.n++
	}
	if _, err := w.f.WriteString(b.String()); err != nil {
		return err
	}
	w.written.Store(int64(w.n))
	return nil
}

// swap makes the writer write to a new file at path from now on and
// returns the number of the first line it will write there.
func (w *loadWriter) swap(t *testing.T, path string) int {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	nf, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.f.Close(); err != nil {
		t.Fatal(err)
	}
	w.f = nf
	return w.n
}

// finish stops the writer and returns how many lines it wrote.
func (w *loadWriter) finish() int {
	select {
	case <-w.stop:
	default:
		close(w.stop)
		<-w.done
		_ = w.f.Close()
	}
	return int(w.written.Load())
}

func (w *loadWriter) waitWritten(t *testing.T, n int64) {
	t.Helper()
	tailWait(t, fmt.Sprintf("%d lines written", n), func() (bool, string) {
		got := w.written.Load()
		return got >= n, fmt.Sprint(got)
	})
}

func TestFileRenameRotationUnderLoad(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "app.ndjson")
	tailWrite(t, path, "")
	src := startTailSource(t, db, FileOptions{Path: path})
	waitTailSettled(t, src)

	w := startLoadWriter(t, path)
	for r := 1; r <= 5; r++ {
		w.waitWritten(t, w.written.Load()+100)
		if err := os.Rename(path, fmt.Sprintf("%s.%d", path, r)); err != nil {
			t.Fatal(err)
		}
		// The application keeps writing to the renamed file for a while.
		w.waitWritten(t, w.written.Load()+50)
		first := w.swap(t, path)
		// Lines are read in the order written, old file first: once the
		// first line of the new file is read, the source has moved on.
		tailWait(t, fmt.Sprintf("rotation %d: line w%05d read", r, first), func() (bool, string) {
			st := src.Stats()
			return st.LinesRead > uint64(first), fmt.Sprintf("%+v", st)
		})
	}
	total := w.finish()
	want := make([]string, total)
	for i := range want {
		want[i] = fmt.Sprintf("w%05d", i)
	}
	expectTailInbox(t, db, src, want)
	if got := src.Stats().LinesRead; got != uint64(total) {
		t.Fatalf("lines read %d, want %d (each line once)", got, total)
	}
	expectTailRejects(t, db, src.Name(), nil)
	t.Logf("%d lines over 6 files", total)
}

// TestFileRotationDrain covers the end of a rotated file: a line completed
// during the drain is read whole, and an unterminated last line is stored
// as a final line once the file has stayed unchanged.
func TestFileRotationDrain(t *testing.T) {
	db := newTailStore(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.ndjson")
	rotated := filepath.Join(dir, "app.ndjson.1")
	tailWrite(t, path, "")
	// A long RotateWait so the drain is still on when the test writes.
	src := startTailSource(t, db, FileOptions{Path: path, RotateWait: 2 * time.Second})
	waitTailSettled(t, src)

	old, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	d2 := tailEvLine("d2")
	head := tailEvLine("d1") + d2[:12]
	if _, err := old.WriteString(head); err != nil {
		t.Fatal(err)
	}
	expectTailInbox(t, db, src, []string{"d1"})

	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	tailWrite(t, path, tailEvLine("n1"))
	tailWaitState(t, src, "draining")
	// Written during the drain: the end of d2, d3, and the start of a
	// line that is never finished, stored as the file's final line.
	tail := d2[12:] + tailEvLine("d3") + `{"type":"$login","event_id":"never`
	if _, err := old.WriteString(tail); err != nil {
		t.Fatal(err)
	}
	expectTailInbox(t, db, src, []string{"d1", "d2", "d3", "n1"})
	finalAt := int64(len(head) + len(tail) - len(`{"type":"$login","event_id":"never`))
	expectTailRejects(t, db, src.Name(), []tailReject{{
		offset: finalAt,
		reason: "incomplete last line of a rotated file: not JSON",
		head:   `{"type":"$login","event_id":"never`,
	}})

	// An unterminated last line that is a complete event is accepted.
	if err := os.Rename(path, rotated+"2"); err != nil {
		t.Fatal(err)
	}
	appendTo := func(p, s string) {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	appendTo(rotated+"2", strings.TrimSuffix(tailEvLine("n2"), "\n"))
	tailWrite(t, path, tailEvLine("m1"))
	expectTailInbox(t, db, src, []string{"d1", "d2", "d3", "n1", "n2", "m1"})
	if got := len(tailRejects(t, db)); got != 1 {
		t.Fatalf("%d rejected records, want 1", got)
	}
}

func TestFileCopyTruncate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fresh string
	}{
		{"new content shorter", tailAnonLine(100)},
		{"new content longer", tailAnonLine(100) + tailEvLine("long") + tailAnonLine(101) + tailAnonLine(102) + tailAnonLine(103)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newTailStore(t)
			dir := t.TempDir()
			path := filepath.Join(dir, "app.ndjson")
			partial := `{"type":"$log`
			old := tailEvLine("c1") + tailAnonLine(1) + tailAnonLine(2) + partial
			tailWrite(t, path, old)
			src := startTailSource(t, db, FileOptions{Path: path, FromStart: true})
			oldID := tailFileID(t, path)
			want := slices.Concat([]string{"c1"}, tailAnonIDs(oldID, 0, old))
			expectTailInbox(t, db, src, want)

			// copytruncate: copy, truncate in place, the writer (O_APPEND)
			// goes on at the new end.
			w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			tailWrite(t, filepath.Join(dir, "app.ndjson.1"), old)
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := w.WriteString(tc.fresh); err != nil {
				t.Fatal(err)
			}
			newID := tailFileID(t, path)
			if newID == oldID {
				t.Fatalf("same FileID %s after the content was replaced", newID)
			}
			want = slices.Concat(want, tailAnonIDs(newID, 0, tc.fresh))
			if strings.Contains(tc.fresh, `"long"`) {
				want = append(want, "long")
			}
			expectTailInbox(t, db, src, want)
			expectTailRejects(t, db, src.Name(), []tailReject{{
				offset: int64(len(old) - len(partial)),
				reason: "incomplete line before the file was truncated: not JSON",
				head:   partial,
			}})
			expectTailCheckpoint(t, db, src.Name(), newID, int64(len(tc.fresh)))
		})
	}
}

func TestFileDeleteAndRecreate(t *testing.T) {
	db := newTailStore(t)
	path := filepath.Join(t.TempDir(), "app.ndjson")
	first := tailAnonLine(1) + tailAnonLine(2)
	tailWrite(t, path, first)
	// Not FromStart: a file created after the start is read from its start.
	src := startTailSource(t, db, FileOptions{Path: path})
	waitTailSettled(t, src)
	firstID := tailFileID(t, path)

	// The last line written before the delete is still read.
	tailAppend(t, path, tailEvLine("x1"))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	tailWaitState(t, src, "waiting-for-file")
	second := tailAnonLine(3) + tailEvLine("x2")
	tailWrite(t, path, second)
	secondID := tailFileID(t, path)
	want := slices.Concat([]string{"x1", "x2"}, tailAnonIDs(secondID, 0, second))
	expectTailInbox(t, db, src, want)

	// Deleted and recreated at once: the new file is found while the old
	// one drains.
	tailAppend(t, path, tailEvLine("x3"))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	third := tailAnonLine(4) + tailEvLine("x4")
	tailWrite(t, path, third)
	thirdID := tailFileID(t, path)
	want = slices.Concat(want, []string{"x3", "x4"}, tailAnonIDs(thirdID, 0, third))
	expectTailInbox(t, db, src, want)
	if firstID == secondID || secondID == thirdID {
		t.Fatalf("FileIDs not distinct: %s %s %s", firstID, secondID, thirdID)
	}
	if got, want := src.Stats().LinesRead, uint64(len(want)); got != want {
		t.Fatalf("lines read %d, want %d", got, want)
	}
}

func TestFileTruncatedWhileStopped(t *testing.T) {
	old := tailEvLine("s1") + tailAnonLine(1) + tailAnonLine(2)
	for _, tc := range []struct {
		name    string
		change  func(t *testing.T, path string)
		content string
	}{
		{"truncated shorter", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			tailAppend(t, path, tailAnonLine(10))
		}, tailAnonLine(10)},
		{"rewritten longer in place", func(t *testing.T, path string) {
			tailWrite(t, path, tailAnonLine(10)+old+tailEvLine("s2"))
		}, tailAnonLine(10) + old + tailEvLine("s2")},
		{"replaced by a new file", func(t *testing.T, path string) {
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			tailWrite(t, path, old+tailAnonLine(10))
		}, old + tailAnonLine(10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newTailStore(t)
			path := filepath.Join(t.TempDir(), "app.ndjson")
			tailWrite(t, path, old)
			src := startTailSource(t, db, FileOptions{Path: path, FromStart: true})
			oldID := tailFileID(t, path)
			want := slices.Concat([]string{"s1"}, tailAnonIDs(oldID, 0, old))
			expectTailInbox(t, db, src, want)
			src.stop()

			tc.change(t, path)
			newID := tailFileID(t, path)
			// Not FromStart: the checkpoint of another file (or of this one
			// before it was truncated) means "read the new content from 0".
			src = startTailSource(t, db, FileOptions{Path: path})
			newIDs := tailAnonIDs(newID, 0, tc.content)
			if strings.Contains(tc.content, `"s2"`) {
				newIDs = append(newIDs, "s2")
			}
			// s1 in the new content is a duplicate of a stored event and
			// is skipped by the store.
			expectTailInbox(t, db, src, slices.Concat(want, newIDs))
			lines := uint64(strings.Count(tc.content, "\n"))
			if got := src.Stats().LinesRead; got != lines {
				t.Fatalf("second run read %d lines, want %d", got, lines)
			}
			expectTailCheckpoint(t, db, src.Name(), newID, int64(len(tc.content)))
		})
	}
}

// TestFileSymlinkSwap: the path is a symlink that a cronolog-style writer
// re-points to each new file. The source follows the path as tail -F does:
// the old file is read to its end (including lines written just after the
// swap), then the new one from its start; health does not claim "at end of
// file" while the new file is unread.
func TestFileSymlinkSwap(t *testing.T) {
	db := newTailStore(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	day1 := filepath.Join(dir, "app.2026-12-05.log")
	day2 := filepath.Join(dir, "app.2026-12-06.log")
	first := tailEvLine("d1-1") + tailEvLine("d1-2")
	tailWrite(t, day1, first)
	if err := os.Symlink(day1, path); err != nil {
		t.Fatal(err)
	}
	src := startTailSource(t, db, FileOptions{Path: path, FromStart: true})
	expectTailInbox(t, db, src, []string{"d1-1", "d1-2"})

	tailWrite(t, day2, tailEvLine("d2-1"))
	link := filepath.Join(dir, "app.log.tmp")
	if err := os.Symlink(day2, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link, path); err != nil {
		t.Fatal(err)
	}
	tailAppend(t, day1, tailEvLine("d1-late"))
	tailAppend(t, day2, tailEvLine("d2-2"))
	expectTailInbox(t, db, src, []string{"d1-1", "d1-2", "d1-late", "d2-1", "d2-2"})
	expectTailCheckpoint(t, db, src.Name(), tailFileID(t, day2), int64(len(tailEvLine("d2-1"))+len(tailEvLine("d2-2"))))

	// A restart after the next swap, before the source saw it, drains the
	// rest of the file the checkpoint names before the new one.
	src.stop()
	tailAppend(t, day2, tailEvLine("d2-3"))
	day3 := filepath.Join(dir, "app.2026-12-07.log")
	tailWrite(t, day3, tailEvLine("d3-1"))
	if err := os.Symlink(day3, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link, path); err != nil {
		t.Fatal(err)
	}
	src = startTailSource(t, db, FileOptions{Path: path})
	expectTailInbox(t, db, src, []string{"d1-1", "d1-2", "d1-late", "d2-1", "d2-2", "d2-3", "d3-1"})
}
