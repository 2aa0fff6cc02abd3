package whatif

import (
	"context"
	"fmt"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// TestPolicyModeLabels: with labels, p shows the precision and recall of
// deny and of challenge-or-deny for Safe-e's actions and the shadow
// policy's, as the replay counts them; the screen is a golden.
func TestPolicyModeLabels(t *testing.T) {
	r := fixture.NewShaped()
	var in []api.LabelInput
	for i, d := range fixture.ShapedDecisions() {
		if i%3 != 0 || d.EventID == "" {
			continue
		}
		c := decision.LabelLegit
		if d.ScoreValue(0) >= 60 {
			c = decision.LabelFraud
		}
		in = append(in, api.LabelInput{Kind: decision.SubjectEvent, Subject: d.EventID, Class: c, Reason: "test"})
	}
	if res, err := r.Label(context.Background(), api.LabelWrite{Labels: in}); err != nil || len(res.Problems) > 0 {
		t.Fatalf("labels: %v %+v", err, res.Problems)
	}
	want, err := r.Replay(context.Background(), api.ReplayQuery{Shadow: true})
	if err != nil || want.Labels == nil {
		t.Fatalf("replay: %v, labels %v", err, want.Labels)
	}
	d, host := run(t, r, nil, 100, 30)
	d.Key("p")
	d.WaitFor("the replay", func() bool { return host.M.pol != nil && !host.M.polReq.Busy() })
	ascii, plain := screen(t, host.M)
	live, pol := want.Labels.Live.Labels.Metrics(), want.Labels.Policy.Labels.Metrics()
	fixture.Contains(t, plain, "deny prec",
		fmt.Sprintf("safe-e%37.3f%11.3f%11.3f%11.3f", live.Deny.Precision, live.Deny.Recall, live.ChallengeOrDeny.Precision, live.ChallengeOrDeny.Recall),
		fmt.Sprintf("policy%37.3f%11.3f%11.3f%11.3f", pol.Deny.Precision, pol.Deny.Recall, pol.ChallengeOrDeny.Precision, pol.ChallengeOrDeny.Recall))
	golden.RequireEqual(t, ascii)
}
