//go:build !unix

package collector

import "io/fs"

// infoOf has no device or inode to offer on this platform: identity then
// rests on the fingerprint alone, and a deleted file is noticed only when
// its path comes back.
func infoOf(st fs.FileInfo) fileInfo {
	return fileInfo{size: st.Size(), linked: true}
}
