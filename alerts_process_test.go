package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// plantSpike stores, through a collector process that then stops, a quiet
// hour (300 events from 10.x addresses) and a spike of 300 events from
// 203.0.113.0/24 with curl in the two minutes ending a minute before end.
func plantSpike(t *testing.T, env []string, db string, end time.Time) {
	t.Helper()
	p := start(t, env, "collect", "--emulator", "--db", db, "--listen", "127.0.0.1:0")
	addr := p.await(t, reListen, 10*time.Second)
	var evs []event
	for i := range 300 {
		evs = append(evs, event{ID: fmt.Sprintf("quiet-%d", i), User: fmt.Sprintf("u%d", i%40), Email: fmt.Sprintf("u%d@example.com", i%40),
			IP: fmt.Sprintf("10.1.%d.%d", i%9, i%40), UA: uaChrome, Type: "login/succeeded",
			At: end.Add(-60*time.Minute + time.Duration(i)*10*time.Second)})
	}
	for i := range 300 {
		evs = append(evs, event{ID: fmt.Sprintf("spike-%d", i), User: fmt.Sprintf("s%d", i), Email: fmt.Sprintf("s%d@mail.test", i),
			IP: fmt.Sprintf("203.0.113.%d", i%250), UA: "curl/8.5.0", Type: "login/failed",
			At: end.Add(-3*time.Minute + time.Duration(i)*400*time.Millisecond)})
	}
	post(t, "http://"+addr, evs)
	deadline := time.Now().Add(15 * time.Second)
	for {
		h, err := getHealth(addr)
		if err == nil && h.Decisions == uint64(len(evs)) && h.Inbox == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("planted events not all scored: %+v, %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	_ = p.cmd.Wait()
}

// TestAlertWebhookFromCollector: a collector process started with --alerts
// over a database holding a planted spike POSTs the firing, with its
// drivers and a Slack text, to a webhook; GET /v1/alerts and /metrics say
// it fires.
func TestAlertWebhookFromCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	dir := t.TempDir()
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	db := filepath.Join(dir, "rw.db")
	// The collector's first evaluation measures the 5 minutes before the
	// last minute that ended 10 s ago: end, or the minute after if one
	// ends meanwhile. The spike lies inside both windows.
	end := time.Now().Add(-10 * time.Second).Truncate(time.Minute)
	plantSpike(t, env, db, end)

	bodies := make(chan []byte, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
	}))
	defer hook.Close()
	rules := filepath.Join(dir, "alerts.toml")
	err := os.WriteFile(rules, []byte(fmt.Sprintf(`
[[alert]]
name = "login spike"
kind = "rate"
window = "5m"
above = 30
notify = ["webhook:%s/hook/secret-path"]
`, hook.URL)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, env, "collect", "--emulator", "--db", db, "--listen", "127.0.0.1:0", "--alerts", rules)
	addr := p.await(t, reListen, 10*time.Second)

	var got struct {
		Alert, State, Filter, Text string
		Value, Threshold           float64
		At                         time.Time
		Drivers                    []struct {
			Dimension, Value string
			Window           uint64
		}
	}
	select {
	case b := <-bodies:
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("webhook body %s: %v", b, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook call within 20 s")
	}
	if got.Alert != "login spike" || got.State != "firing" || got.Value != 60 || got.Threshold != 30 {
		t.Errorf("webhook got %+v", got)
	}
	if len(got.Drivers) == 0 || len(got.Drivers) > 3 || !strings.Contains(fmt.Sprint(got.Drivers), "203.0.113.0/24") {
		t.Errorf("drivers %+v, want the spike's /24 among at most three", got.Drivers)
	}
	if !strings.HasPrefix(got.Text, "[FIRING] login spike: 60/min > 30/min") {
		t.Errorf("text %q", got.Text)
	}

	resp, err := http.Get("http://" + addr + "/v1/alerts")
	if err != nil {
		t.Fatal(err)
	}
	var alerts struct {
		Alerts  []struct{ Name, Phase string }
		History []struct {
			Alert, State string
			Drivers      []any
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&alerts)
	resp.Body.Close()
	if err != nil || len(alerts.Alerts) != 1 || alerts.Alerts[0].Phase != "firing" ||
		len(alerts.History) != 1 || alerts.History[0].State != "firing" || len(alerts.History[0].Drivers) == 0 {
		t.Errorf("/v1/alerts: %+v, %v", alerts, err)
	}
	resp, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `riskwatch_alert_firing{alert="login spike"} 1`) {
		t.Errorf("/metrics lacks the firing gauge")
	}
	if strings.Contains(string(metrics), "secret-path") {
		t.Errorf("/metrics shows the webhook's path")
	}

	// The collector replays its history from the minute it first
	// evaluated: the same firing, at the same minute.
	bt := backtest(t, env, "--connect", "http://"+addr, "--alerts", rules, "--since", got.At.Format(time.RFC3339))
	if len(bt.Alerts) != 1 || len(bt.Alerts[0].Firings) != 1 || !bt.Alerts[0].Firings[0].From.Equal(got.At) {
		t.Errorf("backtest over the collector from %s: %+v", got.At, bt)
	}

	// Over the file, from ten minutes before: the spike's window first
	// holds all 300 of its events at the minute it ends.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	_ = p.cmd.Wait()
	bt = backtest(t, env, "--db", db, "--alerts", rules, "--since", end.Add(-10*time.Minute).Format(time.RFC3339))
	if len(bt.Alerts) != 1 || len(bt.Alerts[0].Firings) != 1 {
		t.Fatalf("backtest over the file: %+v", bt)
	}
	if f := bt.Alerts[0].Firings[0]; !f.From.Equal(end.Add(-time.Minute)) || f.Peak != 60 {
		t.Errorf("backtest over the file: %+v, want a firing from %s with peak 60", f, end.Add(-time.Minute))
	}
}

// backtestOut is what `alerts backtest --json` prints.
type backtestOut struct {
	Alerts []struct {
		Name    string
		Firings []struct {
			From time.Time
			To   *time.Time
			Peak float64
		}
	}
}

// backtest runs `riskwatch alerts backtest --json` with args.
func backtest(t *testing.T, env []string, args ...string) backtestOut {
	t.Helper()
	cmd := exec.Command(buildBinary(t), append([]string{"alerts", "backtest", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("alerts backtest %v: %v\n%s", args, err, stderr)
	}
	var bt backtestOut
	if err := json.Unmarshal(out, &bt); err != nil {
		t.Fatalf("alerts backtest printed %s: %v", out, err)
	}
	return bt
}

// TestAlertBannerInTmux: the dashboard over a database holding a planted
// spike shows the firing alert's banner on every view, and its Alerts view
// lists the firing with its drivers; enter opens Live on its window.
func TestAlertBannerInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary in tmux")
	}
	dir := t.TempDir()
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "TZ=UTC", "TERM=tmux-256color"}
	db := filepath.Join(dir, "rw.db")
	end := time.Now().Add(-10 * time.Second).Truncate(time.Minute)
	plantSpike(t, env, db, end)
	rules := filepath.Join(dir, "alerts.toml")
	err := os.WriteFile(rules, []byte("[[alert]]\nname = \"login spike\"\nkind = \"rate\"\nwindow = \"5m\"\nabove = 30\nnotify = [\"bell\"]\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s := newTmux(t, 140, 30, env, buildBinary(t), "--emulator", "--listen", "127.0.0.1:0", "--db", db, "--alerts", rules)
	banner := "ALERT login spike: 60/min > 30/min"
	s.waitScreen("the alert banner", 20*time.Second, func(scr string) bool { return strings.Contains(scr, banner) })
	for _, k := range []string{"2", "5"} {
		s.keys(k)
		s.waitScreen("the banner on view "+k, 5*time.Second, func(scr string) bool { return strings.Contains(scr, banner) })
	}
	s.keys("6")
	s.waitScreen("the Alerts view", 5*time.Second, func(scr string) bool {
		return strings.Contains(scr, "FIRING    login spike") && strings.Contains(scr, "drivers: ")
	})
	s.keys("j", "Enter")
	// The firing is still open, so its window ends at the last minute the
	// dashboard evaluated: end, or a later minute when the machine is slow
	// enough that the clock has passed end+1m by now.
	s.waitScreen("Live on the window", 5*time.Second, func(scr string) bool {
		return strings.Contains(scr, "[1 Live]") && windowEndIn(scr, end, time.Now())
	})
}

// windowEndIn reports whether the screen's filter has an until: term at a
// whole minute from end to now.
func windowEndIn(scr string, end, now time.Time) bool {
	_, rest, ok := strings.Cut(scr, "until:")
	if !ok {
		return false
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return false
	}
	until, err := time.Parse(time.RFC3339, f[0])
	return err == nil && until.Equal(until.Truncate(time.Minute)) && !until.Before(end) && !until.After(now)
}

// TestAlertOutageAndResolutionFromCollector: a collector process whose
// webhook is down for its first minute loses no notification: once the
// webhook returns it gets the firing of a planted spike and then its
// resolution, in that order, while /v1/health shows the failing notifier
// during the outage and the decisions posted meanwhile are all scored.
func TestAlertOutageAndResolutionFromCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary for two minutes")
	}
	dir := t.TempDir()
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	db := filepath.Join(dir, "rw.db")

	// The spike lies in the minute before end, which the collector
	// evaluates once a started collector's clock passes end+10s, if it
	// starts before end+70s; wait for a moment that leaves planting and
	// starting 25 s.
	for time.Now().Second() > 45 {
		time.Sleep(time.Second)
	}
	end := time.Now().Truncate(time.Minute)
	planted := plantMinute(t, env, db, end)

	// The webhook's address is reserved and left unanswered for a minute.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hookAddr := ln.Addr().String()
	ln.Close()
	rules := filepath.Join(dir, "alerts.toml")
	err = os.WriteFile(rules, []byte(fmt.Sprintf(`
[[alert]]
name = "login spike"
kind = "rate"
window = "1m"
above = 30
notify = ["webhook:http://%s/hook"]
`, hookAddr)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, env, "collect", "--emulator", "--db", db, "--listen", "127.0.0.1:0", "--alerts", rules)
	addr := p.await(t, reListen, 10*time.Second)
	down := time.Now()

	// While the webhook is down, Health names it failing and scoring goes on.
	waitUntil(t, 30*time.Second, "the webhook's failure in /v1/health", func() bool {
		var h struct {
			Notifiers []struct {
				Target    string `json:"target"`
				Failed    uint64 `json:"failed"`
				Retries   uint64 `json:"retries"`
				LastError string `json:"last_error"`
			} `json:"notifiers"`
		}
		resp, err := http.Get("http://" + addr + "/v1/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if json.NewDecoder(resp.Body).Decode(&h) != nil {
			return false
		}
		return len(h.Notifiers) == 1 && h.Notifiers[0].Retries > 0 && h.Notifiers[0].LastError != ""
	})
	var evs []event
	for i := range 500 {
		evs = append(evs, event{ID: fmt.Sprintf("during-%d", i), User: fmt.Sprintf("d%d", i%50), Email: fmt.Sprintf("d%d@example.com", i%50),
			IP: fmt.Sprintf("10.2.%d.%d", i%7, i%50), UA: uaChrome, Type: "login/succeeded", At: end.Add(-time.Hour)})
	}
	post(t, "http://"+addr, evs)
	waitUntil(t, 30*time.Second, "the events posted during the outage scored", func() bool {
		h, err := getHealth(addr)
		return err == nil && h.Decisions == planted+uint64(len(evs)) && h.Inbox == 0
	})

	time.Sleep(time.Until(down.Add(time.Minute)))
	bodies := make(chan []byte, 16)
	hook := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
	}))
	hook.Listener.Close()
	if hook.Listener, err = net.Listen("tcp", hookAddr); err != nil {
		t.Fatalf("the webhook's address was taken meanwhile: %v", err)
	}
	hook.Start()
	defer hook.Close()

	var states []string
	for len(states) < 2 {
		select {
		case b := <-bodies:
			var got struct {
				Alert, State string
				At           time.Time
				Drivers      []any
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("webhook body %s: %v", b, err)
			}
			if got.Alert != "login spike" {
				t.Errorf("webhook got %s", b)
			}
			if got.State == "firing" && (!got.At.Equal(end) || len(got.Drivers) == 0) {
				t.Errorf("firing %s, want it at %s with drivers", b, end)
			}
			if got.State == "resolved" && !got.At.Equal(end.Add(2*time.Minute)) {
				t.Errorf("resolution %s, want it at %s", b, end.Add(2*time.Minute))
			}
			states = append(states, got.State)
		case <-time.After(2 * time.Minute):
			t.Fatalf("webhook got %v, want firing then resolved", states)
		}
	}
	if states[0] != "firing" || states[1] != "resolved" {
		t.Errorf("webhook got %v, want firing then resolved", states)
	}
}

