//go:build unix

package store

import (
	"io/fs"
	"syscall"
)

// allocated returns the bytes the filesystem holds for the file (its
// blocks), and whether the platform says.
func allocated(st fs.FileInfo) (int64, bool) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int64(sys.Blocks) * 512, true
	}
	return 0, false
}
