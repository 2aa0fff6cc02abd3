//go:build !linux

package collector

import "time"

// processCPU is not measured off Linux.
func processCPU(int) (time.Duration, bool) { return 0, false }
