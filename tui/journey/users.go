package journey

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/widget"
)

// numSorts is the number of decision.UserSort orders `s` cycles through.
const numSorts = 3

var sortNames = [numSorts]string{"last seen", "highest risk", "most denies"}

// listChrome is the list's lines besides its rows: the title (or search
// box) and the table header.
const listChrome = 2

// Users table columns, in display order.
const (
	ucUser = iota
	ucEmail
	ucIP
	ucCountry
	ucSeen
	ucEvents
	ucDenies
	ucChallenges
	ucMaxRisk
	numUserCols
)

func newList() list {
	cols := [numUserCols]widget.Column{
		ucUser:       {Title: "USER", Min: 8, Pref: 14, Max: 32, Priority: 0},
		ucEmail:      {Title: "EMAIL", Min: 12, Pref: 22, Max: 40, Priority: 5},
		ucIP:         {Title: "LAST IP", Min: 15, Max: 39, Priority: 4},
		ucCountry:    {Title: "CC", Min: 2, Max: 3, Priority: 7},
		ucSeen:       {Title: "LAST SEEN", Min: 9, Max: 9, Priority: 1, Right: true},
		ucEvents:     {Title: "EVENTS", Min: 6, Max: 8, Priority: 3, Right: true},
		ucDenies:     {Title: "DENY", Min: 4, Max: 6, Priority: 2, Right: true},
		ucChallenges: {Title: "CHAL", Min: 4, Max: 6, Priority: 6, Right: true},
		ucMaxRisk:    {Title: "MAXRISK", Min: 7, Max: 7, Priority: 2, Right: true},
	}
	return list{table: widget.NewTable(cols[:]...), req: common.Request[api.UserList]{View: common.ViewJourneys, Cancel: true}}
}

// loadUsers reads the list for the current sort, search and IP. A refresh
// (keep) keeps the selected user selected and as many users listed; a new
// query starts at the top with the first page.
func (m *Model) loadUsers(keep bool) tea.Cmd {
	l := &m.list
	l.keepID = ""
	if u := l.selected(); keep && u != nil {
		l.keepID = u.UserID
	} else if !keep {
		l.cursor, l.top = 0, 0
	}
	if !keep || l.limit == 0 {
		l.limit = min(max(UsersPage, m.listRows()), UsersLimit)
	}
	m.refresh.Started(m.c.Clock())
	q := api.UsersQuery{Sort: l.sort, Search: l.search, IP: l.ip, Limit: l.limit}
	data := m.c.Data
	return l.req.Go(m.c, func(ctx context.Context) (api.UserList, error) {
		us, err := data.SearchUsers(ctx, q)
		if err != nil {
			err = fmt.Errorf("users: %w", err)
		}
		return us, err
	})
}

// moreUsers reads UsersPage more users (up to UsersLimit) when the cursor
// is within a screen of the last user read and more match; the list is read
// again from the top, as the reads have no cursor.
func (m *Model) moreUsers() tea.Cmd {
	l := &m.list
	if !l.loaded || l.req.Busy() || len(l.users) >= l.total || len(l.users) < l.limit ||
		l.limit >= UsersLimit || l.cursor+m.listRows() < len(l.users) {
		return nil
	}
	l.limit = min(l.limit+UsersPage, UsersLimit)
	return m.loadUsers(true)
}

// onUsers takes an answer; after a refresh the selected user stays
// selected while still listed.
func (l *list) onUsers(msg common.Answer[api.UserList], now time.Time) {
	if !l.req.Take(msg) {
		return
	}
	l.err = msg.Err
	if msg.Err != nil {
		return
	}
	l.users, l.total, l.loaded = msg.Value.Users, msg.Value.Total, true
	l.table.SizeTo(userRows{users: l.users, now: now}, len(l.users))
	if l.keepID != "" {
		for i := range l.users {
			if l.users[i].UserID == l.keepID {
				l.cursor = i
				return
			}
		}
	}
	l.cursor = min(l.cursor, max(len(l.users)-1, 0))
}

func (l *list) selected() *decision.UserSummary {
	if l.cursor >= 0 && l.cursor < len(l.users) {
		return &l.users[l.cursor]
	}
	return nil
}

func (l *list) startSearch() {
	l.searching = true
	l.before = l.search
	l.input.SetValue(l.search)
}

// move handles the navigation keys over n visible rows.
func (l *list) move(msg tea.KeyPressMsg, k *common.KeyMap, n int) {
	l.cursor = moveCursor(msg, k, l.cursor, len(l.users), n)
	l.scroll(n)
}

func (l *list) scroll(n int) {
	l.top = scrollTop(l.cursor, l.top, len(l.users), n)
}

