package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The real binary in tmux, driven as a person would: the back stack, Live
// paging back through history, the rates header after a burst, and the
// journey of a backfilled user. Each test posts its own events to a
// collector, so the screen is known. TZ is UTC so times read as posted.

// dashboard runs `riskwatch --emulator` (collector and dashboard in one
// process, with extra flags) in tmux at w x h and returns the session and
// the collector's URL, read from the record it writes beside its database.
func dashboard(t *testing.T, w, h int, extra ...string) (*tmuxSession, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the real binary in tmux")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "rw.db")
	s := newTmux(t, w, h, []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "TZ=UTC", "TERM=tmux-256color"},
		append([]string{bin, "--emulator", "--listen", "127.0.0.1:0", "--db", db}, extra...)...)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if info, ok := readLockInfo(db); ok && info.Listen != "" {
			s.waitScreen("the dashboard", 10*time.Second, func(scr string) bool { return strings.Contains(scr, "[1 Live]") })
			return s, "http://" + info.Listen
		}
		if msg := s.exited(); msg != "" {
			t.Fatal(msg)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector did not record its address:\n%s", s.screen())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// event is one Safe-e event as an app would post it.
type event struct {
	ID    string
	User  string
	Email string
	IP    string
	UA    string
	Type  string
	At    time.Time // zero: no timestamp, the arrival is the event time
}

func (e event) json() map[string]any {
	typ, status, _ := strings.Cut(e.Type, "/")
	m := map[string]any{
		"event_id":     e.ID,
		"type":         "$" + typ,
		"status":       "$" + status,
		"user":         map[string]any{"user_id": e.User, "user_email": e.Email, "user_ip": e.IP},
		"user_headers": map[string]any{"user_agent": e.UA, "host": "shop.example.com"},
	}
	if !e.At.IsZero() {
		m["timestamp"] = e.At.UTC().Format(time.RFC3339Nano)
	}
	return m
}

// post sends events to the collector at url in batches of 500 and fails
// the test unless all are accepted.
func post(t *testing.T, url string, events []event) {
	t.Helper()
	for i := 0; i < len(events); i += 500 {
		var body bytes.Buffer
		enc := json.NewEncoder(&body)
		for _, e := range events[i:min(i+500, len(events))] {
			if err := enc.Encode(e.json()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.Post(url+"/v1/events", "application/x-ndjson", &body)
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Accepted int }
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusAccepted || r.Accepted != min(500, len(events)-i) {
			t.Fatalf("post: %s, %+v, %v", resp.Status, r, err)
		}
	}
}

const (
	uaChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	uaCurl   = "curl/8.5.0"
)

// people returns n logins of users named seq-0001..., one each, in order.
func people(prefix string, n int) []event {
	out := make([]event, n)
	for i := range out {
		out[i] = event{
			ID: fmt.Sprintf("%s-%04d", prefix, i+1), User: fmt.Sprintf("%s-%04d", prefix, i+1),
			Email: fmt.Sprintf("%s%d@example.com", prefix, i+1), IP: fmt.Sprintf("192.0.2.%d", i%250+1),
			UA: uaChrome, Type: "login/succeeded",
		}
	}
	return out
}

// userOnScreen is the user journey title's user.
var userOnScreen = regexp.MustCompile(`User (\S+)`)

// esc goes back where the user came from: from a journey opened on a Live
// row to Live with that row still selected; from Live opened on a
// histogram bar to the histogram.
func TestBackStackInTmux(t *testing.T) {
	s, url := dashboard(t, 140, 40)
	post(t, url, people("p", 60))
	s.waitScreen("the rows", 20*time.Second, func(scr string) bool {
		return strings.Contains(scr, "60 decisions") && len(rows(scr)) >= 20
	})

	// Select a row a few above the newest, open its user's journey.
	s.keys("k", "k", "k", "k")
	s.keys("u")
	scr := s.waitScreen("the journey", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "[3 Journeys]") && userOnScreen.MatchString(scr) && strings.Contains(scr, "1 events")
	})
	user := userOnScreen.FindStringSubmatch(scr)[1]
	s.keys("Escape")
	s.waitScreen("Live again, paused where it was", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "[1 Live]") && strings.Contains(scr, "PAUSED")
	})
	s.keys("u") // the same row is still selected: the same journey
	s.waitScreen("the same journey", 10*time.Second, func(scr string) bool {
		m := userOnScreen.FindStringSubmatch(scr)
		return strings.Contains(scr, "[3 Journeys]") && m != nil && m[1] == user
	})
	// (Wait for each esc to land: an ESC followed at once by another key
	// reads as alt+key.)
	s.keys("Escape")
	s.waitScreen("Live again", 10*time.Second, func(scr string) bool { return strings.Contains(scr, "[1 Live]") })

	// A histogram bar shows its rows in Live; esc returns to the bar.
	s.keys("2")
	s.waitScreen("the histogram", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "[2 Histograms]") && strings.Contains(scr, "60 scored")
	})
	s.keys("g", "Enter")
	s.waitScreen("Live filtered to the bar", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "[1 Live]") && strings.Contains(scr, "filter: risk>=0")
	})
	s.keys("Escape")
	s.waitScreen("back on the histogram", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "[2 Histograms]") && strings.Contains(scr, "60 scored") && !strings.Contains(scr, "filter:")
	})
}

