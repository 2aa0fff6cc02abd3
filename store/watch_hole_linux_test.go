package store

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// punchHole makes n bytes at off of the file at path a hole, keeping its
// size: what a truncation leaves where later commits did not write again.
func punchHole(t *testing.T, path string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n); err != nil {
		t.Skipf("the filesystem cannot punch a hole: %v", err)
	}
}
