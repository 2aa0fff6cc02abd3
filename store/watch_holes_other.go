//go:build !(linux || darwin || freebsd)

package store

import "os"

// openHoles opens nothing where the platform does not report holes.
func openHoles(string) (*os.File, error) { return nil, nil }

// firstHole says nothing where the platform does not report holes.
func firstHole(*os.File) (int64, bool) { return 0, false }
