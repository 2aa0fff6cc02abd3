package links

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// ringReader holds a ring of four users on one IP (r3 denied), r0 also
// behind a NAT address shared by 60 users, and r1 on a device it shares
// with d0 and d1.
func ringReader(t *testing.T) *fixture.Reader {
	t.Helper()
	r := fixture.New(0)
	var ds []decision.Decision
	add := func(user, ip, ua string, risk float64) {
		d := fixture.Decision(len(ds)+1, fixture.Now().Add(-time.Hour))
		d.UserID, d.IP, d.UserAgent, d.Email, d.Risk = user, ip, ua, "", risk
		d.Action = decision.ActionAllow
		if risk >= 80 {
			d.Action = decision.ActionDeny
		}
		ds = append(ds, d)
	}
	for i := range 4 {
		add(fmt.Sprintf("r%d", i), "198.51.100.7", "", float64(20+20*i))
	}
	for i := range 60 {
		add(fmt.Sprintf("n%02d", i), "100.64.0.1", "", 1)
	}
	add("r0", "100.64.0.1", "", 5)
	for _, u := range []string{"r1", "d0", "d1"} {
		add(u, "10.9.9.9", "RingBot/1.0", 50)
	}
	if err := r.Push(context.Background(), api.Batch{Decisions: ds}); err != nil {
		t.Fatal(err)
	}
	return r
}

func newLinks(t *testing.T, w, h int, r *fixture.Reader) Model {
	t.Helper()
	c := common.New(context.Background(), r, fixture.Now)
	c.Styles = common.NewStyles(common.Theme{Plain: true})
	m := New(c)
	m.SetSize(w, h)
	return m
}

// run executes cmd and hands its message to m.
func run(m Model, cmd tea.Cmd) Model {
	if cmd != nil {
		m, _ = m.Update(cmd())
	}
	return m
}

func press(m Model, keys ...string) (Model, tea.Cmd) {
	var cmd tea.Cmd
	for _, k := range keys {
		m, cmd = m.Update(fixture.KeyPress(k))
	}
	return m, cmd
}

// screen renders m and checks it is exactly its size.
func screen(t *testing.T, m Model) string {
	t.Helper()
	out := m.View()
	lines := strings.Split(out, "\n")
	if len(lines) != m.height {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), m.height, out)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > m.width {
			t.Fatalf("line %q is %d wide in %d", ansi.Strip(l), w, m.width)
		}
	}
	return ansi.Strip(out)
}

func TestLinksGolden(t *testing.T) {
	m := newLinks(t, 80, 16, ringReader(t))
	if scr := screen(t, m); !strings.Contains(scr, "press l on a user") {
		t.Errorf("before any user:\n%s", scr)
	}
	m = run(m, m.Open("r0"))
	scr := screen(t, m)
	for _, want := range []string{
		"├─ ip 100.64.0.1  supernode: 60 users, not listed",
		"│  ├─ r3  1 event  max risk 80  1 deny",
		"└─ ip24 198.51.100.0/24  3 users",
	} {
		if !strings.Contains(scr, want) {
			t.Errorf("the tree lacks %q:\n%s", want, scr)
		}
	}
	golden.RequireEqual(t, scr)

	// Depth 2: what r1 shares with others hangs under r1.
	m, cmd := press(m, "d")
	m = run(m, cmd)
	if scr := screen(t, m); !strings.Contains(scr, "ua ") || !strings.Contains(scr, "d0  1 event") {
		t.Errorf("depth 2 lacks r1's device and d0:\n%s", scr)
	}
}

func TestLinksFilterAndOpen(t *testing.T) {
	m := newLinks(t, 80, 16, ringReader(t))
	m = run(m, m.Open("r0"))
	m, _ = press(m, "/", "r", "3")
	if !m.InputActive() {
		t.Fatal("/ did not open the filter")
	}
	m, _ = press(m, "enter")
	scr := screen(t, m)
	if strings.Contains(scr, "r2") || !strings.Contains(scr, "r3  1 event") || !strings.Contains(scr, "ip 198.51.100.7") {
		t.Errorf("filter r3 keeps r3 and its path only:\n%s", scr)
	}
	// The first r3 row: the user, its value, r3.
	m, _ = press(m, "j", "j")
	_, cmd := press(m, "enter")
	if cmd == nil {
		t.Fatal("enter on r3 did nothing")
	}
	if msg, ok := cmd().(common.OpenJourneyMsg); !ok || msg.UserID != "r3" {
		t.Errorf("enter on r3 asked %#v", cmd())
	}
	if !m.HandlesBack() {
		t.Error("esc does not clear the filter first")
	}
	m, _ = press(m, "esc")
	if m.HandlesBack() || !strings.Contains(screen(t, m), "r2") {
		t.Error("esc did not clear the filter")
	}
	// enter on a value row opens nothing.
	m, _ = press(m, "g", "j")
	if _, cmd := press(m, "enter"); cmd == nil {
		t.Error("enter on a value says nothing")
	} else if _, ok := cmd().(common.StatusMsg); !ok {
		t.Errorf("enter on a value: %#v", cmd())
	}
}

func TestLinksDropsStaleAnswers(t *testing.T) {
	m := newLinks(t, 80, 16, ringReader(t))
	first := m.Open("r0")
	second := m.Open("d0")
	m = run(m, second)
	m = run(m, first) // r0's answer arrives late
	if scr := screen(t, m); !strings.Contains(scr, "Links of d0") || strings.Contains(scr, "100.64.0.1") {
		t.Errorf("a stale answer was shown:\n%s", scr)
	}
}

