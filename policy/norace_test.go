//go:build !race

package policy

// raceEnabled is set under the race detector, which makes the expression
// VM about ten times slower: the largest tests then run smaller streams.
const raceEnabled = false
