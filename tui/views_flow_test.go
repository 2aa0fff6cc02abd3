package tui

import (
	"strings"
	"sync"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// savedThresholds records what the What-if view saved.
type savedThresholds struct {
	mu  sync.Mutex
	got []Thresholds
}

func (s *savedThresholds) save(t Thresholds) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, t)
	return "/etc/riskwatch/config.toml", nil
}

func (s *savedThresholds) all() []Thresholds {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Thresholds(nil), s.got...)
}

// runShapedFlow starts the whole dashboard as a program on the shaped
// fixture (skewed risk, an account takeover, a known set of flips) in a
// 100x30 terminal without colours, and waits for the Live view.
func runShapedFlow(t *testing.T) (*flow, *savedThresholds) {
	t.Helper()
	r := fixture.NewShaped()
	saved := &savedThresholds{}
	opts := testOptions(r)
	th := common.DefaultThresholds()
	opts.Thresholds = &th
	opts.SaveThresholds = saved.save
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f := startFlow(t, m, r, "following")
	return f, saved
}

func (f *flow) press(k string, n int) {
	for range n {
		f.tm.Send(fixture.Press(k))
	}
}

// A histogram bar opens the Live view filtered to its score range: the
// last hour's risks 40-44 are 40, 42 and 43.
func TestFlowHistogramBarToLive(t *testing.T) {
	f, _ := runShapedFlow(t)
	f.keys("2")
	f.wait(t, "[2 Histograms]", "100 scored", "prev 60 +67%")
	f.press("right", 8) // 100 columns: bars of 5 points
	f.wait(t, "risk 40-44: 3 of 100 (3.0%)")
	f.keys("enter")
	f.wait(t, "[1 Live]", "filter: risk>=40 risk<45 since:1h", "3 of ")
	m := f.finalModel(t)
	if m.live.Filter() != "risk>=40 risk<45 since:1h" || m.live.Len() != 3 {
		t.Fatalf("Live filter %q with %d rows", m.live.Filter(), m.live.Len())
	}
	screen := ansi.Strip(m.View().Content)
	for _, risk := range []string{" 40 ", " 42 ", " 43 "} {
		if !strings.Contains(screen, risk) {
			t.Errorf("no row of risk%s:\n%s", risk, screen)
		}
	}
}

// A journey shows the takeover; enter opens an event's detail, esc comes
// back to the journey.
func TestFlowJourneyDetailBack(t *testing.T) {
	f, _ := runShapedFlow(t)
	f.keys("3")
	f.wait(t, "[3 Journeys]", "13 users", "victim")
	f.press("down", 10) // victim, 11th by last seen
	f.keys("enter")
	f.wait(t, "User victim", "account takeover chain: 6 events", "+198.51.100.7")
	f.keys("enter") // the newest event: the takeover's transaction
	victim10, _ := f.r.ByEventID("victim-10")
	f.wait(t, "Decision "+victim10.ID, "transaction")
	f.keys("esc")
	f.wait(t, "User victim", "account takeover chain")
	m := f.finalModel(t)
	if (m.focus() == common.ViewDetail) || m.activeTab() != common.ViewJourneys || m.journeys.User() != "victim" {
		t.Fatalf("after esc: detail %v, view %v, user %q", (m.focus() == common.ViewDetail), m.activeTab(), m.journeys.User())
	}
}

// Moving deny to 70 flips three decisions; enter on one opens its detail;
// the histograms draw the moved line; s saves.
func TestFlowWhatIfFlipToDetail(t *testing.T) {
	f, saved := runShapedFlow(t)
	f.keys("4")
	f.wait(t, "[4 What-if]", "[deny ≥80]", "would change: 0")
	f.press("left", 10)
	f.wait(t, "[deny ≥70]", "would change: 3, newest first", "CHALLENGE → DENY")
	f.keys("down")
	f.keys("enter")
	second, _ := f.r.ByEventID(fixture.FlipEventIDs()[1])
	f.wait(t, "Decision "+second.ID, "CHALLENGE")
	f.keys("esc")
	f.wait(t, "[4 What-if]", "would change: 3")
	f.keys("2")
	f.wait(t, "[2 Histograms]", "┃≥70")
	f.keys("4")
	f.keys("s")
	f.wait(t, "thresholds saved to /etc/riskwatch/config.toml")
	m := f.finalModel(t)
	want := Thresholds{Score: decision.ScoreRisk, Challenge: 50, Deny: 70}
	if got := saved.all(); len(got) != 1 || got[0] != want {
		t.Fatalf("saved %+v, want %+v", got, want)
	}
	if m.c.Thresholds == nil || *m.c.Thresholds != want {
		t.Fatalf("shared thresholds %+v", m.c.Thresholds)
	}
}

// x on a histogram bar explains its score range over the histogram's
// window; esc comes back to the bar. x on Live explains Live's filter.
func TestFlowExplain(t *testing.T) {
	f, _ := runShapedFlow(t)
	f.keys("2")
	f.wait(t, "[2 Histograms]", "100 scored")
	f.press("right", 8)
	f.wait(t, "risk 40-44: 3 of 100 (3.0%)")
	f.keys("x")
	f.wait(t, "Explain risk>=40 risk<45", "against the 1h before")
	f.keys("esc")
	f.wait(t, "[2 Histograms]", "risk 40-44: 3 of 100 (3.0%)")
	f.keys("1")
	f.keys("x")
	f.wait(t, "Explain all decisions", "against the 1h before", "09:50–10:00")
	f.keys("esc")
	f.wait(t, "[1 Live]", "following")
	m := f.finalModel(t)
	if q := m.explain.Query(); q.Window != "10m" || q.Baseline != "1h" || q.Filter != "" {
		t.Fatalf("query %+v", q)
	}
}
