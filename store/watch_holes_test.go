package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// noise returns n bytes that do not compress, so that every event grows
// the file.
func noise(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestHolesNotLostWhileGrowing: a fresh file (bbolt's first four pages), a
// file that grows by many commits (bbolt's ftruncate leaves holes above its
// high-water mark) and the same file reopened are never taken for lost,
// checked after every group and by a watch every millisecond.
func TestHolesNotLostWhileGrowing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskwatch.db")
	db, err := Open(path, Options{NoSync: true, WatchEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.checkHoles(); err != nil {
		t.Fatalf("a fresh file: %v", err)
	}
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	holesAbove := false
	for i := range 300 {
		evs := make([]InboxEvent, 1+i%7)
		for j := range evs {
			evs[j] = InboxEvent{EventID: fmt.Sprint(i, "-", j), Body: noise(r, 64+r.IntN(6000))}
		}
		if _, err := db.Enqueue(ctx, evs, nil, nil); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			if _, err := db.InboxNext(ctx, 0, 100); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.checkHoles(); err != nil {
			t.Fatalf("after group %d: %v", i, err)
		}
		if st, err := os.Stat(path); err == nil {
			if hole, ok := firstHole(db.watch.holes); ok && hole < st.Size() {
				holesAbove = true
			}
		}
	}
	if !holesAbove {
		t.Log("the filesystem showed no hole above the high-water mark: only the absence of false positives on a hole-free file was tested")
	}
	if err := db.Lost(); err != nil {
		t.Fatalf("a growing store taken for lost: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{NoSync: true, WatchEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: "reopened", Body: noise(r, 100)}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.checkLost(); err != nil {
		t.Fatalf("the reopened store taken for lost: %v", err)
	}
}

// openFilled opens a store that checks its file every interval and writes
// enough incompressible events to span many pages. After a call to
// truncate, the next commit (N) goes through and the one after it finds
// the file as if it had been truncated to 0 bytes just before commit N
// wrote: only the pages N wrote are there. That is a truncation racing a
// commit: bbolt goes on from there without reading a missing page.
func openFilled(t *testing.T, every time.Duration) (db *DB, path string, truncate func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "riskwatch.db")
	var (
		armed atomic.Int32
		prev  []byte // the file before commit N, touched by the writer only
	)
	db, err := Open(path, Options{NoSync: true, WatchEvery: every, FailCommit: func() error {
		switch armed.Load() {
		case 1:
			armed.Store(2)
			var err error
			prev, err = os.ReadFile(path)
			return err
		case 2:
			armed.Store(0)
			return keepWritten(path, prev)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 100 {
		if _, err := db.Enqueue(context.Background(), []InboxEvent{{EventID: fmt.Sprint("e-", i), Body: noise(r, 3000)}}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if hole, ok := firstHole(db.watch.holes); !ok || hole >= fileSize(t, path) {
		t.Skipf("the filesystem shows no hole where bbolt grew the file (%d, %v)", hole, ok)
	}
	return db, path, func() { armed.Store(1) }
}

// keepWritten truncates the file at path to 0 bytes and writes back the
// pages (other than zeros) that differ from prev.
func keepWritten(path string, prev []byte) error {
	cur, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(0); err != nil {
		return err
	}
	const page = 4096
	zero := make([]byte, page)
	for off := 0; off+page <= len(cur); off += page {
		p := cur[off : off+page]
		if bytes.Equal(p, zero) || off+page <= len(prev) && bytes.Equal(p, prev[off:off+page]) {
			continue
		}
		if _, err := f.WriteAt(p, int64(off)); err != nil {
			return err
		}
	}
	return nil
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestTruncationHiddenByRewrite: the file is truncated and written again
// at its old length with all but one page of its data, what bbolt's
// commits after a truncation do: its size and the blocks it holds look as
// before. The hole below the high-water mark shows the loss.
func TestTruncationHiddenByRewrite(t *testing.T) {
	db, path, _ := openFilled(t, time.Hour)
	// One more group, so that the high-water mark is the file's length
	// after the last growth.
	if _, err := db.Enqueue(context.Background(), []InboxEvent{{EventID: "last"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.checkLost(); err != nil {
		t.Fatalf("lost before anything happened: %v", err)
	}
	mark := db.written.Load()
	if mark < 64<<10 {
		t.Fatalf("high-water mark %d: the test needs a bigger file", mark)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	const page = 4096
	gap := mark / 2 / page * page
	for _, part := range [][2]int64{{0, gap}, {gap + page, int64(len(data))}} {
		if _, err := f.WriteAt(data[part[0]:part[1]], part[0]); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	err = db.checkLost()
	if !errors.Is(err, ErrFileLost) {
		t.Fatalf("checkLost after a truncation hidden by rewriting = %v, want ErrFileLost", err)
	}
	t.Log(err)
}

// TestTruncationStopsTheNextWrite: the file is truncated before a commit
// writes its pages into the empty file (openFilled: commit N's pages, put
// in place as commit N+1 begins), which the watch cannot tell (it never
// looks here) and bbolt goes on from. Commit N+1 still commits, but its
// caller gets ErrFileLost: the writer checks the file after each commit,
// before anyone hears of it, and before each group, so nothing more lands
// in a file no one will open again. Before, N+1 succeeded, and so did
// every write after it as the size grew back and the blocks with it.
func TestTruncationStopsTheNextWrite(t *testing.T) {
	db, path, truncate := openFilled(t, time.Hour)
	ctx := context.Background()
	if err := db.checkLost(); err != nil {
		t.Fatalf("lost before anything happened: %v", err)
	}
	truncate()
	if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: "N", Body: make([]byte, 100)}}, nil, nil); err != nil {
		t.Fatalf("commit N: %v", err)
	}
	if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: "N+1", Body: make([]byte, 100)}}, nil, nil); !errors.Is(err, ErrFileLost) {
		t.Fatalf("commit N+1, the first after the truncation: %v, want ErrFileLost", err)
	}
	stopped := fileSize(t, path)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 10 {
		_, err := db.Enqueue(ctx, []InboxEvent{{EventID: fmt.Sprint("after-", i), Body: noise(r, 3000)}}, nil, nil)
		if !errors.Is(err, ErrFileLost) {
			t.Fatalf("write %d after the truncation: %v, want ErrFileLost", i, err)
		}
	}
	if after := fileSize(t, path); after != stopped {
		t.Errorf("refused writes changed the file from %d to %d bytes", stopped, after)
	}
	if err := db.checkLost(); !errors.Is(err, ErrFileLost) {
		t.Fatalf("checkLost = %v, want ErrFileLost", err)
	}
}

// TestTruncationUnderFastWrites: writers keep the file growing as fast as
// they can while it is truncated during a commit; the store notices within
// a few checks.
func TestTruncationUnderFastWrites(t *testing.T) {
	const every = 20 * time.Millisecond
	db, _, truncate := openFilled(t, every)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 5))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = db.Enqueue(ctx, []InboxEvent{{EventID: fmt.Sprint("w", w, "-", i), Body: noise(r, 2000)}}, nil, nil)
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	truncate()
	select {
	case <-db.LostC():
	case <-time.After(50 * every):
		t.Fatalf("not noticed within %v", 50*every)
	}
	if err := db.Lost(); !errors.Is(err, ErrFileLost) {
		t.Fatalf("Lost() = %v, want ErrFileLost", err)
	}
}