// Scrolling up past the newest page reads older rows from the store, page
// by page, down to the first decision.
func TestLiveLoadsOlderRowsInTmux(t *testing.T) {
	s, url := dashboard(t, 140, 40)
	// One second apart in event time, an hour ago.
	old := people("old", 1600)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for i := range old {
		old[i].At = start.Add(time.Duration(i) * time.Second)
	}
	// Live lists in the order decisions were stored, and concurrent
	// scoring may store a batch in any order: old-0001 goes alone and is
	// stored before the rest are sent, so it is the first row.
	post(t, url, old[:1])
	s.waitScreen("the first decision stored", 30*time.Second, func(scr string) bool {
		return strings.Contains(scr, "old-0001")
	})
	post(t, url, old[1:])
	scr := s.waitScreen("the newest rows", 30*time.Second, func(scr string) bool {
		return strings.Contains(scr, "1,600 decisions") && strings.Contains(scr, "old-1600")
	})
	if strings.Contains(scr, "old-0001") {
		t.Fatal("the first decision is on screen before paging")
	}
	// g goes to the oldest row read, and each time the page before it is
	// read: 500 rows a page, so the first decision is four pages back.
	s.waitScreen("the first decision", 20*time.Second, func(scr string) bool {
		if !strings.Contains(scr, "old-0001") {
			s.keys("g")
			return false
		}
		return strings.Contains(scr, "oldest row") && strings.Contains(scr, "PAUSED")
	})
	s.keys("G")
	s.waitScreen("the newest again, following", 20*time.Second, func(scr string) bool {
		return strings.Contains(scr, "old-1600") && strings.Contains(scr, "following")
	})
}

// After a burst, the rates header's tallest 10-second bucket is the
// burst's, and the current, incomplete bucket is marked as such.
func TestRatesHeaderBurstInTmux(t *testing.T) {
	s, url := dashboard(t, 120, 40)
	// The burst's events all carry a time in the middle of one bucket.
	at := time.Now().UTC().Truncate(10 * time.Second).Add(5 * time.Second)
	burst := people("b", 300)
	for i := range burst {
		burst[i].At = at
	}
	post(t, url, burst)
	post(t, url, people("calm", 3)) // a little traffic after it
	s.waitScreen("the burst's bucket complete, the header marking the current one", 40*time.Second, func(scr string) bool {
		lines := strings.Split(scr, "\n")
		ev := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "events ") })
		if ev < 0 || ev+5 >= len(lines) {
			return false
		}
		events, axis := []rune(lines[ev]), []rune(lines[ev+5])
		top, now := slices.Index(events, '█'), slices.Index(axis, '▲')
		if top < 0 || now < 0 || slices.Index(events[top+1:], '█') >= 0 {
			return false
		}
		// The burst's bucket is as many cells before the current one as
		// ten seconds have passed since; checked while the clock agrees.
		back := int(time.Now().UTC().Truncate(10*time.Second).Sub(at.Truncate(10*time.Second)) / (10 * time.Second))
		return back >= 1 && now-top == back && strings.Contains(lines[ev+5], "now")
	})
}

