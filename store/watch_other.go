//go:build !unix

package store

import "io/fs"

// allocated says nothing where the platform does not report blocks.
func allocated(fs.FileInfo) (int64, bool) { return 0, false }
