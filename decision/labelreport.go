package decision

import (
	"encoding/json"
	"time"
)

// actionMap writes counts by action as {"allow":N,"challenge":N,"deny":N}.
func actionMap(c ByAction) map[Action]uint64 {
	return map[Action]uint64{ActionAllow: c[0], ActionChallenge: c[1], ActionDeny: c[2]}
}

func matrixMap(m [3][3]uint64) map[Action]map[Action]uint64 {
	out := map[Action]map[Action]uint64{}
	for a := range m {
		out[Actions[a]] = actionMap(m[a])
	}
	return out
}

func labelsMap(c ClassCounts) map[LabelClass]map[Action]uint64 {
	return map[LabelClass]map[Action]uint64{LabelFraud: actionMap(c[ClassFraud]), LabelLegit: actionMap(c[ClassLegit])}
}

type outcomeJSON struct {
	Labels    map[LabelClass]map[Action]uint64 `json:"labels"`
	Unlabeled uint64                           `json:"unlabeled"`
	Metrics   PolicyMetrics                    `json:"metrics"`
}

func outcomeOf(o Outcome) outcomeJSON {
	return outcomeJSON{Labels: labelsMap(o.Labels), Unlabeled: o.Unlabeled[0] + o.Unlabeled[1] + o.Unlabeled[2], Metrics: o.Metrics}
}

type typeJSON struct {
	Matrix map[Action]map[Action]uint64 `json:"matrix"`
	outcomeJSON
	Today outcomeJSON `json:"today"`
}

type lagJSON struct {
	MedianDays int    `json:"median_days"`
	P90Days    int    `json:"p90_days"`
	Count      uint64 `json:"count"`
}

type fitJSON struct {
	Thresholds Thresholds `json:"thresholds"`
	Agree      uint64     `json:"agree"`
	Total      uint64     `json:"total"`
	Share      float64    `json:"share"`
}

type reportJSON struct {
	Thresholds Thresholds                   `json:"thresholds"`
	From       time.Time                    `json:"from,omitzero"`
	To         time.Time                    `json:"to,omitzero"`
	AsOf       time.Time                    `json:"as_of,omitzero"`
	Fit        *fitJSON                     `json:"fit,omitempty"`
	Matrix     map[Action]map[Action]uint64 `json:"matrix"`
	outcomeJSON
	Today  outcomeJSON         `json:"today"`
	ByType map[string]typeJSON `json:"by_type"`
	Curve  []CurvePoint        `json:"curve"`
	Lag    lagJSON             `json:"label_lag"`
}

// MarshalJSON writes the report as `riskwatch whatif --json` prints it
// (SPEC section 12): the actual x simulated matrix, the label x simulated
// counts, the unlabelled count and the simulated metrics at the top, the
// same for today's (actual) actions under "today", per event type under
// "by_type", the curve and the label lag.
func (r LabelReport) MarshalJSON() ([]byte, error) {
	out := reportJSON{Thresholds: r.Thresholds, From: r.From, To: r.To, AsOf: r.AsOf, Matrix: matrixMap(r.Matrix), outcomeJSON: outcomeOf(r.Simulated), Today: outcomeOf(r.Today),
		ByType: map[string]typeJSON{}, Curve: r.Curve[:],
		Lag: lagJSON{MedianDays: r.LagMedian, P90Days: r.LagP90, Count: r.LagCount}}
	if r.Fit != nil {
		out.Fit = &fitJSON{Thresholds: r.Fit.Thresholds, Agree: r.Fit.Agree, Total: r.Fit.Total, Share: r.Fit.Share()}
	}
	for t, tr := range r.ByType {
		out.ByType[t] = typeJSON{Matrix: matrixMap(tr.Matrix), outcomeJSON: outcomeOf(tr.Simulated), Today: outcomeOf(tr.Today)}
	}
	return json.Marshal(out)
}
