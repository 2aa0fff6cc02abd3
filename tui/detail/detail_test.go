package detail

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

func newDetail(t *testing.T, w, h int, d decision.Decision) Model {
	t.Helper()
	c := common.New(context.Background(), fixture.New(0), fixture.Now)
	c.Styles = common.NewStyles(common.Theme{Plain: true})
	m := New(c)
	m.SetSize(w, h)
	m, _ = m.Update(m.SetDecision(d)())
	return m
}

// screen renders m and checks it is exactly its size.
func screen(t *testing.T, m Model) string {
	t.Helper()
	out := m.View()
	lines := strings.Split(out, "\n")
	if len(lines) != m.height {
		t.Fatalf("%d lines, want %d", len(lines), m.height)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > m.width {
			t.Fatalf("line %q is %d wide in %d", ansi.Strip(l), w, m.width)
		}
	}
	return ansi.Strip(out)
}

func press(m Model, k string) (Model, tea.Cmd) { return m.Update(fixture.KeyPress(k)) }

// Decision 38 of the fixture: a deny with four signals, one unknown.
func TestDetailGolden(t *testing.T) {
	m := newDetail(t, 100, 60, fixture.Decision(38, fixture.Now()))
	scr := screen(t, m)
	for _, want := range []string{
		"Action    DENY   policy step-up-auth   HTTP 200   latency 58ms",
		"risk      93",
		"credential_stuffing           Many logins for different users from one source",
		"velocity_burst                (no description: a signal this version does not know)",
		`"user_id": "usr_004"`,
	} {
		if !strings.Contains(scr, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	golden.RequireEqual(t, scr)
}

func TestDetailHostileAndBrokenInput(t *testing.T) {
	d := fixture.Decision(41, fixture.Now()) // an error decision
	d.UserID = "evil\x1b[2J\x1b]52;c;aGk=\x07"
	d.Response = json.RawMessage("<html>502 Bad Gateway\x1b[31m</html>")
	d.Signals = []string{"\x1b[5mblink"}
	m := newDetail(t, 80, 60, d)
	raw := m.View()
	if strings.Contains(raw, "\x1b[2J") || strings.Contains(raw, "\x1b]52") || strings.Contains(raw, "\x1b[5m") {
		t.Fatalf("escape sequences from the event reached the screen: %q", raw)
	}
	scr := ansi.Strip(raw)
	for _, want := range []string{"ERROR", "Safe-e answered 400", "none: the event was not scored",
		"Response (not valid JSON, shown as received)", "<html>502 Bad Gateway"} {
		if !strings.Contains(scr, want) {
			t.Errorf("detail lacks %q:\n%s", want, scr)
		}
	}
}

func TestDetailScrolls(t *testing.T) {
	m := newDetail(t, 80, 10, fixture.Decision(38, fixture.Now()))
	total := len(m.lines())
	if total <= 9 {
		t.Fatalf("only %d lines: nothing to scroll", total)
	}
	if scr := screen(t, m); !strings.Contains(scr, "lines 1-9 of") {
		t.Errorf("title lacks the position:\n%s", scr)
	}
	m, _ = press(m, "j")
	m, _ = press(m, "j")
	if m.offset != 2 {
		t.Errorf("two down: offset %d", m.offset)
	}
	m, _ = press(m, "G")
	if m.offset != total-9 {
		t.Errorf("G: offset %d, want %d (last page)", m.offset, total-9)
	}
	if scr := screen(t, m); !strings.Contains(scr, "}") {
		t.Errorf("the end of the response should show:\n%s", scr)
	}
	m, _ = press(m, "pgdown")
	if m.offset != total-9 {
		t.Error("scrolled past the end")
	}
	m, _ = press(m, "g")
	m, _ = press(m, "k")
	if m.offset != 0 {
		t.Errorf("scrolled above the top: %d", m.offset)
	}
	// A taller window clamps the offset.
	m, _ = press(m, "G")
	m.SetSize(80, 200)
	if m.offset != 0 {
		t.Errorf("everything fits: offset %d", m.offset)
	}
	screen(t, m)
}

func TestDetailCopyAndJourney(t *testing.T) {
	d := fixture.Decision(38, fixture.Now())
	m := newDetail(t, 80, 20, d)
	_, cmd := press(m, "y")
	msgs := run(cmd)
	var clip string
	var status string
	for _, msg := range msgs {
		if st, ok := msg.(common.StatusMsg); ok {
			status = st.Text
		} else if text, ok := clipboardText(msg); ok {
			clip = text
		}
	}
	var back decision.Decision
	if err := json.Unmarshal([]byte(clip), &back); err != nil || back.ID != d.ID {
		t.Fatalf("clipboard %q: %v", clip, err)
	}
	if status != "copied decision JSON to clipboard" {
		t.Errorf("status %q", status)
	}
	_, cmd = press(m, "u")
	if msgs := run(cmd); len(msgs) != 1 || msgs[0] != (common.OpenJourneyMsg{UserID: d.UserID}) {
		t.Errorf("u: %v", msgs)
	}
}

func TestDetailEmptyAndTiny(t *testing.T) {
	c := common.New(context.Background(), fixture.New(0), fixture.Now)
	m := New(c)
	m.SetSize(30, 3)
	if !strings.Contains(m.View(), "no decision selected") {
		t.Error("empty detail")
	}
	if _, cmd := press(m, "y"); cmd != nil {
		t.Error("copy with nothing shown")
	}
	d := fixture.Decision(38, fixture.Now())
	for w := 0; w <= 60; w++ {
		for h := 0; h <= 6; h++ {
			m := newDetail(t, w, h, d)
			out := m.View()
			if w == 0 || h == 0 {
				if out != "" {
					t.Fatalf("%dx%d: want nothing", w, h)
				}
				continue
			}
			screen(t, m)
		}
	}
}

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		w    int
		want string
	}{
		{0, 4, "····"},
		{100, 4, "████"},
		{50, 4, "██··"},
		{60, 4, "██▍·"},
		{-5, 3, "···"},
		{250, 3, "███"},
	} {
		if got := bar(tc.v, tc.w); got != tc.want {
			t.Errorf("bar(%v, %d) = %q, want %q", tc.v, tc.w, got, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, s := range []string{"proxy_ip", "datacenter_ip", "bot_behavior", "credential_stuffing", "generated_email", "high_activity_account"} {
		if Describe(s) == "" {
			t.Errorf("SPEC's example signal %s has no description", s)
		}
	}
	if Describe("velocity_burst") != "" {
		t.Error("an unknown signal must have no description")
	}
}

// run executes cmd and any batch it returns, collecting the messages.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, run(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

// clipboardText returns the text of tea.SetClipboard's message, whose
// type is an unexported string type.
func clipboardText(msg tea.Msg) (string, bool) {
	if v := reflect.ValueOf(msg); v.Kind() == reflect.String {
		return v.String(), true
	}
	return "", false
}

// Hardening defect 9: a 20 KB event nested 10,000 deep once took 5 s and
// 850 MiB to open because it was pretty printed, unbounded, inside Update.
// Now SetDecision only starts the formatting; the view says so until the
// bodies arrive, and what arrives is bounded.
func TestDetailDeeplyNestedEvent(t *testing.T) {
	d := fixture.Decision(38, fixture.Now())
	d.Request = json.RawMessage(strings.Repeat(`{"a":[`, 1665) + "1" + strings.Repeat("]}", 1665))
	c := common.New(context.Background(), fixture.New(0), fixture.Now)
	c.Styles = common.NewStyles(common.Theme{Plain: true})
	m := New(c)
	m.SetSize(80, 40)
	format := m.SetDecision(d)
	if format == nil {
		t.Fatal("SetDecision returned no command: the bodies would be formatted in Update")
	}
	if scr := screen(t, m); !strings.Contains(scr, "formatting…") {
		t.Errorf("before the bodies arrive the view does not say so:\n%s", scr)
	}
	m, _ = m.Update(format())
	if n := len(m.lines()); n > 400 {
		t.Errorf("the detail of a deeply nested event has %d lines", n)
	}
	scr := screen(t, m)
	if strings.Contains(scr, "formatting…") {
		t.Errorf("the bodies arrived but the view still waits:\n%s", scr)
	}
	// An answer for a decision no longer shown is dropped.
	late := m.SetDecision(fixture.Decision(39, fixture.Now()))
	m.SetDecision(d)
	if m, _ = m.Update(late()); m.Formatted() {
		t.Error("the bodies of another decision were taken")
	}
}

// TestDetailReadsABriefDecisionWhole: a decision from a brief list (no raw
// bodies) is read whole when the detail opens, so its request and response
// show and `y` copies them; one that cannot be read says why.
func TestDetailReadsABriefDecisionWhole(t *testing.T) {
	ctx := context.Background()
	data := fixture.New(40)
	c := common.New(ctx, data, fixture.Now)
	c.Styles = common.NewStyles(common.Theme{Plain: true})
	ds, err := data.Latest(ctx, api.LatestQuery{N: 1, Filter: "-action:error", Brief: true})
	if err != nil || len(ds) != 1 || common.Whole(&ds[0]) {
		t.Fatalf("brief latest: %v, %v", ds, err)
	}
	whole, err := data.Decision(ctx, ds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	m := New(c)
	m.SetSize(100, 200)
	cmd := m.SetDecision(ds[0])
	if scr := screen(t, m); !strings.Contains(scr, "formatting…") {
		t.Fatalf("before the read:\n%s", scr)
	}
	m, _ = m.Update(cmd())
	scr := screen(t, m)
	if !strings.Contains(scr, `"user_id": "`+whole.UserID+`"`) || strings.Contains(scr, "(none)") {
		t.Fatalf("the request read whole is not shown:\n%s", scr)
	}
	var clip string
	for _, msg := range run(m.copy()) {
		if text, ok := clipboardText(msg); ok {
			clip = text
		}
	}
	var back decision.Decision
	if err := json.Unmarshal([]byte(clip), &back); err != nil || string(back.Request) != string(whole.Request) {
		t.Fatalf("clipboard %q: %v", clip, err)
	}

	gone := ds[0]
	gone.ID = "0000000000000000-gone"
	m, _ = m.Update(m.SetDecision(gone)())
	if scr := screen(t, m); !strings.Contains(scr, "could not be read") || !strings.Contains(scr, "not found") {
		t.Fatalf("an unreadable decision:\n%s", scr)
	}
}

// TestCopyBriefDecisionReadsItWhole: `y` on a row of a brief list copies
// the decision with its raw request and response.
func TestCopyBriefDecisionReadsItWhole(t *testing.T) {
	ctx := context.Background()
	data := fixture.New(10)
	c := common.New(ctx, data, fixture.Now)
	ds, err := data.Latest(ctx, api.LatestQuery{N: 1, Brief: true})
	if err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	var clip, status string
	for _, msg := range run(c.CopyDecision(ds[0])) {
		if st, ok := msg.(common.StatusMsg); ok {
			status = st.Text
		} else if text, ok := clipboardText(msg); ok {
			clip = text
		}
	}
	if !strings.Contains(clip, `"request":{`) || status != "copied decision JSON to clipboard" {
		t.Fatalf("clipboard %q, status %q", clip, status)
	}
}
