package decision

import (
	"math"
	"time"
)

// The label classes of a LabelHist, in its order; Unlabeled counts the
// decisions without a label in force.
const (
	ClassFraud = iota
	ClassLegit
	ClassUnlabeled
	NumClasses
)

// LabelHist counts scored decisions by label class (ClassFraud,
// ClassLegit, ClassUnlabeled), score bucket (see Bucket) and actual action
// (allow, challenge, deny): everything a what-if with labels needs for
// any thresholds on that score.
type LabelHist [NumClasses][101][3]uint64

// Add adds o to h.
func (h *LabelHist) Add(o *LabelHist) {
	for c := range h {
		for b := range h[c] {
			for a := range h[c][b] {
				h[c][b][a] += o[c][b][a]
			}
		}
	}
}

// LagDays is the number of day buckets of a label-lag histogram; the last
// one holds every lag of LagDays-1 days or more.
const LagDays = 366

// LabelWhatIf is what thresholds would do to labelled decisions over a
// window: the counts, mergeable across collectors, from which Report
// derives the matrices, the metrics and the curve.
type LabelWhatIf struct {
	Thresholds Thresholds `json:"thresholds"`
	From       time.Time  `json:"from,omitzero"`
	To         time.Time  `json:"to,omitzero"`
	// AsOf is the time labels were read as of (zero: all labels).
	AsOf time.Time `json:"as_of,omitzero"`
	// Hist counts the window's scored decisions on Thresholds.Score.
	Hist LabelHist `json:"hist"`
	// ByType holds the same per event type.
	ByType map[string]*LabelHist `json:"by_type"`
	// Errors counts error decisions (no scores) in the window.
	Errors uint64 `json:"errors"`
	// Lag counts labelled decisions by whole days between their event
	// time and when their label was recorded (negative lags count as 0).
	Lag [LagDays]uint64 `json:"lag"`
}

// LagDay is the lag-histogram bucket of a decision with event time event
// labelled at recorded: whole days, 0 for a label recorded before the
// event, LagDays-1 for a year or more.
func LagDay(event, recorded time.Time) int {
	d := int(recorded.Sub(event) / (24 * time.Hour))
	return min(max(d, 0), LagDays-1)
}

// Merge adds o's counts to w.
func (w *LabelWhatIf) Merge(o *LabelWhatIf) {
	w.Hist.Add(&o.Hist)
	if w.ByType == nil {
		w.ByType = map[string]*LabelHist{}
	}
	for t, h := range o.ByType {
		if w.ByType[t] == nil {
			w.ByType[t] = new(LabelHist)
		}
		w.ByType[t].Add(h)
	}
	w.Errors += o.Errors
	for i := range w.Lag {
		w.Lag[i] += o.Lag[i]
	}
}