func TestLinksHostileUser(t *testing.T) {
	r := fixture.New(0)
	evil := "evil\x1b[2J\x1b]52;c;aGk=\x07"
	var ds []decision.Decision
	for i, u := range []string{evil, "other"} {
		d := fixture.Decision(i+1, fixture.Now())
		d.UserID, d.IP = u, "192.0.2.1"
		ds = append(ds, d)
	}
	if err := r.Push(context.Background(), api.Batch{Decisions: ds}); err != nil {
		t.Fatal(err)
	}
	m := newLinks(t, 40, 8, r)
	m = run(m, m.Open("other"))
	raw := m.View()
	if strings.Contains(raw, "\x1b[2J") || strings.Contains(raw, "\x1b]52") {
		t.Fatalf("escape sequences reached the screen: %q", raw)
	}
	screen(t, m)
	for _, size := range [][2]int{{0, 0}, {1, 1}, {5, 2}, {200, 3}} {
		m.SetSize(size[0], size[1])
		_ = m.View()
	}
}

// TestLinksLabelCluster labels the cluster shown through the fixture's
// writer: F says the count and asks a reason, enter writes a user label
// for each user shown, the tree shows them, z asks the root to undo, and
// with a filter only the users it keeps are labelled.
func TestLinksLabelCluster(t *testing.T) {
	r := ringReader(t)
	m := newLinks(t, 80, 16, r)
	m = run(m, m.Open("r0"))
	m, _ = press(m, "F")
	if !m.InputActive() || !m.HandlesBack() {
		t.Fatal("F did not open the reason prompt")
	}
	if scr := screen(t, m); !strings.Contains(scr, "label 4 users of r0's cluster fraud, reason:") {
		t.Errorf("the prompt does not say the count:\n%s", scr)
	}
	m, _ = press(m, "r", "i", "n", "g")
	m, cmd := press(m, "enter")
	if m.InputActive() || cmd == nil {
		t.Fatal("enter did not record the labels")
	}
	msg, ok := cmd().(common.LabelledMsg)
	if !ok {
		t.Fatalf("enter answered %#v", cmd())
	}
	m, _ = m.Update(msg)
	var subjects []string
	for _, e := range ledger(t, r) {
		if e.Kind != decision.SubjectUser || e.Class != decision.LabelFraud || e.Reason != "ring" {
			t.Errorf("recorded %+v", e)
		}
		subjects = append(subjects, e.Subject)
	}
	if slices.Sort(subjects); fmt.Sprint(subjects) != "[r0 r1 r2 r3]" {
		t.Errorf("labelled %v, want the ring r0..r3", subjects)
	}
	if scr := screen(t, m); !strings.Contains(scr, "r3  1 event  max risk 80  1 deny  fraud") {
		t.Errorf("the tree does not show the labels:\n%s", scr)
	}

	if _, cmd := press(m, "z"); cmd == nil {
		t.Error("z did nothing")
	} else if _, ok := cmd().(common.UndoLabelMsg); !ok {
		t.Errorf("z asked %#v", cmd())
	}
	// An undo's retracts clear the labels shown.
	retracts := make([]decision.LabelEntry, len(msg.Entries))
	for i, e := range msg.Entries {
		e.Class = decision.LabelRetract
		retracts[i] = e
	}
	m, _ = m.Update(common.LabelledMsg{Entries: retracts, Undo: true})
	if scr := screen(t, m); strings.Contains(scr, "fraud") {
		t.Errorf("the undo left labels shown:\n%s", scr)
	}

	// With a filter, N labels the users it keeps: r0 and r3.
	m, _ = press(m, "/", "r", "3", "enter", "N")
	if scr := screen(t, m); !strings.Contains(scr, `label 2 users of r0's cluster matching "r3" legit`) {
		t.Errorf("the filtered prompt:\n%s", scr)
	}
	_, cmd = press(m, "enter")
	lm, ok := cmd().(common.LabelledMsg)
	if !ok || len(lm.Entries) != 2 || lm.Entries[0].Subject != "r0" || lm.Entries[1].Subject != "r3" || lm.Entries[0].Class != decision.LabelLegit {
		t.Errorf("N with the filter r3 recorded %+v", lm)
	}

	// esc cancels without a write.
	before := len(ledger(t, r))
	m, _ = press(m, "F", "esc")
	if m.InputActive() || len(ledger(t, r)) != before {
		t.Error("esc did not cancel the prompt")
	}
}

// ledger returns the fixture's whole ledger.
func ledger(t *testing.T, r *fixture.Reader) []decision.LabelEntry {
	t.Helper()
	es, err := r.Labels(context.Background(), api.LabelsQuery{All: true})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestLinksLabelGolden is the screen of F: the tree, and the prompt that
// says how many users it labels in place of the filter line.
func TestLinksLabelGolden(t *testing.T) {
	m := newLinks(t, 80, 16, ringReader(t))
	m = run(m, m.Open("r0"))
	m, _ = press(m, "F", "c", "b")
	var help string
	for _, b := range m.FullHelp() {
		help += b.Help().Key + " " + b.Help().Desc + "\n"
	}
	for _, want := range []string{"F label cluster fraud", "N label cluster legit", "z undo last label"} {
		if !strings.Contains(help, want) {
			t.Errorf("full help lacks %q", want)
		}
	}
	golden.RequireEqual(t, screen(t, m))
}
