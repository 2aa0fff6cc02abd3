package collector

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"strings"
)

// fingerprintMax bounds the bytes at the start of a file that its
// fingerprint covers.
const fingerprintMax = 1024

// fileIdentity tells one file apart from another that later takes its path
// or even its inode: device, inode, and a fingerprint of its first bytes.
//
// The fingerprint covers the file up to the end of its first non-blank line,
// at most fingerprintMax bytes. Until a file holds such a line (or that many
// bytes) the fingerprint is pending and covers the whole file, so it grows
// with the file; once final it never changes while the content is kept. A
// line is emitted only once complete, so every event ID is made from a final
// fingerprint and is the same however often the file is read.
type fileIdentity struct {
	dev, ino uint64
	// fpLen is how many leading bytes fp covers.
	fpLen int
	fp    uint64
	// pending is true while fpLen may still grow.
	pending bool
}

// String is the FileID stored in checkpoints and used in event IDs:
// "<dev>-<ino>-<fpLen>-<fp>", numbers in hex.
func (id fileIdentity) String() string {
	return fmt.Sprintf("%x-%x-%x-%016x", id.dev, id.ino, id.fpLen, id.fp)
}

// parseFileID reads a FileID written by String, for matchIdentity. Whether it
// was pending is not recorded: matching needs only the bytes it covered.
func parseFileID(s string) (fileIdentity, bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 4 {
		return fileIdentity{}, false
	}
	var n [4]uint64
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 64)
		if err != nil {
			return fileIdentity{}, false
		}
		n[i] = v
	}
	if n[2] > fingerprintMax {
		return fileIdentity{}, false
	}
	return fileIdentity{dev: n[0], ino: n[1], fpLen: int(n[2]), fp: n[3]}, true
}

// fileInfo is what one look at an open file or a path tells the tailer.
type fileInfo struct {
	dev, ino uint64
	size     int64
	// linked is false once the file has been deleted (no name left).
	linked bool
}

func (fi fileInfo) sameFile(id fileIdentity) bool {
	return fi.dev == id.dev && fi.ino == id.ino
}

func statPath(path string) (fileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileInfo{}, err
	}
	return infoOf(st), nil
}

// statFile looks at an open file, which must be a regular file (or a pipe
// or device that reads like one), not a directory.
func statFile(f *os.File) (fileInfo, error) {
	st, err := f.Stat()
	if err != nil {
		return fileInfo{}, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	if st.IsDir() {
		return fileInfo{}, fmt.Errorf("%s is a directory, not a file", f.Name())
	}
	return infoOf(st), nil
}

// identify computes f's identity from its current content.
func identify(f *os.File) (fileIdentity, fileInfo, error) {
	fi, err := statFile(f)
	if err != nil {
		return fileIdentity{}, fileInfo{}, err
	}
	prefix, err := readPrefix(f, int(min(fi.size, fingerprintMax)))
	if err != nil {
		return fileIdentity{}, fileInfo{}, err
	}
	n, pending := fingerprintLen(prefix)
	return fileIdentity{dev: fi.dev, ino: fi.ino, fpLen: n, fp: hashBytes(prefix[:n]), pending: pending}, fi, nil
}

// matchIdentity reports whether f is the file id was taken from: same device
// and inode, and the bytes id's fingerprint covers are unchanged.
func matchIdentity(f *os.File, fi fileInfo, id fileIdentity) (bool, error) {
	if !fi.sameFile(id) || fi.size < int64(id.fpLen) {
		return false, nil
	}
	prefix, err := readPrefix(f, id.fpLen)
	if err != nil {
		return false, err
	}
	return len(prefix) == id.fpLen && hashBytes(prefix) == id.fp, nil
}

// fingerprintLen returns how much of prefix (the first bytes of a file, at
// most fingerprintMax) the fingerprint covers, and whether that may grow.
func fingerprintLen(prefix []byte) (int, bool) {
	start := 0
	for {
		i := bytes.IndexByte(prefix[start:], '\n')
		if i < 0 {
			break
		}
		end := start + i + 1
		if !isBlank(prefix[start : end-1]) {
			return end, false
		}
		start = end
	}
	return len(prefix), len(prefix) < fingerprintMax
}

// readPrefix reads the first n bytes of f (fewer if the file is shorter).
func readPrefix(f *os.File, n int) ([]byte, error) {
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read start of %s: %w", f.Name(), err)
	}
	return buf[:got], nil
}

func hashBytes(b []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64()
}
