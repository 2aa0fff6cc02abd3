package journey

import (
	"context"
	"errors"
	"fmt"
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

// openMsg asks the test host to call Open, as the root does for `u`.
type openMsg string

// run drives the view alone on r at w x h and waits for the users list.
func run(t *testing.T, r api.Reader, w, h int) (*fixture.Driver, *fixture.Host[Model]) {
	t.Helper()
	c := common.New(context.Background(), r, fixture.Now)
	host := fixture.ViewHost(New(c))
	host.Hook = func(m *Model, msg tea.Msg) (tea.Cmd, bool) {
		if u, ok := msg.(openMsg); ok {
			return m.Open(string(u)), true
		}
		return nil, false
	}
	d := fixture.NewDriver(t, host, w, h)
	waitUsers(d, host)
	return d, host
}

func waitUsers(d *fixture.Driver, host *fixture.Host[Model]) {
	d.WaitFor("the users", func() bool { return host.M.list.loaded && !host.M.list.req.Busy() })
}

func waitTimeline(d *fixture.Driver, host *fixture.Host[Model]) {
	d.WaitFor("the timeline", func() bool { return host.M.tl.data != nil && !host.M.tl.req.Busy() })
}

func screen(t *testing.T, m Model) (ascii, plain string) {
	t.Helper()
	return fixture.Screen(t, m.View(), m.width, m.height)
}

// rowsOf returns the lines of the screen below the table header.
func rowsOf(plain string, chrome int) []string {
	lines := strings.Split(plain, "\n")
	var out []string
	for _, l := range lines[chrome:] {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

var sizes = [][2]int{{40, 10}, {80, 24}, {200, 50}}

func TestUsersGolden(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			_, host := run(t, fixture.NewShaped(), sz[0], sz[1])
			ascii, plain := screen(t, host.M)
			fixture.Contains(t, plain, "Users", "USER", "usr_7")
			if sz[1] >= 24 {
				// 13 users: 10 of the skewed traffic and the three stories.
				fixture.Contains(t, plain, "13 users", "sort: last seen")
				rows := rowsOf(plain, listChrome)
				if len(rows) != 13 || !strings.HasPrefix(rows[10], "victim") || !strings.HasPrefix(rows[12], "alice") {
					t.Errorf("rows:\n%s", strings.Join(rows, "\n"))
				}
			}
			if sz[0] >= 80 {
				fixture.Contains(t, plain, "victim@exam", "198.51.100.7")
			}
			golden.RequireEqual(t, ascii)
		})
	}
}

func TestTimelineGolden(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			d, host := run(t, fixture.NewShaped(), sz[0], sz[1])
			d.Send(openMsg("victim"))
			waitTimeline(d, host)
			ascii, plain := screen(t, host.M)
			fixture.Contains(t, plain, "User victim", "account takeover chain: 6 events")
			rows := rowsOf(plain, timelineChrome+host.M.idHeaderLines())
			// Newest first; the six newest form the chain and carry the
			// mark, the rest do not.
			for i, r := range rows {
				if marked := strings.HasPrefix(r, chainMark); marked != (i < 6) {
					t.Errorf("row %d marked=%v: %q", i, marked, r)
				}
			}
			if sz[0] >= 80 {
				// The first attacker event: new IP, device and country.
				fixture.Contains(t, plain, "+198.51.100.7", "+19h00m", "login/fai", "risk ")
				if len(rows) != 10 {
					t.Errorf("%d rows, want 10", len(rows))
				}
			}
			if sz[0] >= 200 {
				fixture.Contains(t, plain, "+Headless Chrome/Linux", "+RU", "ATO new login", "ATO profile",
					"ATO transaction", "victim@example.com", "max risk 86", "1 denied")
			}
			golden.RequireEqual(t, ascii)
		})
	}
}

