package whatif

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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

// run drives the view alone on r at w x h and waits for its first matrix
// and list.
func run(t *testing.T, r api.Reader, save SaveFunc, w, h int) (*fixture.Driver, *fixture.Host[Model]) {
	t.Helper()
	c := common.New(context.Background(), r, fixture.Now)
	host := fixture.ViewHost(New(c, save))
	d := fixture.NewDriver(t, host, w, h)
	settle(d, host)
	return d, host
}

// settle waits until the matrix and the list answer the current
// thresholds and window.
func settle(d *fixture.Driver, host *fixture.Host[Model]) {
	d.WaitFor("the matrix and the list", func() bool {
		m := &host.M
		return m.wi != nil && !m.wiReq.Busy() && !m.flReq.Busy() && m.flLoaded && m.wi.q == m.current() && m.flFor == m.current()
	})
}

func screen(t *testing.T, m Model) (ascii, plain string) {
	t.Helper()
	return fixture.Screen(t, m.View(), m.width, m.height)
}

// expected counts, by brute force over the shaped data, the matrix of s
// under t over win and the event IDs that flip, newest first.
func expected(s decision.Score, t decision.Thresholds, win common.Window) (m [3][3]uint64, flips []string) {
	from, to := win.Bounds(fixture.Now())
	ds := fixture.ShapedDecisions()
	for i := len(ds) - 1; i >= 0; i-- {
		d := &ds[i]
		if d.Action == decision.ActionError || (!from.IsZero() && d.Time.Before(from)) || !d.Time.Before(to) {
			continue
		}
		sim := t.Simulate(d.ScoreValue(s))
		m[d.Action.Index()][sim.Index()]++
		if sim != d.Action {
			flips = append(flips, d.EventID)
		}
	}
	return m, flips
}

func flipIDs(m Model) []string {
	var ids []string
	for _, d := range m.Flips() {
		ids = append(ids, d.EventID)
	}
	return ids
}

// The shaped data follows the policy challenge 50 / deny 80 on risk, so
// nothing changes at those thresholds; moving deny to 70 flips exactly the
// last hour's three challenged risks 70, 73 and 76 to deny.
func TestGolden(t *testing.T) {
	for _, sz := range [][2]int{{40, 10}, {80, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			d, host := run(t, fixture.NewShaped(), nil, sz[0], sz[1])
			_, plain := screen(t, host.M)
			fixture.Contains(t, plain, "[deny ≥80]", "would change: 0", "no decision would change")
			w, _ := host.M.Matrix()
			if w.Matrix[0] != [3]uint64{157, 0, 0} || w.Matrix[1] != [3]uint64{0, 16, 0} || w.Matrix[2] != [3]uint64{0, 0, 4} || w.Errors != 2 {
				t.Fatalf("matrix at the policy's own thresholds: %v errors %d", w.Matrix, w.Errors)
			}

			d.PressN("left", 10)
			settle(d, host)
			ascii, plain := screen(t, host.M)
			if got, want := flipIDs(host.M), fixture.FlipEventIDs(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("flips %v, want %v", got, want)
			}
			w, _ = host.M.Matrix()
			if w.Matrix[1] != [3]uint64{0, 13, 3} || w.Matrix[0] != [3]uint64{157, 0, 0} || w.Matrix[2] != [3]uint64{0, 0, 4} {
				t.Fatalf("matrix at deny 70: %v", w.Matrix)
			}
			// The matrix as drawn: the challenge row, the simulated row.
			fixture.Contains(t, plain, "[deny ≥70]", "would change: 3, newest first", "CHALLENGE → DENY")
			if sz[0] >= 80 {
				fixture.Contains(t, plain,
					"challenge          0        13         3 │        16",
					"simulated        157        13         7 │       177",
					"3 would change", "saved: risk 50/80 (s saves)", "177 scored")
			} else {
				fixture.Contains(t, plain, "challenge      0    13     3 │    16", "simulated    157    13     7 │   177")
			}
			if sz[1] >= 24 {
				// By type: two logins and a transaction change.
				fixture.Contains(t, plain, "change             0        -3        +3")
				for _, want := range []string{"login", "transaction"} {
					if !strings.Contains(plain, want) {
						t.Errorf("no %s row", want)
					}
				}
			}
			if sz[0] >= 200 {
				fixture.Contains(t, plain, "2 errors not scored")
				for _, id := range fixture.FlipEventIDs() {
					dec, _ := fixture.NewShaped().ByEventID(id)
					fixture.Contains(t, plain, dec.ID)
				}
			}
			golden.RequireEqual(t, ascii)
		})
	}
}