// plantMinute stores, through a collector process that then stops, a
// quiet hour (200 events from 10.x addresses) and 100 failed logins from
// 203.0.113.0/24 with curl in the minute before end; it returns how many.
func plantMinute(t *testing.T, env []string, db string, end time.Time) uint64 {
	t.Helper()
	p := start(t, env, "collect", "--emulator", "--db", db, "--listen", "127.0.0.1:0")
	addr := p.await(t, reListen, 10*time.Second)
	var evs []event
	for i := range 200 {
		evs = append(evs, event{ID: fmt.Sprintf("quiet-%d", i), User: fmt.Sprintf("u%d", i%40), Email: fmt.Sprintf("u%d@example.com", i%40),
			IP: fmt.Sprintf("10.1.%d.%d", i%9, i%40), UA: uaChrome, Type: "login/succeeded",
			At: end.Add(-61*time.Minute + time.Duration(i)*17*time.Second)})
	}
	for i := range 100 {
		evs = append(evs, event{ID: fmt.Sprintf("spike-%d", i), User: fmt.Sprintf("s%d", i), Email: fmt.Sprintf("s%d@mail.test", i),
			IP: fmt.Sprintf("203.0.113.%d", i), UA: "curl/8.5.0", Type: "login/failed",
			At: end.Add(-time.Minute + time.Duration(i)*500*time.Millisecond)})
	}
	post(t, "http://"+addr, evs)
	waitUntil(t, 15*time.Second, "the planted minute scored", func() bool {
		h, err := getHealth(addr)
		return err == nil && h.Decisions == uint64(len(evs)) && h.Inbox == 0
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	_ = p.cmd.Wait()
	return uint64(len(evs))
}
