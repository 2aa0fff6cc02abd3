package whatif

import (
	"context"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// With labels, the view shows the simulated thresholds' precision and
// recall against them, today's, and the curves over every deny threshold.
func TestLabelMetrics(t *testing.T) {
	r := fixture.New(40)
	ds, err := r.Latest(context.Background(), api.LatestQuery{N: 40})
	if err != nil {
		t.Fatal(err)
	}
	var in []api.LabelInput
	for _, d := range ds {
		class := decision.LabelLegit
		if d.Action == decision.ActionDeny {
			class = decision.LabelFraud
		}
		in = append(in, api.LabelInput{Kind: decision.SubjectEvent, Subject: d.EventID, Class: class})
	}
	if _, err := r.Label(context.Background(), api.LabelWrite{Labels: in}); err != nil {
		t.Fatal(err)
	}
	d, host := run(t, r, nil, 140, 40)
	d.WaitFor("the label metrics", func() bool { return host.M.hasLabels() && !host.M.lbReq.Busy() })
	_, plain := screen(t, host.M)
	for _, want := range []string{"labels ", " fraud · ", "deny P ", "today deny P 1.00 R 1.00", "precision ", "recall "} {
		if !strings.Contains(plain, want) {
			t.Errorf("screen lacks %q:\n%s", want, plain)
		}
	}
	// m leaves out what is younger than 30 days: every fixture decision.
	d.Key("m")
	d.WaitFor("no mature labels", func() bool { return !host.M.lbReq.Busy() && !host.M.hasLabels() })
}