// moveCursor applies a navigation key to a cursor over count rows, n on
// screen.
func moveCursor(msg tea.KeyPressMsg, k *common.KeyMap, cursor, count, n int) int {
	cursor = k.Scroll(msg, cursor, max(n-1, 1), count-1)
	return min(max(cursor, 0), max(count-1, 0))
}

// scrollTop keeps cursor within the n rows shown from top.
func scrollTop(cursor, top, count, n int) int {
	if n <= 0 {
		return cursor
	}
	top = min(top, max(count-n, 0))
	if cursor < top {
		top = cursor
	}
	if cursor >= top+n {
		top = cursor - n + 1
	}
	return max(top, 0)
}

// userRows adapts the list to widget.RowSource.
type userRows struct {
	users  []decision.UserSummary
	now    time.Time
	styles *common.Styles
}

// Cells writes a user's columns, sanitized.
func (r userRows) Cells(i int, dst []string) {
	u := &r.users[i]
	dst[ucUser] = common.Sanitize(u.UserID)
	dst[ucEmail] = common.Sanitize(u.Email)
	dst[ucIP] = common.Sanitize(u.LastIP)
	dst[ucCountry] = common.Sanitize(u.LastCountry)
	dst[ucSeen] = common.Age(r.now, u.LastSeen)
	dst[ucEvents] = common.Count(u.Count)
	dst[ucDenies] = common.Count(u.Denies)
	dst[ucChallenges] = common.Count(u.Challenges)
	dst[ucMaxRisk] = common.Score(u.MaxRisk)
}

// CellStyle marks users with denies.
func (r userRows) CellStyle(i, col int) *lipgloss.Style {
	if col == ucDenies && r.users[i].Denies > 0 {
		return &r.styles.Action[decision.ActionDeny.Index()]
	}
	return nil
}

// listView renders the title (or the search box) and the visible rows.
func (m Model) listView() []string {
	st := m.c.Styles
	l := &m.list
	out := []string{m.listTitle()}
	out = append(out, l.table.Header(st.TableHeader))
	switch {
	case !l.loaded && l.err == nil:
		out = append(out, st.Dim.Render(common.Truncate("loading users…", m.width)))
	case l.err != nil && !l.loaded:
		out = append(out, st.Bad.Render(common.Truncate(common.Sanitize(l.err.Error()), m.width)))
	case len(l.users) == 0:
		out = append(out, st.Dim.Render(common.Truncate(m.emptyText(), m.width)))
	default:
		n := min(m.listRows(), len(l.users)-l.top)
		if n > 0 {
			src := userRows{users: l.users, now: m.c.Clock(), styles: st}
			out = append(out, l.table.Render(src, l.top, n, l.cursor, st))
		}
	}
	return out
}

func (m Model) emptyText() string {
	switch {
	case m.list.ip != "":
		return "no users seen on " + common.Sanitize(m.list.ip)
	case m.list.search != "":
		return "no user matches " + common.Sanitize(m.list.search)
	}
	return "no users yet: waiting for events"
}

// listTitle says what the list holds: the sort, the search, the IP.
func (m Model) listTitle() string {
	st := m.c.Styles
	l := &m.list
	if l.searching {
		prompt := "search: "
		return st.FilterPrompt.Render(common.Clip(prompt, m.width)) + l.input.View(m.width-len(prompt), st.Selected)
	}
	segs := []widget.Segment{{Text: "Users", Style: st.Title, Priority: 0}}
	if l.ip != "" {
		segs = append(segs, widget.Segment{Text: "on IP " + common.Sanitize(l.ip) + " (esc: all users)", Style: st.Warn, Priority: 0})
	}
	if l.search != "" {
		segs = append(segs, widget.Segment{Text: "search: " + common.Sanitize(l.search), Style: st.StatusInfo, Priority: 1})
	}
	segs = append(segs, widget.Segment{Text: "sort: " + sortNames[l.sort], Style: st.Bold, Priority: 1})
	count := common.Count(uint64(l.total)) + " users"
	if l.total == 1 {
		count = "1 user"
	}
	if len(l.users) < l.total {
		count = common.Count(uint64(len(l.users))) + " of " + count
	}
	if l.loaded {
		segs = append(segs, widget.Segment{Text: count, Style: st.Dim, Priority: 2})
	}
	if l.req.Busy() {
		segs = append(segs, widget.Segment{Text: "loading…", Style: st.Dim, Priority: 3})
	}
	if l.err != nil && l.loaded {
		segs = append(segs, widget.Segment{Text: "refresh failed: " + common.Sanitize(l.err.Error()), Style: st.Bad, Priority: 2})
	}
	return widget.StatusLine(m.width, st.Dim, segs...)
}
