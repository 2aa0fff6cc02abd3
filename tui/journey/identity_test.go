package journey

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

var (
	uaPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1"
	uaDesk   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"
	uaScript = "curl/8.5.0"
)

// traveller returns n events of user "nomad" over two days before Now,
// from random emails, IPs, countries and devices, and some of "other".
func traveller(n int) []decision.Decision {
	r := rand.New(rand.NewPCG(5, 6))
	emails := []string{"nomad@example.com", "Nomad.Old@Example.com", "n0mad@evil.test"}
	ips := []string{"192.0.2.1", "192.0.2.2", "198.51.100.9", "203.0.113.4", "2001:db8::1"}
	countries := []string{"DE", "FR", "US", ""}
	uas := []string{uaPhone, uaDesk, uaScript, ""}
	start := fixture.Now().Add(-48 * time.Hour)
	var ds []decision.Decision
	for i := range n {
		at := start.Add(time.Duration(i) * 48 * time.Hour / time.Duration(n)).Add(time.Duration(r.IntN(1000)) * time.Millisecond)
		d := fixture.Decision(i+1, at)
		d.UserID = "nomad"
		d.Email, d.IP, d.Country, d.UserAgent = emails[r.IntN(len(emails))], ips[r.IntN(len(ips))], countries[r.IntN(len(countries))], uas[r.IntN(len(uas))]
		ds = append(ds, d)
		if i%7 == 0 {
			o := fixture.Decision(1000+i, at.Add(time.Second))
			o.UserID, o.Email = fmt.Sprintf("other%02d", i%30), "other@example.com"
			ds = append(ds, o)
		}
	}
	for i := range ds {
		ds[i].ID = fmt.Sprintf("%032x", i+1) // arrival order
	}
	return ds
}

// The identity header lists every email, IP, country and device of the
// journey with its count and the first and last event time it was seen,
// as a recount of the user's decisions gives them; I lists them all.
func TestIdentityHeaderRecount(t *testing.T) {
	ds := traveller(120)
	d, host := run(t, fixture.NewWith(ds), 250, 50)
	d.Send(openMsg("nomad"))
	waitTimeline(d, host)
	_, plain := screen(t, host.M)

	type seen struct {
		n           int
		first, last time.Time
	}
	recount := [numKinds]map[string]*seen{{}, {}, {}, {}}
	for _, dec := range ds {
		if dec.UserID != "nomad" {
			continue
		}
		dev := decision.ClassifyUA(dec.UserAgent)
		devText := ""
		if dev.Family != "" {
			devText = dev.String()
		}
		for k, v := range [numKinds]string{dec.Email, dec.IP, dec.Country, devText} {
			if v == "" {
				continue
			}
			s := recount[k][v]
			if s == nil {
				s = &seen{first: dec.EventTime}
				recount[k][v] = s
			}
			s.n++
			s.last = dec.EventTime
		}
	}
	for k := range numKinds {
		for v, s := range recount[k] {
			want := v + " ×" + common.Count(uint64(s.n)) + " " + s.first.Format(dateLayout) + "→" + s.last.Format(dateLayout)
			if !strings.Contains(plain, want) {
				t.Errorf("%s: header lacks %q:\n%s", kindNames[k], want, plain)
			}
		}
	}

	// I lists every one, each as a row of the table.
	d.Key("I")
	if !host.M.HandlesBack() {
		t.Fatal("the identity list must take esc")
	}
	_, plain = screen(t, host.M)
	n := 0
	for k := range numKinds {
		for v, s := range recount[k] {
			n++
			row := fmt.Sprintf("%s %s %d %s %s", kindNames[k], v, s.n, s.first.Format(dateLayout), s.last.Format(dateLayout))
			if !strings.Contains(strings.Join(strings.Fields(plain), " "), row) {
				t.Errorf("the identity list lacks %q", row)
			}
		}
	}
	if got := len(idRowsOf(host.M.tl.data)); got != n {
		t.Errorf("%d identities listed, recount %d", got, n)
	}
	d.Key("esc")
	if host.M.tl.idsOpen || !host.M.TimelineOpen() {
		t.Fatal("esc did not go back to the timeline")
	}
}

// Times are to the second, in event time, with the date on the first row
// shown and wherever it changes from the row above.
func TestTimelineSecondsAndDates(t *testing.T) {
	ds := traveller(60)
	d, host := run(t, fixture.NewWith(ds), 120, 40)
	d.Send(openMsg("nomad"))
	waitTimeline(d, host)
	d.Key("o") // oldest first
	_, plain := screen(t, host.M)
	rows := rowsOf(plain, timelineChrome+host.M.idHeaderLines())
	var prev time.Time
	for i, r := range rows {
		at := host.M.tl.row(host.M.tl.top + i).d.EventTime
		wantDate := i == 0 || !sameDay(prev, at)
		text := at.Format(clockLayout)
		if wantDate {
			text = at.Format(dateLayout)
		}
		if !strings.Contains(r, " "+text+" ") || (!wantDate && strings.Contains(r, at.Format("01-02"))) {
			t.Errorf("row %d %q: want %q", i, r, text)
		}
		prev = at
	}
}

// The list reads a first page and says how many users match beyond the
// ones listed, as a recount does; moving to the last user read reads a
// page more, up to UsersLimit, the selected user staying selected; its
// columns are as wide as what they hold; a search finds a user by an
// email it no longer uses.
func TestUsersTotalSizeAndSearch(t *testing.T) {
	var ds []decision.Decision
	for i := range UsersLimit + 234 {
		d := fixture.Decision(i+1, fixture.Now().Add(-time.Duration(i)*time.Second))
		d.UserID = fmt.Sprintf("u%04d", i)
		d.Email = fmt.Sprintf("u%d@example.com", i)
		ds = append(ds, d)
	}
	changed := fixture.Decision(len(ds)+1, fixture.Now())
	changed.UserID, changed.Email = "u0007", "new@elsewhere.test"
	ds = append(ds, changed)
	d, host := run(t, fixture.NewWith(ds), 120, 30)
	_, plain := screen(t, host.M)
	fixture.Contains(t, plain, "100 of 1,234 users")
	for want := 2 * UsersPage; want <= UsersLimit; want += UsersPage {
		d.Key("G")
		waitUsers(d, host)
		if l := &host.M.list; len(l.users) != want || l.users[l.cursor].UserID != fmt.Sprintf("u%04d", want-UsersPage-1) {
			t.Fatalf("after G: %d users, cursor on %d, want %d users and the last of the page before", len(l.users), l.cursor, want)
		}
	}
	d.Key("G")
	waitUsers(d, host)
	_, plain = screen(t, host.M)
	fixture.Contains(t, plain, "1,000 of 1,234 users")
	d.Key("g")
	// The widest email is new@elsewhere.test, 18 cells: the column is as
	// wide, and no wider.
	header := ansi.Strip(host.M.list.table.Header(host.M.c.Styles.TableHeader))
	if w := strings.Index(header, "LAST IP") - strings.Index(header, "EMAIL"); w != len("new@elsewhere.test")+1 {
		t.Errorf("the email column is %d wide, not its content's 18: %q", w-1, header)
	}
	d.Key("/")
	d.Type("u7@example")
	d.Key("enter")
	waitUsers(d, host)
	_, plain = screen(t, host.M)
	fixture.Contains(t, plain, "u0007", "new@elsewhere.test", "│ 1 user")
}
