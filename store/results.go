package store

import "time"

// MinuteCounts is one minute of the per-minute rollup: how many decisions
// were stored in the minute starting at Minute, by action, and the sum of
// their Safe-e latencies (for averages).
type MinuteCounts struct {
	Minute   time.Time
	ByAction [NumActions]uint64
}

// Total returns the number of decisions in the minute.
func (m MinuteCounts) Total() uint64 {
	var n uint64
	for _, c := range m.ByAction {
		n += c
	}
	return n
}

// Histogram holds the distribution of one score over a window: for each of
// the 101 buckets (score 0..100, see Bucket) the count of decisions per
// actual action. Error decisions carry no scores and are not counted.
type Histogram struct {
	Score  Score
	From   time.Time
	To     time.Time
	Counts [101][NumActions]uint64
	Total  uint64
}

// Totals are the counts `riskwatch stats` prints.
type Totals struct {
	Decisions uint64            `json:"decisions"`
	ByAction  map[Action]uint64 `json:"by_action"`
	ByType    map[string]uint64 `json:"by_type"`
	Rejected  uint64            `json:"rejected"`
	Inbox     uint64            `json:"inbox"`
	First     time.Time         `json:"first,omitzero"`
	Last      time.Time         `json:"last,omitzero"`
}
