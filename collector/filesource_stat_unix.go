//go:build unix

package collector

import (
	"io/fs"
	"syscall"
)

// infoOf reads device, inode and link count from a stat result.
func infoOf(st fs.FileInfo) fileInfo {
	fi := fileInfo{size: st.Size(), linked: true}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		fi.dev = uint64(sys.Dev) // the field types differ between platforms
		fi.ino = uint64(sys.Ino)
		fi.linked = sys.Nlink > 0
	}
	return fi
}