func TestPerTypeGolden(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), nil, 80, 24)
	d.PressN("left", 10)
	settle(d, host)
	w, _ := host.M.Matrix()
	if got := w.ByType["$login"][1]; got != [3]uint64{0, 4, 2} {
		t.Errorf("login challenge row %v", got)
	}
	if got := w.ByType["$transaction"][1]; got != [3]uint64{0, 3, 1} {
		t.Errorf("transaction challenge row %v", got)
	}
	_, plain := screen(t, host.M)
	// Each action column reads actual→simulated.
	for _, line := range strings.Split(plain, "\n") {
		f := strings.Fields(line)
		if len(f) == 6 && f[0] == "login" {
			if f[3] != "6→4" || f[4] != "0→2" || f[5] != "2" {
				t.Errorf("login row %q", line)
			}
		}
	}
}

func TestThresholdKeys(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), nil, 80, 24)
	// Select challenge and move it above deny: deny goes along.
	d.Key("c")
	d.PressN("shift+right", 7) // 50 -> 85
	settle(d, host)
	got := host.M.Thresholds()
	if got.Challenge != 85 || got.Deny != 85 {
		t.Fatalf("thresholds %+v", got)
	}
	// Announcements are commands: they may arrive late and in any order;
	// the newest version counts.
	var newest common.ThresholdsMsg
	d.WaitFor("the seventh announcement", func() bool {
		for _, msg := range host.Sent() {
			if tm, ok := msg.(common.ThresholdsMsg); ok && tm.Version > newest.Version {
				newest = tm
			}
		}
		return newest.Version >= 7
	})
	if newest.Version != 7 || newest.Thresholds != got {
		t.Fatalf("the root was told %+v, want version 7 with %+v", newest, got)
	}
	m, flips := expected(decision.ScoreRisk, got, common.Windows[3])
	w, _ := host.M.Matrix()
	if w.Matrix[0] != m[0] || w.Matrix[1] != m[1] || w.Matrix[2] != m[2] {
		t.Errorf("matrix %v, want %v", w.Matrix, m)
	}
	if fmt.Sprint(flipIDs(host.M)) != fmt.Sprint(flips) {
		t.Errorf("flips %v, want %v", flipIDs(host.M), flips)
	}
	// Back to the saved ones.
	d.Key("x")
	settle(d, host)
	if host.M.Thresholds() != common.DefaultThresholds() {
		t.Fatalf("reset to %+v", host.M.Thresholds())
	}

	// Type an exact deny.
	d.Key("d")
	d.Key("=")
	if !host.M.InputActive() {
		t.Fatal("= did not open the value box")
	}
	d.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	d.Type("abc")
	d.Key("enter")
	fixture.Contains(t, ansi.Strip(host.M.View()), "set deny to:", `"abc" is not a number`)
	if !host.M.InputActive() {
		t.Fatal("a bad value closed the box")
	}
	d.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	d.Type("65")
	d.Key("enter")
	settle(d, host)
	if host.M.InputActive() || host.M.Thresholds().Deny != 65 {
		t.Fatalf("deny %v", host.M.Thresholds().Deny)
	}
	_, flips = expected(decision.ScoreRisk, host.M.Thresholds(), common.Windows[3])
	if fmt.Sprint(flipIDs(host.M)) != fmt.Sprint(flips) || len(flips) != 5 {
		t.Errorf("flips at deny 65: %v, want %v", flipIDs(host.M), flips)
	}
	// esc cancels typing.
	d.Key("=")
	d.Type("1")
	d.Key("esc")
	if host.M.InputActive() || host.M.Thresholds().Deny != 65 {
		t.Fatal("esc did not cancel")
	}
}

