//go:build race

package tui

// raceEnabled is set when the tests run under the race detector, which
// makes rendering much slower, so the size sweep takes coarser steps.
const raceEnabled = true
