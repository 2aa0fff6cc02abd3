package whatif

import (
	"context"
	"fmt"
	"strconv"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// Policy mode (p) shows a replay of the collector's shadow policy over
// the window instead of the thresholds: Safe-e's actions against the
// policy's, each rule's matched and decided counts and, when decisions
// carry labels, the precision and recall of Safe-e's actions and the
// policy's. It is read when the mode is entered and when the window
// changes.

// policyRead is a replay as read for a window.
type policyRead struct {
	win int
	rep api.ReplayReport
}

// loadPolicy reads the replay of the shadow policy over the window.
func (m *Model) loadPolicy() tea.Cmd {
	win := m.win
	from, to := common.Windows[win].Bounds(m.c.Clock())
	data := m.c.Data
	return m.polReq.Go(m.c, func(ctx context.Context) (policyRead, error) {
		rep, err := data.Replay(ctx, api.ReplayQuery{Shadow: true, From: from, To: to})
		if err != nil {
			err = fmt.Errorf("replay of the shadow policy: %w", err)
		}
		return policyRead{win: win, rep: rep}, err
	})
}

func (m *Model) onPolicy(msg common.Answer[policyRead]) {
	if !m.polReq.Take(msg) {
		return
	}
	m.polErr = msg.Err
	if msg.Err == nil {
		r := msg.Value
		m.pol = &r
	}
}

// policyLines renders the replay: a summary, the matrix of Safe-e's
// actions (rows) against the policy's (columns), the label metrics when
// there are labels (above the rules, which may be many), and the rules.
func (m Model) policyLines() []string {
	st := m.c.Styles
	line := func(s string) string { return common.Truncate(s, m.width) }
	head := []string{st.Title.Render(line("What-if │ policy (p: back to thresholds) │ " + common.Windows[m.win].Label))}
	if inForce, failed := common.ShadowLines(m.shadow, m.c.Clock()); inForce != "" {
		head = append(head, st.Dim.Render(line("shadow policy: "+inForce)))
		if failed != "" {
			head = append(head, st.Bad.Render(line(failed)))
		}
	}
	switch {
	case m.polErr != nil:
		return append(head, st.Bad.Render(line(common.Sanitize(m.polErr.Error()))))
	case m.pol == nil || m.polReq.Busy() && m.pol.win != m.win:
		return append(head, st.Dim.Render(line("replaying…")))
	}
	rep := &m.pol.rep
	out := append(head, st.Bold.Render(line(fmt.Sprintf("%s decisions, %s decided otherwise by the shadow policy",
		common.Count(uint64(rep.Decisions)), common.Count(uint64(rep.Changed))))))
	cell := func(s string, w int) string { return fmt.Sprintf("%*s", w, s) }
	hdr := cell("safe-e \\ policy", 16)
	for _, a := range decision.Actions {
		hdr += cell(string(a), 11)
	}
	out = append(out, st.Dim.Render(line(hdr)))
	for i, a := range decision.Actions {
		row := cell(string(a), 16)
		for _, n := range rep.Matrix[i] {
			row += cell(strconv.Itoa(n), 11)
		}
		out = append(out, line(row))
	}
	if l := rep.Labels; l != nil {
		labelled := uint64(rep.Decisions) - l.Unlabeled
		out = append(out, "", st.Dim.Render(line(fmt.Sprintf("%-32s%11s%11s%11s%11s",
			fmt.Sprintf("%s labelled, %s not", common.Count(labelled), common.Count(l.Unlabeled)),
			"deny prec", "recall", "c|d prec", "recall"))))
		for _, row := range []struct {
			name  string
			split decision.LabelSplit
		}{{"safe-e", l.Live}, {"policy", l.Policy}} {
			pm := row.split.Labels.Metrics()
			out = append(out, line(fmt.Sprintf("%-32s%11.3f%11.3f%11.3f%11.3f", row.name,
				pm.Deny.Precision, pm.Deny.Recall, pm.ChallengeOrDeny.Precision, pm.ChallengeOrDeny.Recall)))
		}
	}
	out = append(out, "", st.Dim.Render(line(fmt.Sprintf("%-32s%11s%11s%9s", "rule", "matched", "decided", "errors"))))
	for _, r := range rep.Rules {
		name := common.Truncate(common.Sanitize(r.Name), 31)
		out = append(out, line(fmt.Sprintf("%-32s%11d%11d%9d", name, r.Matched, r.Decided, r.Errors)))
	}
	return out
}