func TestScoreAndWindow(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), nil, 80, 24)
	d.Key("b") // bot = 99 - risk: the policy's 50/80 mean little on it
	settle(d, host)
	th := host.M.Thresholds()
	if th.Score != decision.ScoreBot {
		t.Fatalf("score %v", th.Score)
	}
	m, flips := expected(decision.ScoreBot, th, common.Windows[3])
	w, _ := host.M.Matrix()
	if w.Matrix[0] != m[0] || w.Matrix[1] != m[1] || w.Matrix[2] != m[2] {
		t.Errorf("bot matrix %v, want %v", w.Matrix, m)
	}
	if uint64(len(flips)) != host.M.wi.flips || len(flips) < 100 {
		t.Errorf("%d flips counted, %d expected", host.M.wi.flips, len(flips))
	}
	got := flipIDs(host.M)
	if len(got) != min(len(flips), FlipsPage) || fmt.Sprint(got) != fmt.Sprint(flips[:len(got)]) {
		t.Errorf("flips list differs from the newest %d", len(got))
	}
	fixture.Contains(t, ansi.Strip(host.M.View()), "[bot]")

	d.Key("w") // all -> 5m
	settle(d, host)
	m, _ = expected(decision.ScoreBot, th, common.Windows[0])
	w, _ = host.M.Matrix()
	if w.Matrix[0] != m[0] || w.Matrix[1] != m[1] || w.Matrix[2] != m[2] {
		t.Errorf("5m matrix %v, want %v", w.Matrix, m)
	}
	fixture.Contains(t, ansi.Strip(host.M.View()), "[5m]")
}

func TestOpenFlip(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), nil, 80, 24)
	d.PressN("left", 10)
	settle(d, host)
	d.Key("down")
	d.Key("enter")
	d.WaitFor("the detail", func() bool {
		for _, msg := range host.Sent() {
			if _, ok := msg.(common.OpenDetailMsg); ok {
				return true
			}
		}
		return false
	})
	for _, msg := range host.Sent() {
		if od, ok := msg.(common.OpenDetailMsg); ok && od.Decision.EventID != fixture.FlipEventIDs()[1] {
			t.Fatalf("opened %s, want the second flip", od.Decision.EventID)
		}
	}
}

func TestSave(t *testing.T) {
	var mu sync.Mutex
	var saved []decision.Thresholds
	save := func(th decision.Thresholds) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		saved = append(saved, th)
		if th.Deny == 60 {
			return "", errors.New("permission denied")
		}
		return "/home/u/.config/riskwatch/config.toml", nil
	}
	d, host := run(t, fixture.NewShaped(), save, 80, 24)
	d.PressN("left", 10)
	settle(d, host)
	d.Key("s")
	d.WaitFor("the save", func() bool { return lastStatus(host).Text != "" })
	status := lastStatus(host)
	if status.Text != "thresholds saved to /home/u/.config/riskwatch/config.toml" || status.Level != common.LevelInfo {
		t.Fatalf("status %+v", status)
	}
	mu.Lock()
	if len(saved) != 1 || saved[0].Deny != 70 || host.M.saved != host.M.th {
		t.Fatalf("saved %+v", saved)
	}
	mu.Unlock()
	if strings.Contains(ansi.Strip(host.M.View()), "(s saves)") {
		t.Error("still says unsaved")
	}
	d.PressN("left", 10) // 60: the save fails
	settle(d, host)
	d.Key("s")
	d.WaitFor("the failed save", func() bool { return lastStatus(host).Level == common.LevelError })
	if st := lastStatus(host); !strings.Contains(st.Text, "save thresholds: permission denied") {
		t.Fatalf("status %+v", st)
	}
	if host.M.saved.Deny != 70 {
		t.Fatal("a failed save moved the saved thresholds")
	}

	// Without a config file to save to.
	d2, host2 := run(t, fixture.NewShaped(), nil, 80, 24)
	d2.Key("s")
	d2.WaitFor("the warning", func() bool { return lastStatus(host2).Text != "" })
	if st := lastStatus(host2); st.Level != common.LevelWarn || !strings.Contains(st.Text, "nowhere to save") {
		t.Fatalf("status %+v", st)
	}
}

