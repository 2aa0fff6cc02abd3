package decision

import (
	"cmp"
	"strings"
	"time"
)

// MinuteCounts is one minute of the per-minute rollup: how many decisions
// have an event time in the minute starting at Minute, by action.
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

// Thresholds are a threshold policy on one score: challenge from Challenge,
// deny from Deny. The what-if simulates them and the histograms draw them.
type Thresholds struct {
	Score     Score   `json:"score"`
	Challenge float64 `json:"challenge"`
	Deny      float64 `json:"deny"`
}

// Simulate returns the action the thresholds give score value v: deny when
// v >= Deny, challenge when v >= Challenge, allow otherwise. Scores are
// compared at the resolution of the histograms (Bucket(v), whole points),
// so that what-if answers from rollups and from decisions agree; with
// whole-number thresholds this is the same as comparing v itself.
func (th Thresholds) Simulate(v float64) Action {
	return Actions[th.SimulateBucket(Bucket(v))]
}

// SimulateBucket returns the index in Actions of the simulated action of
// histogram bucket b.
func (th Thresholds) SimulateBucket(b int) int {
	switch v := float64(b); {
	case v >= th.Deny:
		return 2
	case v >= th.Challenge:
		return 1
	}
	return 0
}

// Of returns the action the thresholds give d, from d's value of th.Score.
func (th Thresholds) Of(d *Decision) Action {
	return th.Simulate(d.ScoreValue(th.Score))
}

// WhatIf compares actual actions with the actions simulated thresholds
// would have given over a window.
type WhatIf struct {
	Thresholds Thresholds
	From, To   time.Time
	// Matrix counts decisions by actual action (rows in Actions order; the
	// error row stays zero) and simulated action (allow, challenge, deny).
	Matrix [NumActions][3]uint64
	// ByType holds the same matrix per event type.
	ByType map[string]*[NumActions][3]uint64
	// Errors counts error decisions (no scores) in the window.
	Errors uint64
}

// UserSort orders the result of Users.
type UserSort int

// The orders of Users; every one puts the largest first and breaks ties by
// most recent LastSeen, then by user ID.
const (
	SortLastSeen UserSort = iota
	SortMaxRisk
	SortDenies
)

// Compare orders two summaries as a users list sorted by s lists them: the
// sort's key (highest risk or most denies first; nothing more for
// SortLastSeen), then the most recent LastSeen, then the user ID. It is
// the one definition every list, page and federated merge follows.
func (s UserSort) Compare(a, b *UserSummary) int {
	var c int
	switch s {
	case SortMaxRisk:
		c = cmp.Compare(b.MaxRisk, a.MaxRisk)
	case SortDenies:
		c = cmp.Compare(b.Denies, a.Denies)
	}
	return cmp.Or(c, b.LastSeen.Compare(a.LastSeen), strings.Compare(a.UserID, b.UserID))
}

// UserSummary aggregates one user's stored decisions. The store maintains it
// as decisions are written and corrects it when retention removes some.
type UserSummary struct {
	UserID string
	// Email, LastIP and LastCountry are the latest non-empty values seen.
	Email, LastIP, LastCountry string
	// FirstSeen and LastSeen are the times of the oldest and newest stored
	// decisions.
	FirstSeen, LastSeen time.Time
	// Count is the number of stored decisions; Denies and Challenges count
	// those with that action.
	Count, Denies, Challenges uint64
	// MaxRisk is the highest risk score among the user's scored decisions.
	MaxRisk float64
}