// A user backfilled over the last 11 hours (explicit timestamps, posted
// to a headless collector), then read with `riskwatch tui --db`: the
// journey shows each event to the second with the date where it changes,
// and a header of every email, IP and device with counts and first and
// last seen.
func TestBackfilledJourneyInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary in tmux")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "rw.db")
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	col := start(t, env, "collect", "--emulator", "--listen", "127.0.0.1:0", "--db", db)
	url := "http://" + col.await(t, reListen, 20*time.Second)

	end := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	var evs []event
	for i := range 12 {
		e := event{
			ID: fmt.Sprintf("bf-%02d", i), User: "backfill-user", Email: "bf@example.com", IP: "192.0.2.7",
			UA: uaChrome, Type: "login/succeeded", At: end.Add(-11 * time.Hour).Add(time.Duration(i) * time.Hour).Add(time.Duration(i*7) * time.Second),
		}
		switch {
		case i >= 9:
			e.Email, e.IP, e.UA = "bf.new@example.org", "198.51.100.23", uaCurl
		case i%3 == 1:
			e.IP, e.UA = "192.0.2.8", uaIPhone
		}
		evs = append(evs, e)
	}
	post(t, url, evs)
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := getHealth(strings.TrimPrefix(url, "http://"))
		if err == nil && h.Decisions == uint64(len(evs)) && h.Inbox == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector did not score the backfill: %+v %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := col.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-col.done
	_ = col.cmd.Wait()

	s := newTmux(t, 200, 50, []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "TZ=UTC", "TERM=tmux-256color"},
		buildBinary(t), "tui", "--db", db)
	s.waitScreen("the dashboard", 15*time.Second, func(scr string) bool { return strings.Contains(scr, "[1 Live]") })
	s.keys("3")
	s.waitScreen("the users", 10*time.Second, func(scr string) bool { return strings.Contains(scr, "backfill-user") })
	s.keys("/")
	s.keys("bf.new@", "Enter") // the newest email finds the user too
	s.keys("Enter")
	scr := s.waitScreen("the journey", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "User backfill-user") && strings.Contains(scr, "12 events")
	})
	for i, e := range evs {
		want := e.At.Format("15:04:05")
		if i == len(evs)-1 || e.At.YearDay() != evs[i+1].At.YearDay() {
			want = e.At.Format("01-02 15:04:05") // newest first: the top row, or where the date changes
		}
		if !strings.Contains(scr, " "+want+" ") {
			t.Errorf("event %d: the timeline lacks %q:\n%s", i, want, scr)
		}
	}
	first, last := evs[0].At, evs[8].At
	ids := []string{
		"bf@example.com ×9 " + first.Format("01-02 15:04:05") + "→" + last.Format("01-02 15:04:05"),
		"bf.new@example.org ×3 " + evs[9].At.Format("01-02 15:04:05") + "→" + evs[11].At.Format("01-02 15:04:05"),
		"192.0.2.7 ×6", "192.0.2.8 ×3", "198.51.100.23 ×3",
		"Chrome/Windows ×6", "Safari/iOS ×3", "curl ×3",
	}
	for _, want := range ids {
		if !strings.Contains(scr, want) {
			t.Errorf("the identity header lacks %q:\n%s", want, scr)
		}
	}
	if _, err := os.Stat(lockInfoPath(db)); !os.IsNotExist(err) {
		t.Errorf("a read-only dashboard left a lock record: %v", err)
	}
}

// A spike from one /24 with one user agent, over an hour of ordinary
// traffic: x on Live explains the last ten minutes with the /24 among the
// top three drivers; enter shows Live filtered to it; esc comes back.
func TestExplainSpikeInTmux(t *testing.T) {
	s, url := dashboard(t, 160, 40)
	now := time.Now().UTC()
	normal := people("n", 1200)
	for i := range normal {
		normal[i].At = now.Add(-70*time.Minute + time.Duration(i)*3500*time.Millisecond)
		normal[i].IP = fmt.Sprintf("198.51.%d.%d", i%20, i%250+1)
		if i%3 == 0 {
			normal[i].UA = uaIPhone
		}
	}
	spike := people("s", 150)
	for i := range spike {
		spike[i].At = now.Add(-time.Duration(i+1) * 3 * time.Second)
		spike[i].IP, spike[i].UA = fmt.Sprintf("203.0.113.%d", i+1), uaCurl
	}
	post(t, url, normal)
	post(t, url, spike)
	s.waitScreen("every decision stored", 40*time.Second, func(scr string) bool {
		return strings.Contains(scr, "1,350 decisions")
	})
	s.keys("x")
	scr := s.waitScreen("the explanation", 20*time.Second, func(scr string) bool {
		return strings.Contains(scr, "Explain all decisions") && strings.Contains(scr, "DRIVER")
	})
	lines := strings.Split(scr, "\n")
	head := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "DRIVER") })
	top := lines[head+1 : min(head+4, len(lines))]
	if !slices.ContainsFunc(top, func(l string) bool { return strings.Contains(l, "ip24=203.0.113.0/24") }) {
		t.Fatalf("the planted /24 is not in the top three:\n%s", scr)
	}
	// Select the /24's row and show it in Live.
	for _, l := range top {
		if strings.Contains(l, "ip24=203.0.113.0/24") {
			break
		}
		s.keys("j")
	}
	s.keys("Enter")
	s.waitScreen("Live filtered to the /24", 10*time.Second, func(scr string) bool {
		// The driver may be the /24 with what comes with it (the emulator
		// flags curl from a /24 it does not know as datacenter_ip).
		return strings.Contains(scr, "[1 Live]") && regexp.MustCompile(`filter: [^│]*ip:203\.0\.113\.0/24`).MatchString(scr) &&
			strings.Contains(scr, "150 of 1,350")
	})
	s.keys("Escape")
	s.waitScreen("back on the explanation", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "Explain all decisions") && strings.Contains(scr, "ip24=203.0.113.0/24")
	})
}