func lastStatus(host *fixture.Host[Model]) common.StatusMsg {
	sent := host.Sent()
	for i := len(sent) - 1; i >= 0; i-- {
		if st, ok := sent[i].(common.StatusMsg); ok {
			return st
		}
	}
	return common.StatusMsg{}
}

// slowFlips blocks every Flips until its context ends and reports how many
// were cancelled.
type slowFlips struct {
	api.Reader
	cancelled chan error
}

func (s *slowFlips) Flips(ctx context.Context, _ api.FlipsQuery) ([]decision.Decision, error) {
	<-ctx.Done()
	s.cancelled <- ctx.Err()
	return nil, ctx.Err()
}

func TestNewerListCancelsOlder(t *testing.T) {
	r := &slowFlips{Reader: fixture.NewShaped(), cancelled: make(chan error, 4)}
	c := common.New(context.Background(), r, fixture.Now)
	m := New(c, nil)
	m.SetSize(80, 24)
	first := m.loadFlips(false)
	done := make(chan tea.Msg, 1)
	go func() { done <- first() }()
	m.loadFlips(false)
	select {
	case err := <-r.cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("first read ended with %v", err)
		}
	case <-time.After(fixture.WaitTimeout):
		t.Fatal("the first read was not cancelled")
	}
	m, _ = m.Update(<-done)
	if m.flLoaded {
		t.Fatal("the cancelled read's answer was taken")
	}
	// Hiding the view cancels the read under way too.
	second := m.loadFlips(false)
	go func() { done <- second() }()
	m.Hide()
	select {
	case <-r.cancelled:
	case <-time.After(fixture.WaitTimeout):
		t.Fatal("Hide did not cancel the read")
	}
	<-done
	if !m.refresh.Dirty() {
		t.Error("a cancelled read did not mark the view for a refresh")
	}
}

func TestStaleMatrixDropped(t *testing.T) {
	c := common.New(context.Background(), fixture.NewShaped(), fixture.Now)
	m := New(c, nil)
	m.SetSize(80, 24)
	stale := m.loadWhatIf(false)
	m.th = Set(m.th, Deny, 70)
	fresh := m.loadWhatIf(false)
	m, _ = m.Update(fresh())
	m, _ = m.Update(stale())
	if m.wi.q.th.Deny != 70 || m.wi.flips != 3 {
		t.Fatalf("the stale matrix replaced the fresh one: %+v", m.wi.q)
	}
}

func TestRefreshReadsListOnlyWhenFlipsMoved(t *testing.T) {
	r := &stubMatrix{Reader: fixture.NewShaped()}
	c := common.New(context.Background(), r, fixture.Now)
	m := New(c, nil)
	m.SetSize(80, 24)
	m, _ = m.Update(m.loadWhatIf(false)())
	m, _ = m.Update(m.loadFlips(false)())
	// A periodic re-read with the same count of changing decisions does
	// not scan for the list again.
	if cmd := m.onWhatIf(m.loadWhatIf(true)().(common.Answer[matrixRead])); cmd != nil {
		t.Fatal("the list was read again for an unchanged count")
	}
	w := m.wi.w
	w.Matrix[0][2]++
	r.w = &w
	if cmd := m.onWhatIf(m.loadWhatIf(true)().(common.Answer[matrixRead])); cmd == nil {
		t.Fatal("the list was not read again for a new count")
	}
}

// stubMatrix answers WhatIf with w once it is set.
type stubMatrix struct {
	api.Reader
	w *decision.WhatIf
}

