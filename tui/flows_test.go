package tui

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// flowWait bounds each wait for the program's output.
const flowWait = 10 * time.Second

// recorder wraps the dashboard for a flow: after every update it keeps the
// screen the model now renders, as plain text, and signals updated. The
// terminal output itself is drawn as cell diffs (a changed "2 new" may be
// written as just "3"), so waiting on the model's own screen is what makes
// the flows deterministic.
type recorder struct {
	m       *Model
	screen  *atomic.Pointer[string]
	updated chan<- struct{}
}

func (r recorder) Init() tea.Cmd { return r.m.Init() }

func (r recorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := r.m.Update(msg)
	s := ansi.Strip(r.m.View().Content)
	r.screen.Store(&s)
	select {
	case r.updated <- struct{}{}:
	default: // a signal is already pending
	}
	return r, cmd
}

func (r recorder) View() tea.View { return r.m.View() }

// flow is a running dashboard program.
type flow struct {
	tm      *teatest.TestModel
	r       *fixture.Reader
	screen  *atomic.Pointer[string]
	updated chan struct{}
}

// startFlow runs m as a Bubble Tea program in a 100x30 terminal without
// colours, reading from r (nil when the data comes from elsewhere), and
// waits until the terminal output shows all of first: the first frame is
// drawn whole, so its text is in the output.
func startFlow(t *testing.T, m *Model, r *fixture.Reader, first ...string) *flow {
	t.Helper()
	t.Cleanup(m.Close)
	f := &flow{r: r, screen: &atomic.Pointer[string]{}, updated: make(chan struct{}, 1)}
	f.tm = teatest.NewTestModel(t, recorder{m: m, screen: f.screen, updated: f.updated},
		teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	t.Cleanup(func() { _ = f.tm.Quit() })
	if len(first) > 0 {
		teatest.WaitFor(t, f.tm.Output(), func(b []byte) bool {
			return containsAll(ansi.Strip(string(b)), first)
		}, teatest.WithDuration(flowWait), teatest.WithCheckInterval(10*time.Millisecond))
	}
	return f
}

// runFlow starts the whole dashboard as a Bubble Tea program on the
// fixture, in a 100x30 terminal without colours, and waits until the
// terminal shows its first rows.
func runFlow(t *testing.T) *flow {
	t.Helper()
	r := fixture.New(stored)
	m, err := New(testOptions(r))
	if err != nil {
		t.Fatal(err)
	}
	return startFlow(t, m, r, "usr_006", "following")
}

// containsAll reports whether s contains every one of texts.
func containsAll(s string, texts []string) bool {
	for _, x := range texts {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// wait waits until the screen shows all of texts.
func (f *flow) wait(t *testing.T, texts ...string) {
	t.Helper()
	teatest.WaitFor(t, f.tm.Output(), func([]byte) bool {
		s := f.screen.Load()
		return s != nil && containsAll(*s, texts)
	}, teatest.WithDuration(flowWait), teatest.WithCheckInterval(5*time.Millisecond))
}

func (f *flow) keys(ks ...string) {
	for _, k := range ks {
		f.tm.Send(fixture.KeyPress(k))
	}
}

// finalModel quits and returns the root model once the program has ended.
func (f *flow) finalModel(t *testing.T) *Model {
	t.Helper()
	f.keys("q")
	rec, ok := f.tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(recorder)
	if !ok {
		t.Fatal("final model is not the dashboard")
	}
	return rec.m
}

func TestFlowFilterDetailBack(t *testing.T) {
	f := runFlow(t)
	f.keys("/")
	f.wait(t, "enter apply")
	f.tm.Type("action:deny")
	f.keys("enter")
	f.wait(t, "filter: action:deny", "09:59:42") // re-queried: the newest deny, decision 38
	f.keys("enter")
	f.wait(t, "Decision 00000000000000000000000000000026", "Signals", "credential_stuffing")
	f.keys("esc")
	f.wait(t, "TIME", "filter: action:deny")
	m := f.finalModel(t)
	if (m.focus() == common.ViewDetail) || m.focus() != 0 {
		t.Errorf("esc must return to Live: detail %v focus %v", (m.focus() == common.ViewDetail), m.focus())
	}
	want := 0
	for _, d := range fixture.Decisions(1, stored, fixture.Now()) {
		if d.Action == decision.ActionDeny {
			want++
		}
	}
	if m.live.Filter() != "action:deny" || m.live.Len() != want {
		t.Fatalf("filter %q with %d rows, want action:deny with the %d denies", m.live.Filter(), m.live.Len(), want)
	}
	screen := ansi.Strip(m.View().Content)
	if strings.Count(screen, "DENY") != want || strings.Contains(screen, "ALLOW") || strings.Contains(screen, "CHALLENGE") {
		t.Errorf("the filtered table shows other actions or misses denies:\n%s", screen)
	}
}

func TestFlowPauseNewResume(t *testing.T) {
	f := runFlow(t)
	f.keys("space")
	f.wait(t, "PAUSED 0 new")
	ctx, cancel := context.WithTimeout(context.Background(), flowWait)
	defer cancel()
	batch := newDecisions(stored+1, 12)
	if err := f.r.Push(ctx, api.Batch{Decisions: batch}); err != nil {
		t.Fatal(err)
	}
	f.wait(t, "PAUSED 12 new")
	if strings.Contains(*f.screen.Load(), "10:00:") {
		t.Error("a row of the batch is on the paused screen")
	}
	f.keys("G")
	f.wait(t, "following", "10:00:12") // the newest of the batch
	m := f.finalModel(t)
	if m.live.Paused() || m.live.NewCount() != 0 {
		t.Errorf("after G: paused %v, %d new", m.live.Paused(), m.live.NewCount())
	}
	if sel, _ := m.live.Selected(); sel.ID != batch[11].ID {
		t.Errorf("selected %s, want the newest of the batch %s", sel.ID, batch[11].ID)
	}
	if got := m.live.Len(); got != stored+12 {
		t.Errorf("%d rows, want %d", got, stored+12)
	}
}

func TestFlowViewSwitching(t *testing.T) {
	f := runFlow(t)
	f.keys("5")
	f.wait(t, "[5 Health]", "Pipeline", "Sources")
	f.keys("2")
	f.wait(t, "[2 Histograms]", "[risk]", "scored")
	f.keys("tab")
	f.wait(t, "[3 Journeys]", "Users", "usr_006")
	f.keys("tab")
	f.wait(t, "[4 What-if]", "would change")
	f.keys("tab")
	f.wait(t, "[5 Health]", "Responses")
	f.keys("tab")
	f.wait(t, "[6 Alerts]", "Rules", "no alert rules")
	f.keys("tab")
	f.wait(t, "[1 Live]", "usr_006")
	// u: the journey of the selected (newest) decision's user.
	f.keys("u")
	f.wait(t, "[3 Journeys]", "User usr_006", "newest first")
	m := f.finalModel(t)
	if m.activeTab() != common.ViewJourneys || m.journeys.User() != "usr_006" {
		t.Errorf("u must open usr_006's journey, at %v on %q", m.activeTab(), m.journeys.User())
	}
}

func TestFlowQuit(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		t.Run(k, func(t *testing.T) {
			f := runFlow(t)
			f.keys("?")
			f.wait(t, "close help")
			f.keys(k) // quits even from the help screen
			f.tm.WaitFinished(t, teatest.WithFinalTimeout(flowWait))
			// Quitting ends the subscription.
			ctx, cancel := context.WithTimeout(context.Background(), flowWait)
			defer cancel()
			if err := f.r.WaitUnsubscribed(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Run returns nil when its context ends, having restored nothing it should
// not: the program ends and the subscription with it.
func TestRunEndsWithContext(t *testing.T) {
	r := fixture.New(stored)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &signalWriter{wrote: make(chan struct{})}
	opts := testOptions(r)
	opts.Input = bytes.NewReader(nil)
	opts.Output = out
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	select {
	case <-out.wrote:
	case <-time.After(flowWait):
		t.Fatal("no frame drawn")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(flowWait):
		t.Fatal("Run did not return after its context ended")
	}
	wctx, wcancel := context.WithTimeout(context.Background(), flowWait)
	defer wcancel()
	if err := r.WaitUnsubscribed(wctx); err != nil {
		t.Fatal(err)
	}
}

func TestOptionsValidate(t *testing.T) {
	if _, err := New(Options{}); err == nil || !strings.Contains(err.Error(), "Data is required") {
		t.Errorf("no data source: %v", err)
	}
	if err := Run(context.Background(), Options{Data: fixture.New(0), Theme: "sepia"}); err == nil || !strings.Contains(err.Error(), "sepia") {
		t.Errorf("bad theme: %v", err)
	}
	for _, theme := range []string{"", "auto", "dark", "light"} {
		if _, err := New(Options{Data: fixture.New(0), Theme: theme}); err != nil {
			t.Errorf("theme %q: %v", theme, err)
		}
	}
}

// signalWriter discards output and closes wrote on the first write.
type signalWriter struct {
	wrote chan struct{}
	once  sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		w.once.Do(func() { close(w.wrote) })
	}
	return len(p), nil
}