func TestTimelineFlow(t *testing.T) {
	d, host := run(t, fixture.NewShaped(), 80, 24)
	// Down to victim (row 11 of the list) and open.
	for range 10 {
		d.Key("down")
	}
	d.Key("enter")
	waitTimeline(d, host)
	if host.M.User() != "victim" || !host.M.TimelineOpen() {
		t.Fatalf("opened %q", host.M.User())
	}
	// Oldest first: the first row is victim-1, and the same event stays
	// selected across the toggle.
	sel, _ := host.M.Selected()
	d.Key("o")
	after, _ := host.M.Selected()
	if after.ID != sel.ID {
		t.Fatalf("the toggle moved the selection: %s -> %s", sel.EventID, after.EventID)
	}
	// Its time is the event time (the fixture's is when it was stored).
	_, plain := screen(t, host.M)
	rows := rowsOf(plain, timelineChrome+host.M.idHeaderLines())
	if !strings.Contains(rows[0], "11-22 10:00") || !strings.Contains(plain, "oldest first") {
		t.Fatalf("oldest first:\n%s", plain)
	}
	// The detail of the selected event goes to the root.
	d.Key("g")
	d.Key("enter")
	d.WaitFor("the detail", func() bool { return len(host.Sent()) == 1 })
	od, ok := host.Sent()[0].(common.OpenDetailMsg)
	if !ok || od.Decision.EventID != "victim-1" {
		t.Fatalf("sent %#v", host.Sent())
	}
	// Pivot on the attacker's address: victim and carol.
	d.Key("G") // the newest event, from the attacker
	d.Key("i")
	waitUsers(d, host)
	_, plain = screen(t, host.M)
	fixture.Contains(t, plain, "on IP 198.51.100.7")
	rows = rowsOf(plain, listChrome)
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "victim") || !strings.HasPrefix(rows[1], "carol") {
		t.Fatalf("users on the attacker IP:\n%s", plain)
	}
	// Into carol's journey and back: the IP list is kept; esc again
	// clears it.
	d.Key("down")
	d.Key("enter")
	waitTimeline(d, host)
	if host.M.User() != "carol" {
		t.Fatalf("opened %q", host.M.User())
	}
	d.Key("esc")
	fixture.Contains(t, ansi.Strip(host.M.View()), "on IP 198.51.100.7")
	d.Key("esc")
	waitUsers(d, host)
	if got := len(rowsOf(ansi.Strip(host.M.View()), listChrome)); got != 13 || host.M.list.ip != "" {
		t.Fatalf("after esc: %d users, ip %q", got, host.M.list.ip)
	}
}

func TestSortAndSearch(t *testing.T) {
	r := fixture.NewShaped()
	d, host := run(t, r, 80, 24)
	want := map[decision.UserSort]string{}
	for _, s := range []decision.UserSort{decision.SortMaxRisk, decision.SortDenies} {
		us, err := r.Users(context.Background(), api.UsersQuery{Sort: s})
		if err != nil {
			t.Fatal(err)
		}
		want[s] = us[0].UserID
	}
	for _, tc := range []struct {
		sort  decision.UserSort
		title string
	}{{decision.SortMaxRisk, "sort: highest risk"}, {decision.SortDenies, "sort: most denies"}} {
		d.Key("s")
		waitUsers(d, host)
		_, plain := screen(t, host.M)
		fixture.Contains(t, plain, tc.title)
		if rows := rowsOf(plain, listChrome); !strings.HasPrefix(rows[0], want[tc.sort]) {
			t.Errorf("%s: first row %q, want %s", tc.title, rows[0], want[tc.sort])
		}
	}
	// usr_9 holds the only risk in the 90s: it leads by risk.
	if want[decision.SortMaxRisk] != "usr_9" {
		t.Errorf("highest risk is %s", want[decision.SortMaxRisk])
	}

	d.Key("/")
	if !host.M.InputActive() {
		t.Fatal("the search box does not hold the keyboard")
	}
	d.Type("vic")
	waitUsers(d, host)
	_, plain := screen(t, host.M)
	fixture.Contains(t, plain, "search: vic")
	if rows := rowsOf(plain, listChrome); len(rows) != 1 || !strings.HasPrefix(rows[0], "victim") {
		t.Fatalf("search vic:\n%s", plain)
	}
	d.Key("esc") // cancel: back to no search
	waitUsers(d, host)
	if host.M.InputActive() || host.M.list.search != "" || len(host.M.list.users) != 13 {
		t.Fatalf("esc did not restore: search %q, %d users", host.M.list.search, len(host.M.list.users))
	}
	d.Key("/")
	d.Type("198.51")
	d.Key("enter") // keep
	waitUsers(d, host)
	if host.M.InputActive() || len(host.M.list.users) != 2 {
		t.Fatalf("IP search: %d users", len(host.M.list.users))
	}
	d.Key("esc") // clears the kept search
	waitUsers(d, host)
	if len(host.M.list.users) != 13 {
		t.Fatalf("esc kept the search: %d users", len(host.M.list.users))
	}
}

func TestStaleAnswersDropped(t *testing.T) {
	c := common.New(context.Background(), fixture.NewShaped(), fixture.Now)
	m := New(c)
	m.SetSize(80, 24)
	stale := m.loadUsers(false)
	fresh := m.loadUsers(false)
	m, _ = m.Update(fresh())
	n := len(m.list.users)
	msg := stale().(common.Answer[api.UserList])
	msg.Value.Users = msg.Value.Users[:1]
	m, _ = m.Update(msg)
	if len(m.list.users) != n {
		t.Fatalf("a stale users answer replaced the list")
	}
	old := m.Open("victim")
	m.tl.openUser("alice")
	cur := m.loadTimeline()
	m, _ = m.Update(old())
	if m.tl.data != nil {
		t.Fatal("victim's late journey was shown for alice")
	}
	m, _ = m.Update(cur())
	if m.tl.count() != 5 || m.tl.row(0).d.UserID != "alice" {
		t.Fatalf("alice's journey: %d events", m.tl.count())
	}
}

