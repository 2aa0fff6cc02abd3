//go:build linux || darwin || freebsd

package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// openHoles opens the file at path again, read-only, to look for holes in.
func openHoles(path string) (*os.File, error) { return os.Open(path) }

// firstHole returns the offset of the first hole in f (its size when it has
// none, and when its filesystem does not track holes), and whether the
// system said.
func firstHole(f *os.File) (int64, bool) {
	off, err := f.Seek(0, unix.SEEK_HOLE)
	return off, err == nil
}
