package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// firstHole returns the offset of the first hole in the file at path (its
// size when it has none, which is also what a filesystem without holes
// says), and whether it could be asked. bbolt writes every page below its
// high-water mark, so a hole there was made by a truncation.
func firstHole(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	off, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_HOLE)
	if err != nil {
		return 0, false
	}
	return off, true
}
