package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestFileLostUnderTheStore: the file at the path is deleted, replaced or
// truncated while the store runs, with writes and reads going on. The store
// notices within a few checks, refuses every later read and write with
// ErrFileLost (without touching the mapped file, so no SIGBUS), and Close
// returns.
func TestFileLostUnderTheStore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced", func(t *testing.T, path string) {
			other := path + ".new"
			if err := os.WriteFile(other, []byte("not it"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "riskwatch.db")
			db, err := Open(path, Options{NoSync: true, WatchEvery: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i := range 20 {
				if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: fmt.Sprint("before-", i), Body: make([]byte, 4096)}}, nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Lost(); err != nil {
				t.Fatalf("lost before anything happened: %v", err)
			}

			// Writers and readers keep going while the file changes.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 2 {
				wg.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						_, _ = db.Enqueue(ctx, []InboxEvent{{EventID: fmt.Sprint("w", w, "-", i), Body: make([]byte, 4096)}}, nil, nil)
						_, _ = db.InboxNext(ctx, 0, 50)
					}
				})
			}
			tc.change(t, path)
			select {
			case <-db.LostC():
			case <-time.After(10 * time.Second):
				close(stop)
				wg.Wait()
				t.Fatal("the store did not notice in 10s")
			}
			close(stop)
			wg.Wait()

			if err := db.Lost(); !errors.Is(err, ErrFileLost) {
				t.Fatalf("Lost() = %v, want ErrFileLost", err)
			}
			if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: "after"}}, nil, nil); !errors.Is(err, ErrFileLost) {
				t.Errorf("a write after the loss: %v, want ErrFileLost", err)
			}
			if _, err := db.InboxNext(ctx, 0, 10); !errors.Is(err, ErrFileLost) {
				t.Errorf("a read after the loss: %v, want ErrFileLost", err)
			}
			closed := make(chan error, 1)
			go func() { closed <- db.Close() }()
			select {
			case err := <-closed:
				if !errors.Is(err, ErrFileLost) {
					t.Errorf("Close after the loss: %v, want ErrFileLost", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Close hangs after the loss")
			}
		})
	}
}

// TestFileLostNotForGrowth: a store that grows and is reopened is never
// taken for lost.
func TestFileLostNotForGrowth(t *testing.T) {
	db := openTest(t, Options{NoSync: true, WatchEvery: time.Millisecond})
	ctx := context.Background()
	for i := range 200 {
		if _, err := db.Enqueue(ctx, []InboxEvent{{EventID: fmt.Sprint(i), Body: make([]byte, 8192)}}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Lost(); err != nil {
		t.Fatalf("a growing store taken for lost: %v", err)
	}
}

// TestTruncationHiddenBySize: the file is truncated and then written again
// up to its old length (what bbolt's next commit may do, writing its pages
// at their old offsets), so its size says nothing. The blocks the
// filesystem no longer holds still show the loss.
func TestTruncationHiddenBySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskwatch.db")
	db, err := Open(path, Options{NoSync: true, WatchEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 50 {
		if _, err := db.Enqueue(context.Background(), []InboxEvent{{EventID: fmt.Sprint("e-", i), Body: make([]byte, 4096)}}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.checkLost(); err != nil {
		t.Fatalf("lost before anything happened: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := allocated(st); !ok || b < 64<<10 {
		t.Skipf("the filesystem reports %d bytes held (%v): nothing to compare", b, ok)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{1}, st.Size()-1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := db.checkLost(); !errors.Is(err, ErrFileLost) {
		t.Fatalf("checkLost after a truncation hidden by size = %v, want ErrFileLost", err)
	}
}
