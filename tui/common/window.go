package common

import "time"

// Window is a time window the aggregate views read over: the last Len of
// time, or all stored history when Len is zero.
type Window struct {
	// Label is how the UI and filters name it: "5m", "1h", "24h", "all".
	Label string
	Len   time.Duration
}

// Windows are the windows the views offer, shortest first.
var Windows = [...]Window{
	{Label: "5m", Len: 5 * time.Minute},
	{Label: "1h", Len: time.Hour},
	{Label: "24h", Len: 24 * time.Hour},
	{Label: "all"},
}

// All reports whether the window covers all history.
func (w Window) All() bool { return w.Len <= 0 }

// Bounds returns [from, to) of the window at now, in whole minutes as the
// rollups count them: it ends with the current minute (to is the next
// minute's start) and from is zero for all history (unbounded).
func (w Window) Bounds(now time.Time) (from, to time.Time) {
	to = now.Truncate(time.Minute).Add(time.Minute)
	if w.All() {
		return time.Time{}, to
	}
	return to.Add(-w.Len), to
}

// Previous returns the window of the same length just before Bounds(now),
// sharing no minute with it; ok is false for all history, which has none.
func (w Window) Previous(now time.Time) (from, to time.Time, ok bool) {
	if w.All() {
		return time.Time{}, time.Time{}, false
	}
	cur, _ := w.Bounds(now)
	return cur.Add(-w.Len), cur, true
}

// Describe names the window in a sentence: "last 1h" or "all history".
func (w Window) Describe() string {
	if w.All() {
		return "all history"
	}
	return "last " + w.Label
}

// Since is the filter term selecting the window ("since:1h"), "" for all
// history.
func (w Window) Since() string {
	if w.All() {
		return ""
	}
	return "since:" + w.Label
}
