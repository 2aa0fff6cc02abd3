package whatif

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// labelsRead is the what-if with labels as read for q, with its report.
type labelsRead struct {
	q query
	r decision.LabelReport
}

// MatureAge is the label lag m leaves out: chargebacks take weeks.
const MatureAge = 30 * 24 * time.Hour

// labelLines is how many lines the label metrics take: the metrics, then
// precision and recall over every deny threshold.
const labelLines = 3

// loadLabels reads the what-if with labels for the current thresholds
// and window (the collector keeps the counts of its last scan, so moving
// the thresholds costs no scan).
func (m *Model) loadLabels() tea.Cmd {
	q := m.current()
	from, to := common.Windows[q.win].Bounds(m.c.Clock())
	data := m.c.Data
	lq := api.LabelWhatIfQuery{Thresholds: q.th, From: from, To: to}
	if m.mature {
		lq.Mature = MatureAge
	}
	return m.lbReq.Go(m.c, func(ctx context.Context) (labelsRead, error) {
		w, err := data.LabelWhatIf(ctx, lq)
		if err != nil {
			return labelsRead{q: q}, fmt.Errorf("what-if with labels: %w", err)
		}
		return labelsRead{q: q, r: w.Report()}, nil
	})
}

// onLabels keeps the newest answer; an error hides the metrics.
func (m *Model) onLabels(msg common.Answer[labelsRead]) {
	if !m.lbReq.Take(msg) {
		return
	}
	m.lb = nil
	if msg.Err == nil {
		v := msg.Value
		m.lb = &v
	}
}

// labelled is how many decisions of the answer carry a label.
func labelled(r *decision.LabelReport) uint64 {
	var n uint64
	for _, c := range r.Simulated.Labels {
		n += c[0] + c[1] + c[2]
	}
	return n
}

// ratio shows a metric to two places.
func ratio(v float64) string { return fmt.Sprintf("%.2f", v) }

// labelBlock renders the label metrics of the simulated thresholds and of
// today's actions, and the precision and recall curves over every deny
// threshold with the current one marked.
func (m Model) labelBlock() []string {
	st := m.c.Styles
	r := &m.lb.r
	f, l := r.Simulated.Labels[decision.ClassFraud], r.Simulated.Labels[decision.ClassLegit]
	sim, today := r.Simulated.Metrics, r.Today.Metrics
	mature := ""
	if m.mature {
		mature = "older than 30d: "
	}
	head := fmt.Sprintf("%slabels %s fraud · %s legit · %s unlabeled │ deny P %s R %s FPR %s · chal/deny P %s R %s │ today deny P %s R %s │ lag median %dd p90 %dd",
		mature, common.Count(f[0]+f[1]+f[2]), common.Count(l[0]+l[1]+l[2]), common.Count(r.Unlabeled),
		ratio(sim.Deny.Precision), ratio(sim.Deny.Recall), ratio(sim.Deny.FPR),
		ratio(sim.ChallengeOrDeny.Precision), ratio(sim.ChallengeOrDeny.Recall),
		ratio(today.Deny.Precision), ratio(today.Deny.Recall), r.LagMedian, r.LagP90)
	const label = "precision "
	n := min(len(r.Curve), max(m.width-len(label)-2, 2))
	prec, rec := make([]uint64, n), make([]uint64, n)
	mark := -1
	for i := range n {
		d := i * 100 / max(n-1, 1)
		p := r.Curve[d]
		prec[i], rec[i] = uint64(p.Precision*1000), uint64(p.Recall*1000)
		if mark < 0 && float64(d) >= m.th.Deny {
			mark = i
		}
	}
	curve := func(name string, v []uint64) string {
		s := []rune(widget.SparklineTo(v, 1000))
		if mark >= 0 {
			return st.Dim.Render(name) + string(s[:mark]) + st.Selected.Render(string(s[mark])) + string(s[mark+1:])
		}
		return st.Dim.Render(name) + string(s)
	}
	return []string{
		st.Bold.Render(common.Truncate(head, m.width)),
		common.Clip(curve(label, prec), m.width),
		common.Clip(curve(fmt.Sprintf("%-*s", len(label), "recall"), rec), m.width),
	}
}

// hasLabels reports whether the label block has something to show.
func (m Model) hasLabels() bool { return m.lb != nil && labelled(&m.lb.r) > 0 }