// Metrics measure one way of flagging decisions (deny, or challenge or
// deny) against labels: TP are flagged fraud, FP flagged legit, FN
// unflagged fraud, TN unflagged legit. A ratio with a zero denominator is
// 0.
type Metrics struct {
	TP        uint64  `json:"tp"`
	FP        uint64  `json:"fp"`
	FN        uint64  `json:"fn"`
	TN        uint64  `json:"tn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	FPR       float64 `json:"false_positive_rate"`
}

func ratio(n, d uint64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// NewMetrics completes the ratios of the four counts.
func NewMetrics(tp, fp, fn, tn uint64) Metrics {
	return Metrics{TP: tp, FP: fp, FN: fn, TN: tn,
		Precision: ratio(tp, tp+fp), Recall: ratio(tp, tp+fn), FPR: ratio(fp, fp+tn)}
}

// PolicyMetrics are the metrics of one policy: for deny, and for
// challenge or deny.
type PolicyMetrics struct {
	Deny            Metrics `json:"deny"`
	ChallengeOrDeny Metrics `json:"challenge_or_deny"`
}

// ByAction counts decisions by action: allow, challenge, deny.
type ByAction [3]uint64

// ClassCounts counts labelled decisions by class (fraud, legit) and action.
type ClassCounts [2]ByAction

// Metrics measures the actions of c against its labels.
func (c ClassCounts) Metrics() PolicyMetrics {
	f, l := c[ClassFraud], c[ClassLegit]
	return PolicyMetrics{
		Deny:            NewMetrics(f[2], l[2], f[0]+f[1], l[0]+l[1]),
		ChallengeOrDeny: NewMetrics(f[1]+f[2], l[1]+l[2], f[0], l[0]),
	}
}

// CurvePoint is the simulated policy's metrics with deny from Deny (and
// challenge from the lower of Deny and the thresholds' challenge).
type CurvePoint struct {
	Deny            int     `json:"deny"`
	Precision       float64 `json:"precision"`
	Recall          float64 `json:"recall"`
	FPR             float64 `json:"false_positive_rate"`
	CoDPrecision    float64 `json:"challenge_or_deny_precision"`
	CoDRecall       float64 `json:"challenge_or_deny_recall"`
	CoDFPR          float64 `json:"challenge_or_deny_false_positive_rate"`
	Flagged, Denied uint64  `json:"-"`
}

// Outcome is one policy's effect on one set of decisions: the labels x
// actions counts and their metrics.
type Outcome struct {
	Labels    ClassCounts   `json:"-"`
	Unlabeled ByAction      `json:"-"`
	Metrics   PolicyMetrics `json:"metrics"`
}

// TypeReport is a LabelReport's part for one event type.
type TypeReport struct {
	Matrix    [3][3]uint64 `json:"-"`
	Simulated Outcome      `json:"simulated"`
	Today     Outcome      `json:"today"`
}

// LabelReport is what a LabelWhatIf says at its thresholds.
type LabelReport struct {
	Thresholds Thresholds
	From, To   time.Time
	AsOf       time.Time
	// Fit, when set, is the threshold policy that best reproduces the
	// actual actions (FitThresholds), "today's policy" as thresholds.
	Fit *Fit
	// Matrix counts actual (rows: allow, challenge, deny) x simulated.
	Matrix [3][3]uint64
	// Simulated is the thresholds' outcome, Today the actual actions'.
	Simulated, Today Outcome
	// Unlabeled counts scored decisions without a label.
	Unlabeled uint64
	ByType    map[string]*TypeReport
	// Curve has a point for every deny threshold 0..100.
	Curve [101]CurvePoint
	// LagMedian and LagP90 are the label lag in days; LagCount the
	// labelled decisions they are over.
	LagMedian, LagP90 int
	LagCount          uint64
}

// Report derives the matrices, metrics, curve and lag of w at its
// thresholds, in O(buckets) whatever the number of decisions.
func (w *LabelWhatIf) Report() LabelReport {
	r := LabelReport{Thresholds: w.Thresholds, From: w.From, To: w.To, AsOf: w.AsOf}
	th := w.Thresholds
	r.Matrix, r.Simulated, r.Today = outcomes(&w.Hist, th)
	r.Unlabeled = r.Simulated.Unlabeled[0] + r.Simulated.Unlabeled[1] + r.Simulated.Unlabeled[2]
	r.ByType = map[string]*TypeReport{}
	for t, h := range w.ByType {
		tr := &TypeReport{}
		tr.Matrix, tr.Simulated, tr.Today = outcomes(h, th)
		r.ByType[t] = tr
	}
	r.Curve = curve(&w.Hist, th)
	r.LagMedian, r.LagP90, r.LagCount = lagQuantiles(&w.Lag)
	return r
}

// outcomes folds h into the matrix and both policies' outcomes.
func outcomes(h *LabelHist, th Thresholds) (m [3][3]uint64, sim, today Outcome) {
	for c := range h {
		for b := range h[c] {
			s := th.SimulateBucket(b)
			for a, n := range h[c][b] {
				if n == 0 {
					continue
				}
				m[a][s] += n
				if c == ClassUnlabeled {
					sim.Unlabeled[s] += n
					today.Unlabeled[a] += n
					continue
				}
				sim.Labels[c][s] += n
				today.Labels[c][a] += n
			}
		}
	}
	sim.Metrics, today.Metrics = sim.Labels.Metrics(), today.Labels.Metrics()
	return m, sim, today
}

// curve computes the simulated metrics for every deny threshold from
// suffix sums of the labelled buckets.
func curve(h *LabelHist, th Thresholds) [101]CurvePoint {
	var above [2][102]uint64 // above[c][b]: class c decisions in buckets >= b
	for c := range 2 {
		for b := 100; b >= 0; b-- {
			row := h[c][b]
			above[c][b] = above[c][b+1] + row[0] + row[1] + row[2]
		}
	}
	fraud, legit := above[ClassFraud][0], above[ClassLegit][0]
	var out [101]CurvePoint
	for d := range 101 {
		tp, fp := above[ClassFraud][d], above[ClassLegit][d]
		m := NewMetrics(tp, fp, fraud-tp, legit-fp)
		c := d
		if ch := math.Ceil(th.Challenge); ch < float64(d) {
			c = int(max(ch, 0))
		}
		ctp, cfp := above[ClassFraud][c], above[ClassLegit][c]
		cm := NewMetrics(ctp, cfp, fraud-ctp, legit-cfp)
		out[d] = CurvePoint{Deny: d, Precision: m.Precision, Recall: m.Recall, FPR: m.FPR,
			CoDPrecision: cm.Precision, CoDRecall: cm.Recall, CoDFPR: cm.FPR, Flagged: ctp + cfp, Denied: tp + fp}
	}
	return out
}

// lagQuantiles returns the median and 90th percentile of a lag histogram
// in days, and its count.
func lagQuantiles(lag *[LagDays]uint64) (median, p90 int, n uint64) {
	for _, c := range lag {
		n += c
	}
	if n == 0 {
		return 0, 0, 0
	}
	q := func(p float64) int {
		rank := uint64(math.Ceil(p * float64(n)))
		var seen uint64
		for d, c := range lag {
			if seen += c; seen >= max(rank, 1) {
				return d
			}
		}
		return LagDays - 1
	}
	return q(0.5), q(0.9), n
}