func (s *stubMatrix) WhatIf(ctx context.Context, q api.WhatIfQuery) (decision.WhatIf, error) {
	if s.w != nil {
		return *s.w, nil
	}
	return s.Reader.WhatIf(ctx, q)
}

func TestAnySizeFits(t *testing.T) {
	c := common.New(context.Background(), fixture.NewShaped(), fixture.Now)
	m := New(c, nil)
	m.th = Set(m.th, Deny, 70)
	m.SetSize(80, 24)
	m, _ = m.Update(m.loadWhatIf(false)())
	m, _ = m.Update(m.loadFlips(false)())
	for w := 0; w <= 45; w++ {
		for h := 0; h <= 14; h++ {
			m.SetSize(w, h)
			if w == 0 || h == 0 {
				if m.View() != "" {
					t.Fatalf("%dx%d drew something", w, h)
				}
				continue
			}
			screen(t, m)
			for _, k := range []string{"down", "G", "pgup", "="} {
				m, _ = m.Update(fixture.Press(k))
			}
			screen(t, m)
			m, _ = m.Update(fixture.Press("esc"))
		}
	}
}

// A new matrix with more event types grows the per-type block and shrinks
// the list: the selected decision must stay in sight.
func TestNewMatrixKeepsCursorInSight(t *testing.T) {
	r := &stubMatrix{Reader: fixture.NewShaped()}
	c := common.New(context.Background(), r, fixture.Now)
	m := New(c, nil)
	m.th = Set(m.th, Deny, 30)
	m.SetSize(100, 21)
	m, _ = m.Update(m.loadWhatIf(false)())
	m, _ = m.Update(m.loadFlips(false)())
	m, _ = m.Update(fixture.Press("G"))
	before := m.layout().flipRows
	if len(m.flips) <= before || m.cursor != len(m.flips)-1 {
		t.Fatalf("want more flips (%d) than rows (%d) and the cursor on the last, got %d", len(m.flips), before, m.cursor)
	}
	w := m.wi.w
	w.ByType = map[string]*[decision.NumActions][3]uint64{}
	for i := range 12 {
		w.ByType[fmt.Sprintf("$type_%d", i)] = &[decision.NumActions][3]uint64{{1}}
	}
	r.w = &w
	m, _ = m.Update(m.loadWhatIf(false)())
	n := m.layout().flipRows
	if n >= before {
		t.Fatalf("the list did not shrink: %d rows, was %d", n, before)
	}
	if m.cursor < m.top || m.cursor >= m.top+n {
		t.Errorf("cursor %d out of sight: rows %d..%d", m.cursor, m.top, m.top+n-1)
	}
}

// TestPolicyMode: p shows the replay of the shadow policy over the
// window (the matrix against Safe-e and the rules' counts), the window
// keys read it again, and p goes back to the thresholds.
func TestPolicyMode(t *testing.T) {
	r := fixture.NewShaped()
	d, host := run(t, r, nil, 100, 30)
	d.Key("p")
	d.WaitFor("the replay", func() bool { return host.M.pol != nil && !host.M.polReq.Busy() })
	want, err := r.Replay(context.Background(), api.ReplayQuery{Shadow: true})
	if err != nil {
		t.Fatal(err)
	}
	scr := d.Screen()
	for _, s := range []string{"policy (p: back to thresholds)", "safe-e \\ policy", "high risk",
		fmt.Sprintf("%d decided otherwise", want.Changed), fmt.Sprintf("%11d%11d", want.Rules[0].Matched, want.Rules[0].Decided)} {
		if !strings.Contains(scr, s) {
			t.Errorf("policy mode lacks %q:\n%s", s, scr)
		}
	}
	d.Key("w")
	d.WaitFor("the replay of the next window", func() bool {
		return host.M.pol != nil && !host.M.polReq.Busy() && host.M.pol.win == host.M.win
	})
	d.Key("p")
	if scr := d.Screen(); strings.Contains(scr, "safe-e \\ policy") {
		t.Errorf("p did not go back to the thresholds:\n%s", scr)
	}
}
