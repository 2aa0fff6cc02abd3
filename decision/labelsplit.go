package decision

import (
	"encoding/json"
	"fmt"
)

// Count adds one decision labelled l with action a to c; decisions not
// labelled fraud or legit, or with an action other than allow, challenge
// or deny, are not counted.
func (c *ClassCounts) Count(l LabelClass, a Action) {
	i := a.Index()
	if i < 0 || i > 2 {
		return
	}
	switch l {
	case LabelFraud:
		c[ClassFraud][i]++
	case LabelLegit:
		c[ClassLegit][i]++
	}
}

// LabelSplit is what one way of deciding (Safe-e's actions, or a
// policy's) did to labelled decisions: the label x action counts. Its
// JSON, {"labels":{"fraud":{"allow":N,...},"legit":{...}},"metrics":{...}},
// carries the metrics of ClassCounts.Metrics.
type LabelSplit struct {
	Labels ClassCounts
}

type labelSplitJSON struct {
	Labels  map[LabelClass]map[Action]uint64 `json:"labels"`
	Metrics PolicyMetrics                    `json:"metrics"`
}

// MarshalJSON writes the counts and their metrics.
func (s LabelSplit) MarshalJSON() ([]byte, error) {
	return json.Marshal(labelSplitJSON{Labels: labelsMap(s.Labels), Metrics: s.Labels.Metrics()})
}

// UnmarshalJSON reads the counts; the metrics follow from them.
func (s *LabelSplit) UnmarshalJSON(data []byte) error {
	var in labelSplitJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	var c ClassCounts
	for l, row := range in.Labels {
		ci := ClassFraud
		switch l {
		case LabelFraud:
		case LabelLegit:
			ci = ClassLegit
		default:
			return fmt.Errorf("label counts: unknown class %q", l)
		}
		for a, n := range row {
			i := a.Index()
			if i < 0 || i > 2 {
				return fmt.Errorf("label counts: unknown action %q", a)
			}
			c[ci][i] = n
		}
	}
	s.Labels = c
	return nil
}
