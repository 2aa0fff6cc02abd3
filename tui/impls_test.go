package tui

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// The generated events the real collector holds when the flows start:
// the mixed scenario (background visits, and incidents on an absolute
// timeline that these minutes may or may not cross) and a stuffing run, so
// that denies are always there.
const (
	implEvents   = 150
	implStuffing = 60
	implSeed     = 7
)

// implStart is the generator's clock: a minute ago, so that the events'
// own timestamps (their event times) fall in the dashboard's recent windows
// as live traffic's do.
func implStart() time.Time { return time.Now().Add(-time.Minute).Truncate(time.Second) }

// barPoints is the width of a histogram bar in score points at 100 columns.
const barPoints = 5

// source is one api.Reader implementation, ready for one dashboard program.
type source struct {
	data *watchedReader
	// clock is the dashboard's clock: the fixture's fixed time, or the wall
	// clock for a real store (which stamps decisions as it commits them).
	clock func() time.Time
	// live waits until the dashboard's subscription delivers every
	// decision stored from then on.
	live func(ctx context.Context) error
	// add stores one new decision for each of users through the
	// implementation's live path: pushed to the fixture's subscription, or
	// posted to the collector's /v1/events and scored.
	add func(t *testing.T, users []string)
}

// impl names an implementation and opens a source on it for each flow.
type impl struct {
	name string
	open func(t *testing.T) *source
}

// implFlow is one flow of the dashboard, written against any source.
type implFlow struct {
	name string
	run  func(t *testing.T, src *source)
}

// One suite, four implementations: every flow runs on the fixture, on
// the in-process reader of a real collector (bbolt store, the emulator as
// Safe-e), on api.Remote attached to that collector over loopback, and on
// the api.Federation of two more collectors that share the same events.
func TestFlowsOnEveryReader(t *testing.T) {
	col := generatedCollector(t)
	half1, half2 := generatedCollectors(t)
	impls := []impl{
		{"fixture", openFixture},
		{"collector", func(t *testing.T) *source { return openInProcess(t, col) }},
		{"remote", func(t *testing.T) *source { return openRemote(t, col) }},
		{"federation", func(t *testing.T) *source { return openFederation(t, half1, half2) }},
	}
	flows := []implFlow{
		{"rows", implFlowRows},
		{"filter", implFlowFilter},
		{"detail", implFlowDetail},
		{"pause", implFlowPause},
		{"views", implFlowViews},
		{"histogram", implFlowHistogram},
		{"journey", implFlowJourney},
		{"quit", implFlowQuit},
	}
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			for _, fl := range flows {
				t.Run(fl.name, func(t *testing.T) { fl.run(t, im.open(t)) })
			}
		})
	}
}

// generatedCollector runs a real collector holding the scored decisions
// of the fixed generated events.
func generatedCollector(t *testing.T) *testCollector {
	t.Helper()
	c := startCollector(t, nil)
	events := generatedEvents(t)
	c.post(t, events...)
	c.waitScored(t, uint64(len(events)))
	return c
}

// generatedCollectors runs two real collectors, the first holding the
// first half of the generated events, the second the rest.
func generatedCollectors(t *testing.T) (*testCollector, *testCollector) {
	t.Helper()
	events := generatedEvents(t)
	half := len(events) / 2
	a, b := startCollector(t, nil), startCollector(t, nil)
	a.post(t, events[:half]...)
	b.post(t, events[half:]...)
	a.waitScored(t, uint64(half))
	b.waitScored(t, uint64(len(events)-half))
	return a, b
}

// generatedEvents are the fixed generated events, as posted.
func generatedEvents(t *testing.T) [][]byte {
	t.Helper()
	start := implStart()
	var events [][]byte
	for _, part := range []struct {
		scenario string
		n        int
	}{{"mixed", implEvents}, {"stuffing", implStuffing}} {
		gen, err := emulator.NewGenerator(part.scenario, implSeed, func() time.Time { return start })
		if err != nil {
			t.Fatal(err)
		}
		for range part.n {
			events = append(events, gen.Next())
		}
	}
	return events
}