type failing struct{ api.Reader }

func (failing) SearchUsers(context.Context, api.UsersQuery) (api.UserList, error) {
	return api.UserList{}, errors.New("collector unreachable")
}

func (failing) Journey(context.Context, api.JourneyQuery) ([]decision.Decision, error) {
	return nil, errors.New("collector unreachable")
}

func TestErrorsShown(t *testing.T) {
	c := common.New(context.Background(), failing{fixture.NewShaped()}, fixture.Now)
	m := New(c)
	m.SetSize(80, 10)
	m, _ = m.Update(m.loadUsers(false)())
	_, plain := screen(t, m)
	fixture.Contains(t, plain, "users: collector unreachable")
	m, _ = m.Update(m.Open("victim")())
	_, plain = screen(t, m)
	fixture.Contains(t, plain, `journey of "victim": collector unreachable`)
}

func TestHostileUserData(t *testing.T) {
	ds := fixture.ShapedDecisions()
	for i := range ds {
		if ds[i].UserID == "victim" {
			ds[i].IP = "\x1b[2J1.2.3.4"
			ds[i].UserAgent = "\x1b]52;c;aGk=\x07curl/1"
			ds[i].Signals = []string{"\x1b[5mblink"}
		}
	}
	c := common.New(context.Background(), fixture.NewWith(ds), fixture.Now)
	m := New(c)
	m.SetSize(200, 30)
	m, _ = m.Update(m.loadUsers(false)())
	m, _ = m.Update(m.Open("victim")())
	out := m.View()
	for _, bad := range []string{"\x1b[2J", "\x1b]52", "\x1b[5m"} {
		if strings.Contains(out, bad) {
			t.Fatalf("an escape sequence from an event reached the screen: %q", out)
		}
	}
	if !strings.Contains(ansi.Strip(out), "curl") {
		t.Errorf("the device is not shown:\n%s", ansi.Strip(out))
	}
}

func TestAnySizeFits(t *testing.T) {
	c := common.New(context.Background(), fixture.NewShaped(), fixture.Now)
	m := New(c)
	m.SetSize(80, 24)
	m, _ = m.Update(m.loadUsers(false)())
	check := func() {
		for w := 0; w <= 45; w++ {
			for h := 0; h <= 12; h++ {
				m.SetSize(w, h)
				if w == 0 || h == 0 {
					if m.View() != "" {
						t.Fatalf("%dx%d drew something", w, h)
					}
					continue
				}
				screen(t, m)
				for _, k := range []string{"down", "pgdown", "G", "up", "g"} {
					m, _ = m.Update(fixture.KeyPress(k))
				}
				screen(t, m)
			}
		}
	}
	check()
	m, _ = m.Update(m.Open("victim")())
	check()
	m, _ = m.Update(fixture.KeyPress("/")) // no search box on the timeline
	if m.InputActive() {
		t.Fatal("/ opened the search over a timeline")
	}
}

func TestRefreshOnlyWhenStale(t *testing.T) {
	c := common.New(context.Background(), fixture.NewShaped(), fixture.Now)
	m := New(c)
	m.SetSize(80, 24)
	m.Show()
	m, _ = m.Update(m.loadUsers(false)())
	m.Hide()
	if m.Show(); m.list.req.Busy() {
		t.Fatal("showing an up-to-date list read it again")
	}
	m.Hide()
	m, _ = m.Update(common.BatchMsg{Batch: api.Batch{Decisions: fixture.ShapedDecisions()[:1]}})
	if m.Show(); !m.list.req.Busy() {
		t.Fatal("showing a stale list did not read it")
	}
}

func TestRefreshKeepsSelectionNewQueryStartsAtTop(t *testing.T) {
	c := common.New(context.Background(), fixture.NewShaped(), fixture.Now)
	m := New(c)
	m.SetSize(80, 8) // 6 rows of 13: the list scrolls
	m, _ = m.Update(m.loadUsers(false)())
	for range 9 {
		m, _ = m.Update(fixture.KeyPress("down"))
	}
	chosen := m.list.selected().UserID
	m, _ = m.Update(m.loadUsers(true)()) // a refresh
	if got := m.list.selected().UserID; got != chosen || m.list.top == 0 {
		t.Fatalf("a refresh moved the selection to %s (top %d), want %s", got, m.list.top, chosen)
	}
	m, cmd := m.Update(fixture.KeyPress("s")) // a new order: from the top
	m, _ = m.Update(cmd())
	if m.list.cursor != 0 || m.list.top != 0 {
		t.Fatalf("after a new sort: cursor %d top %d", m.list.cursor, m.list.top)
	}
	_, plain := screen(t, m)
	if rows := rowsOf(plain, listChrome); !strings.HasPrefix(rows[0], "usr_9") {
		t.Fatalf("the highest risk is not on top:\n%s", plain)
	}
}
