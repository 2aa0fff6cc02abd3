//go:build race

package collector

// raceEnabled is set under the race detector, which makes the expression
// VM about ten times slower: the replay tests then run smaller stores.
const raceEnabled = true
