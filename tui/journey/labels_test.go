package journey

import (
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// f on a timeline event labels the user after asking why; the title shows
// the label.
func TestLabelFromTimeline(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), 100, 30)
	for range 10 {
		d.Key("down")
	}
	d.Key("enter")
	waitTimeline(d, host)
	d.Key("n")
	_, plain := screen(t, host.M)
	if !host.M.InputActive() || !strings.Contains(plain, "label user victim legit, reason:") {
		t.Fatalf("n on the timeline:\n%s", plain)
	}
	d.Type("known customer")
	d.Key("enter")
	d.WaitFor("the label in the title", func() bool {
		_, plain := screen(t, host.M)
		return strings.Contains(plain, "label legit")
	})
	sel, _ := host.M.Selected()
	if sel.Label != decision.LabelLegit {
		t.Errorf("the selected event carries %q", sel.Label)
	}
}