func openFixture(*testing.T) *source {
	r := fixture.New(stored)
	w := watch(r)
	return &source{
		data:  w,
		clock: fixture.Now,
		live:  w.waitSubscribed,
		add: func(t *testing.T, users []string) {
			t.Helper()
			ds := newDecisions(stored+1, len(users))
			for i := range ds {
				ds[i].UserID = users[i]
			}
			ctx, cancel := context.WithTimeout(context.Background(), flowWait)
			defer cancel()
			if err := r.Push(ctx, api.Batch{Decisions: ds}); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// postUsers posts a login of each of users to c and waits until all are
// scored.
func postUsers(t *testing.T, c *testCollector, users []string) {
	t.Helper()
	info, err := c.DB.Info()
	if err != nil {
		t.Fatal(err)
	}
	events := make([][]byte, len(users))
	for i, u := range users {
		events[i] = loginEvent(u)
	}
	c.post(t, events...)
	c.waitScored(t, info.Decisions+uint64(len(users)))
}

func openInProcess(_ *testing.T, c *testCollector) *source {
	w := watch(c.Col.Reader())
	return &source{
		data: w,
		// The hub subscribes synchronously: once Subscribe returned,
		// every committed decision is published to it.
		live: w.waitSubscribed,
		add:  func(t *testing.T, users []string) { postUsers(t, c, users) },
	}
}

func openRemote(t *testing.T, c *testCollector) *source {
	t.Helper()
	remote, tr := dialSignalled(t, c)
	w := watch(remote)
	return &source{
		data: w,
		live: func(ctx context.Context) error {
			if err := w.waitSubscribed(ctx); err != nil {
				return err
			}
			return tr.wait(ctx)
		},
		add: func(t *testing.T, users []string) { postUsers(t, c, users) },
	}
}

// openFederation reads a and b as one. New decisions go to b alone, so that
// the order they arrive in is the order they were stored in.
func openFederation(t *testing.T, a, b *testCollector) *source {
	t.Helper()
	ra, ta := dialSignalled(t, a)
	rb, tb := dialSignalled(t, b)
	fed, err := api.Federate(api.Member{Name: a.URL, Reader: ra}, api.Member{Name: b.URL, Reader: rb})
	if err != nil {
		t.Fatal(err)
	}
	w := watch(fed)
	return &source{
		data: w,
		live: func(ctx context.Context) error {
			if err := w.waitSubscribed(ctx); err != nil {
				return err
			}
			if err := ta.wait(ctx); err != nil {
				return err
			}
			return tb.wait(ctx)
		},
		add: func(t *testing.T, users []string) { postUsers(t, b, users) },
	}
}

// dialSignalled dials c with a transport that says when its stream is live.
func dialSignalled(t *testing.T, c *testCollector) (*api.Remote, *streamSignal) {
	t.Helper()
	tr := &streamSignal{base: http.DefaultTransport.(*http.Transport).Clone(), live: make(chan struct{})}
	t.Cleanup(tr.base.CloseIdleConnections)
	remote, err := api.Dial(c.URL, remoteToken, api.RemoteOptions{Timeout: 5 * time.Second, Client: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remote.Close)
	return remote, tr
}

// watchedReader is an api.Reader that reports when the dashboard first
// subscribes and when that subscription's context ends.
type watchedReader struct {
	api.Reader
	once       sync.Once
	subscribed chan struct{}
	ended      <-chan struct{} // set before subscribed is closed
}

func watch(r api.Reader) *watchedReader {
	return &watchedReader{Reader: r, subscribed: make(chan struct{})}
}

func (w *watchedReader) Subscribe(ctx context.Context) <-chan api.Batch {
	ch := w.Reader.Subscribe(ctx)
	w.once.Do(func() {
		w.ended = ctx.Done()
		close(w.subscribed)
	})
	return ch
}

func (w *watchedReader) waitSubscribed(ctx context.Context) error {
	select {
	case <-w.subscribed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the dashboard did not subscribe: %w", ctx.Err())
	}
}

// waitUnsubscribed waits until the dashboard's subscription has ended.
func (w *watchedReader) waitUnsubscribed(ctx context.Context) error {
	if err := w.waitSubscribed(ctx); err != nil {
		return err
	}
	select {
	case <-w.ended:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the subscription did not end: %w", ctx.Err())
	}
}

// streamSignal closes live once a GET /v1/stream is answered 200: the
// collector subscribes and reads its newest decision before it answers, so
// from then on every decision it commits reaches that stream.
type streamSignal struct {
	base *http.Transport
	once sync.Once
	live chan struct{}
}

// wait waits until the stream is live.
func (s *streamSignal) wait(ctx context.Context) error {
	select {
	case <-s.live:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the stream did not connect: %w", ctx.Err())
	}
}

func (s *streamSignal) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusOK && strings.HasSuffix(req.URL.Path, "/v1/stream") {
		s.once.Do(func() { close(s.live) })
	}
	return resp, err
}

// query runs one read of src with a deadline.
func query[T any](t *testing.T, src *source, read func(context.Context, api.Reader) (T, error)) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), flowWait)
	defer cancel()
	v, err := read(ctx, src.data)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// latest returns up to 10,000 of src's newest decisions matching filter.
func latest(t *testing.T, src *source, filter string) []decision.Decision {
	t.Helper()
	return query(t, src, func(ctx context.Context, r api.Reader) ([]decision.Decision, error) {
		return r.Latest(ctx, api.LatestQuery{Filter: filter, N: 10_000})
	})
}

// clockTime is how the Live table shows d's time: its event time.
func clockTime(src *source, d decision.Decision) string {
	now := time.Now()
	if src.clock != nil {
		now = src.clock()
	}
	return d.EventTime.In(now.Location()).Format("15:04:05")
}

// startImplFlow runs the whole dashboard on src as a Bubble Tea program in
// a 100x30 terminal without colours, waits until it shows the newest
// decision and its subscription is live, and returns that decision.
func startImplFlow(t *testing.T, src *source) (*flow, decision.Decision) {
	t.Helper()
	newest := latest(t, src, "")
	if len(newest) == 0 {
		t.Fatal("the implementation holds no decisions")
	}
	m, err := New(Options{Data: src.data, Theme: "dark", Clock: src.clock, Source: "impls", Mode: "EMULATOR"})
	if err != nil {
		t.Fatal(err)
	}
	f := startFlow(t, m, nil)
	f.wait(t, "[1 Live]", "following", clockTime(src, newest[0]))
	ctx, cancel := context.WithTimeout(context.Background(), flowWait)
	defer cancel()
	if err := src.live(ctx); err != nil {
		t.Fatal(err)
	}
	return f, newest[0]
}

// waitScreen waits until the screen satisfies ok.
func (f *flow) waitScreen(t *testing.T, ok func(screen string) bool) {
	t.Helper()
	teatest.WaitFor(t, f.tm.Output(), func([]byte) bool {
		s := f.screen.Load()
		return s != nil && ok(*s)
	}, teatest.WithDuration(flowWait), teatest.WithCheckInterval(5*time.Millisecond))
}

// liveColumn returns the cells of the Live table's column title (width
// cells wide, starting where its title does) on each row the screen shows.
func liveColumn(screen, title string, width int) []string {
	var cells []string
	start := -1
	for _, line := range strings.Split(screen, "\n") {
		l := []rune(line)
		switch {
		case strings.HasPrefix(line, "TIME "):
			start = strings.Index(line, title) // the header is ASCII
		case start >= 0 && len(l) >= start+width && liveRow.MatchString(line):
			cells = append(cells, strings.TrimSpace(string(l[start:start+width])))
		}
	}
	return cells
}

// liveRow matches a row of the Live table: it starts with its time.
var liveRow = regexp.MustCompile(`^\d\d:\d\d:\d\d `)

// Stored rows appear, following the newest, which is selected.
func implFlowRows(t *testing.T, src *source) {
	f, newest := startImplFlow(t, src)
	all := latest(t, src, "")
	f.wait(t, "TIME", "USER", "ACTION")
	m := f.finalModel(t)
	if m.live.Len() != len(all) {
		t.Errorf("Live holds %d rows, the reader %d", m.live.Len(), len(all))
	}
	if sel, _ := m.live.Selected(); sel.ID != newest.ID {
		t.Errorf("selected %s, want the newest %s", sel.ID, newest.ID)
	}
}

// The filter re-queries: only denies are listed, the newest selected.
func implFlowFilter(t *testing.T, src *source) {
	f, _ := startImplFlow(t, src)
	denies := latest(t, src, "action:deny")
	if len(denies) == 0 {
		t.Fatal("the data holds no deny to filter")
	}
	f.keys("/")
	f.wait(t, "enter apply")
	f.tm.Type("action:deny")
	f.keys("enter")
	f.waitScreen(t, func(s string) bool {
		actions := liveColumn(s, "ACTION", 9)
		return strings.Contains(s, "filter: action:deny") && len(actions) > 0 &&
			!slices.ContainsFunc(actions, func(a string) bool { return a != "DENY" })
	})
	m := f.finalModel(t)
	if m.live.Filter() != "action:deny" || m.live.Len() != len(denies) {
		t.Errorf("filter %q with %d rows, want action:deny with the %d denies", m.live.Filter(), m.live.Len(), len(denies))
	}
	if sel, _ := m.live.Selected(); sel.ID != denies[0].ID {
		t.Errorf("selected %s, want the newest deny %s", sel.ID, denies[0].ID)
	}
}

// enter opens the selected decision's detail; esc returns to Live.
func implFlowDetail(t *testing.T, src *source) {
	f, newest := startImplFlow(t, src)
	f.keys("enter")
	f.wait(t, "Decision "+newest.ID, "Signals", newest.UserID)
	f.keys("esc")
	f.waitScreen(t, func(s string) bool {
		return strings.Contains(s, "TIME") && strings.Contains(s, "following") && !strings.Contains(s, "Decision "+newest.ID)
	})
	m := f.finalModel(t)
	if (m.focus() == common.ViewDetail) || m.focus() != 0 {
		t.Errorf("esc must return to Live: detail %v focus %v", (m.focus() == common.ViewDetail), m.focus())
	}
}

// While paused, new decisions are counted, not shown; G shows them and
// follows the newest again.
func implFlowPause(t *testing.T, src *source) {
	f, _ := startImplFlow(t, src)
	before := len(latest(t, src, ""))
	f.keys("space")
	f.wait(t, "PAUSED 0 new")
	// Named after the store's size, so that no earlier flow on the same
	// collector posted the same users.
	prefix := fmt.Sprintf("late%d_", before)
	users := make([]string, 12)
	for i := range users {
		users[i] = fmt.Sprintf("%s%02d", prefix, i+1)
	}
	src.add(t, users)
	f.wait(t, "PAUSED 12 new")
	if s := *f.screen.Load(); strings.Contains(s, prefix) {
		t.Errorf("a new decision is on the paused screen:\n%s", s)
	}
	f.keys("G")
	f.wait(t, append([]string{"following"}, users...)...)
	newest := latest(t, src, "")
	m := f.finalModel(t)
	if m.live.Paused() || m.live.NewCount() != 0 {
		t.Errorf("after G: paused %v, %d new", m.live.Paused(), m.live.NewCount())
	}
	if sel, _ := m.live.Selected(); sel.ID != newest[0].ID {
		t.Errorf("selected %s, want the newest %s", sel.ID, newest[0].ID)
	}
	if got := m.live.Len(); got != before+len(users) || got != len(newest) {
		t.Errorf("%d rows, want %d", got, before+len(users))
	}
}

// 1-6 switch views, each showing its title and its own content.
func implFlowViews(t *testing.T, src *source) {
	f, _ := startImplFlow(t, src)
	for _, v := range []struct {
		key  string
		want []string
	}{
		{"2", []string{"[2 Histograms]", "[risk]", "scored"}},
		{"3", []string{"[3 Journeys]", "Users"}},
		{"4", []string{"[4 What-if]", "would change"}},
		{"5", []string{"[5 Health]", "Pipeline", "Sources", "Responses"}},
		{"6", []string{"[6 Alerts]", "Rules", "Firings and resolutions"}},
		{"1", []string{"[1 Live]", "TIME", "following"}},
	} {
		f.keys(v.key)
		f.wait(t, v.want...)
	}
	if m := f.finalModel(t); m.activeTab() != common.ViewLive {
		t.Errorf("after 1 the view is %v", m.activeTab())
	}
}

// enter on the fullest histogram bar opens Live filtered to its range.
func implFlowHistogram(t *testing.T, src *source) {
	f, _ := startImplFlow(t, src)
	var bars [100 / barPoints]int
	total := 0
	for _, d := range latest(t, src, "") {
		if d.Action != decision.ActionError {
			bars[min(decision.Bucket(d.Risk)/barPoints, len(bars)-1)]++
			total++
		}
	}
	bar := 0
	for i, n := range bars {
		if n > bars[bar] {
			bar = i
		}
	}
	lo, hi := bar*barPoints, (bar+1)*barPoints
	label := fmt.Sprintf("%d-%d", lo, hi-1)
	terms := []string{"risk>=" + strconv.Itoa(lo)}
	if bar == len(bars)-1 {
		label = fmt.Sprintf("%d-100", lo)
	} else {
		terms = append(terms, "risk<"+strconv.Itoa(hi))
	}
	if lo == 0 {
		terms = append(terms, "-action:error")
	}
	filter := strings.Join(append(terms, "since:1h"), " ")

	f.keys("2")
	f.wait(t, "[2 Histograms]", common.Count(uint64(total))+" scored")
	f.press("right", bar)
	f.wait(t, fmt.Sprintf("risk %s: %s of %s", label, common.Count(uint64(bars[bar])), common.Count(uint64(total))))
	f.keys("enter")
	// The re-query answered: the table lists only risks of the bar.
	f.waitScreen(t, func(s string) bool {
		risks := liveColumn(s, "RISK", 4)
		return strings.Contains(s, "filter: "+filter) && len(risks) > 0 && !slices.ContainsFunc(risks, func(r string) bool {
			n, err := strconv.Atoi(r)
			return err != nil || n < lo || n >= hi
		})
	})
	m := f.finalModel(t)
	if m.live.Filter() != filter || m.live.Len() != bars[bar] {
		t.Errorf("Live filter %q with %d rows, want %q with %d", m.live.Filter(), m.live.Len(), filter, bars[bar])
	}
}

// u opens the journey of the selected (newest) decision's user, with that
// decision first; enter opens it and esc returns to the journey.
func implFlowJourney(t *testing.T, src *source) {
	f, newest := startImplFlow(t, src)
	f.keys("u")
	journey := query(t, src, func(ctx context.Context, r api.Reader) ([]decision.Decision, error) {
		return r.Journey(ctx, api.JourneyQuery{User: newest.UserID, Limit: 1000})
	})
	// Loaded: the title sums the user's events up.
	f.wait(t, "[3 Journeys]", "User "+newest.UserID, common.Count(uint64(len(journey)))+" events", "newest first")
	f.keys("enter")
	f.wait(t, "Decision "+newest.ID, "Signals")
	f.keys("esc")
	f.waitScreen(t, func(s string) bool {
		return strings.Contains(s, "User "+newest.UserID) && !strings.Contains(s, "Decision "+newest.ID)
	})
	m := f.finalModel(t)
	if (m.focus() == common.ViewDetail) || m.activeTab() != common.ViewJourneys || m.journeys.User() != newest.UserID {
		t.Errorf("after esc: detail %v, view %v, user %q", (m.focus() == common.ViewDetail), m.activeTab(), m.journeys.User())
	}
}

// q quits, even from the help screen, and ends the subscription.
func implFlowQuit(t *testing.T, src *source) {
	f, _ := startImplFlow(t, src)
	f.keys("?")
	f.wait(t, "close help")
	f.keys("q")
	f.tm.WaitFinished(t, teatest.WithFinalTimeout(flowWait))
	ctx, cancel := context.WithTimeout(context.Background(), flowWait)
	defer cancel()
	if err := src.data.waitUnsubscribed(ctx); err != nil {
		t.Fatal(err)
	}
}
