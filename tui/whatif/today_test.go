package whatif

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// policyStore holds n decisions, one a minute back from Now, whose actions
// come from act (errors kept as the fixture makes them).
func policyStore(n int, act func(d *decision.Decision) decision.Action) *fixture.Reader {
	ds := make([]decision.Decision, n)
	for i := range ds {
		d := fixture.Decision(i+1, fixture.Now().Add(-time.Duration(n-i)*time.Minute))
		d.Risk = float64(i % 101) // every whole point
		if d.Action != decision.ActionError {
			d.Action = act(&d)
		}
		ds[i] = d
	}
	return fixture.NewWith(ds)
}

// The view starts from today's policy, not from the configured
// thresholds, and says how much of Safe-e's actions it reproduces: all of
// them for actions that come from thresholds; for others, what a recount
// of the store gives.
func TestStartsFromTodaysPolicy(t *testing.T) {
	known := decision.Thresholds{Score: decision.ScoreRisk, Challenge: 48, Deny: 71}
	d, host := run(t, policyStore(505, known.Of), nil, 100, 30)
	if got := host.M.Thresholds(); got != known {
		t.Fatalf("started from %+v, want today's %+v", got, known)
	}
	fixture.Contains(t, ansi.Strip(host.M.View()), "today's policy: challenge ≥48, deny ≥71, reproduces 100.0% (simulated)")
	d.Key("x") // the configured thresholds
	settle(d, host)
	if host.M.Thresholds() != common.DefaultThresholds() {
		t.Fatalf("x reset to %+v", host.M.Thresholds())
	}
	fixture.Contains(t, ansi.Strip(host.M.View()), "(f sets it)")
	d.Key("f")
	settle(d, host)
	if host.M.Thresholds() != known {
		t.Fatalf("f set %+v", host.M.Thresholds())
	}

	// A policy no thresholds express: the share is a recount.
	band := func(d *decision.Decision) decision.Action {
		if d.Risk >= 20 && d.Risk < 35 {
			return decision.ActionDeny
		}
		return known.Of(d)
	}
	r := policyStore(505, band)
	_, host = run(t, r, nil, 100, 30)
	fit, ok := host.M.Today()
	if !ok {
		t.Fatal("no fit")
	}
	var agree, total uint64
	for _, dec := range r.All() {
		if dec.Action == decision.ActionError {
			continue
		}
		total++
		if fit.Thresholds.Of(&dec) == dec.Action {
			agree++
		}
	}
	want := fmt.Sprintf("reproduces %s", common.Share(agree, total))
	if fit.Agree != agree || fit.Total != total || !strings.Contains(ansi.Strip(host.M.View()), want) {
		t.Errorf("fit %+v says %d of %d; recount %d of %d (%s)", fit.Thresholds, fit.Agree, fit.Total, agree, total, want)
	}
}

// = replaces the value rather than adding to it, and moving a threshold
// past the other says that the other moved too.
func TestEditReplacesAndPassingIsSaid(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), nil, 100, 30)
	d.Key("d")
	d.Key("=")
	fixture.Contains(t, ansi.Strip(host.M.View()), "set deny to:", "(now 80)")
	d.Type("65")
	d.Key("enter")
	settle(d, host)
	if got := host.M.Thresholds().Deny; got != 65 {
		t.Fatalf("typing 65 after = gave deny %v", got)
	}
	d.Key("c")
	d.Key("=")
	d.Type("90")
	d.Key("enter")
	settle(d, host)
	if th := host.M.Thresholds(); th.Challenge != 90 || th.Deny != 90 {
		t.Fatalf("challenge to 90: %+v", th)
	}
	if st := lastStatus(host); st.Text != "challenge ≥90 passed deny: deny moved up to 90 too" || st.Level != common.LevelWarn {
		t.Errorf("status %+v", st)
	}
	d.Key("d")
	d.PressN("shift+left", 10) // deny 90 -> 40, below challenge
	settle(d, host)
	if st := lastStatus(host); !strings.Contains(st.Text, "passed challenge: challenge moved down to") {
		t.Errorf("status %+v", st)
	}
}

// The list of decisions that would change reads more pages as the
// selection reaches its end, up to all of them, newest first as a
// recount orders them; u and y work on its rows.
func TestFlipsPageAndRowKeys(t *testing.T) {
	r := policyStore(1400, decision.Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 80}.Of)
	d, host := run(t, r, nil, 100, 30)
	d.Key("c")
	d.Key("=")
	d.Type("10")
	d.Key("enter")
	settle(d, host)
	th := host.M.Thresholds()
	var want []string
	all := r.All()
	for i := len(all) - 1; i >= 0; i-- {
		if dec := &all[i]; dec.Action != decision.ActionError && th.Of(dec) != dec.Action {
			want = append(want, dec.ID)
		}
	}
	if len(want) <= 2*FlipsPage {
		t.Fatalf("only %d flips: not enough to page", len(want))
	}
	if len(host.M.Flips()) != FlipsPage {
		t.Fatalf("first page %d", len(host.M.Flips()))
	}
	fixture.Contains(t, ansi.Strip(host.M.View()), "200 read, more at the end")
	for range 10 {
		d.Key("G")
		settle(d, host)
	}
	var got []string
	for _, f := range host.M.Flips() {
		got = append(got, f.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after paging: %d flips, want all %d in order", len(got), len(want))
	}
	if host.M.cursor != FlipsPage*(len(want)/FlipsPage)-1 && host.M.cursor < 2*FlipsPage {
		t.Errorf("the selection did not stay where paging left it: %d", host.M.cursor)
	}
	sel := host.M.Flips()[host.M.cursor]
	d.Key("u")
	d.Key("y")
	d.WaitFor("u to open "+sel.UserID+"'s journey and y to copy", func() bool {
		opened := false
		for _, msg := range host.Sent() {
			if oj, ok := msg.(common.OpenJourneyMsg); ok && oj.UserID == sel.UserID {
				opened = true
			}
		}
		return opened && lastStatus(host).Text == "copied decision JSON to clipboard"
	})
}
