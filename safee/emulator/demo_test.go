package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// simClock is a simulated clock: Sleep moves it forward at once, and ends
// the run (with errSimEnd) once it reaches end.
type simClock struct {
	now, end time.Time
}

var errSimEnd = errors.New("simulated time is up")

func (c *simClock) Now() time.Time { return c.now }

func (c *simClock) Sleep(_ context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	if !c.now.Before(c.end) {
		return errSimEnd
	}
	return nil
}

// scoredEvent is a generated event and the emulator's action on it.
type scoredEvent struct {
	genLine
	at, sent time.Time
	action   string
	// incident is the incident slot the event belongs to, -1 for the
	// background.
	incident int64
}

// origin reads the incident slot from an event ID, -1 for the background.
func origin(t *testing.T, id string) int64 {
	t.Helper()
	parts := strings.Split(id, "-")
	o := parts[len(parts)-2]
	if o[0] == originSecond {
		return -1
	}
	k, err := strconv.ParseInt(o[1:], 10, 64)
	if o[0] != originIncident || err != nil {
		t.Fatalf("event ID %q names no second or incident", id)
	}
	return k
}

// scoreInProcess returns a PostFunc that scores every line with e,
// in-process, and records it with the clock's time as its sending time.
func scoreInProcess(t *testing.T, e *Emulator, clock func() time.Time, out *[]scoredEvent) PostFunc {
	return func(_ context.Context, lines [][]byte) error {
		for _, l := range lines {
			var ev scoredEvent
			if err := json.Unmarshal(l, &ev.genLine); err != nil {
				t.Fatalf("generated line is not JSON: %v: %s", err, l)
			}
			at, err := time.Parse(time.RFC3339, ev.Timestamp)
			if err != nil {
				t.Fatalf("timestamp %q: %v", ev.Timestamp, err)
			}
			ev.at, ev.sent, ev.incident = at, clock(), origin(t, ev.EventID)
			ev.action = assess(t, e, l).Policy.Action
			*out = append(*out, ev)
		}
		return nil
	}
}

// runDemo runs the demo at rate for a simulated span from testStart and
// returns what it sent, scored.
func runDemo(t *testing.T, rate float64, history, span time.Duration) []scoredEvent {
	t.Helper()
	clock := &simClock{now: testStart, end: testStart.Add(span)}
	var got []scoredEvent
	post := scoreInProcess(t, New(Options{Seed: 1}), clock.Now, &got)
	err := RunDemo(context.Background(), DemoOptions{Seed: DefaultSeed, Rate: rate, History: history, Now: clock.Now, Sleep: clock.Sleep}, post)
	if !errors.Is(err, errSimEnd) {
		t.Fatalf("RunDemo = %v, want the clock's end", err)
	}
	return got
}

// TestDemoFiveMinutes runs five simulated minutes of the demo at its
// default rate through an in-process emulator.
func TestDemoFiveMinutes(t *testing.T) {
	const rate, minutes = 25, 5
	got := runDemo(t, rate, 0, minutes*time.Minute)
	if len(got) < minutes*60*rate*9/10 {
		t.Fatalf("%d events in %d minutes at %d a second", len(got), minutes, rate)
	}

	// Event time is sending time: never ahead, within a second behind.
	var late time.Duration
	for i, ev := range got {
		if ev.at.After(ev.sent) || ev.sent.Sub(ev.at) >= time.Second {
			t.Fatalf("event %s stamped %v, sent at %v", ev.EventID, ev.at, ev.sent)
		}
		if i > 0 && ev.at.Before(got[i-1].at) {
			t.Fatalf("event %s at %v before the previous one at %v", ev.EventID, ev.at, got[i-1].at)
		}
		late = max(late, ev.sent.Sub(ev.at))
	}

	// The population's own traffic is denied well under 2% of the time.
	var normal, normalDeny, normalChallenge int
	perMinute := make([]int, minutes)
	for _, ev := range got {
		deny := ev.action == actionDeny
		if deny {
			perMinute[ev.at.Sub(testStart)/time.Minute]++
		}
		if ev.incident < 0 {
			normal++
			if deny {
				normalDeny++
			}
			if ev.action == actionChallenge {
				normalChallenge++
			}
		}
	}
	share := float64(normalDeny) / float64(normal)
	if share >= 0.02 {
		t.Errorf("normal traffic denied %d of %d times (%.2f%%)", normalDeny, normal, 100*share)
	}

	// An incident is a spike: a minute with over 5 times the median
	// minute's denies.
	sorted := slices.Clone(perMinute)
	slices.Sort(sorted)
	median := max(1, sorted[len(sorted)/2])
	peak := slices.Max(perMinute)
	if peak <= 5*median {
		t.Errorf("denies a minute %v: the peak %d is not over 5x the median %d", perMinute, peak, median)
	}

	checkIdentities(t, got)
	t.Logf("%d events, latest %v late; normal traffic %d events, %.2f%% denied, %.2f%% challenged; denies a minute %v (peak %.0fx the median)",
		len(got), late, normal, 100*share, 100*float64(normalChallenge)/float64(normal), perMinute, float64(peak)/float64(median))
}

// checkIdentities: every account is registered at most once, never one of
// the population; every user ID keeps one email.
func checkIdentities(t *testing.T, evs []scoredEvent) {
	t.Helper()
	population := map[string]string{}
	w := newWorld(DefaultSeed)
	for i := range populationSize {
		p := w.people.person(i)
		population[p.id] = p.email
	}
	registered := map[string]bool{}
	email := map[string]string{}
	for _, ev := range evs {
		u := ev.User
		if ev.Type == "$registration" {
			if registered[u.UserID] {
				t.Fatalf("%s registered twice", u.UserID)
			}
			if _, ok := population[u.UserID]; ok {
				t.Fatalf("%s of the population registered again", u.UserID)
			}
			registered[u.UserID] = true
		}
		if e, ok := email[u.UserID]; ok && e != u.UserEmail {
			t.Fatalf("%s has two emails: %s and %s", u.UserID, e, u.UserEmail)
		}
		email[u.UserID] = u.UserEmail
		if e, ok := population[u.UserID]; ok && e != u.UserEmail {
			t.Fatalf("%s of the population appears as %s, not %s", u.UserID, u.UserEmail, e)
		}
	}
}

// TestDemoHistory: the history goes first with its own past times, then
// the traffic is live.
func TestDemoHistory(t *testing.T) {
	got := runDemo(t, 5, 2*time.Minute, 30*time.Second)
	var history int
	for i, ev := range got {
		if ev.at.Before(testStart.Add(-2*time.Minute)) || ev.at.After(ev.sent) {
			t.Fatalf("event %d at %v, sent at %v", i, ev.at, ev.sent)
		}
		if ev.at.Before(testStart) {
			if i != history {
				t.Fatalf("history event %d at %v after a live one", i, ev.at)
			}
			history++
		}
	}
	if history < 2*60*5*3/4 || len(got)-history < 30*5/2 {
		t.Fatalf("%d events of history, %d live", history, len(got)-history)
	}
	if first := got[0].at; first.After(testStart.Add(-time.Minute - 50*time.Second)) {
		t.Errorf("history starts at %v", first)
	}
}

// TestDemoSkipsWhatIsLate: when post blocks, the events that came due
// meanwhile are skipped, not sent with stale times.
func TestDemoSkipsWhatIsLate(t *testing.T) {
	clock := &simClock{now: testStart, end: testStart.Add(20 * time.Second)}
	var sent []time.Time
	post := func(_ context.Context, lines [][]byte) error {
		for _, l := range lines {
			var ev genLine
			if err := json.Unmarshal(l, &ev); err != nil {
				t.Fatal(err)
			}
			at, _ := time.Parse(time.RFC3339, ev.Timestamp)
			if d := clock.now.Sub(at); d < 0 || d > demoLate {
				t.Fatalf("event at %v sent at %v", at, clock.now)
			}
			sent = append(sent, at)
		}
		clock.now = clock.now.Add(3 * time.Second) // a slow collector
		return nil
	}
	err := RunDemo(context.Background(), DemoOptions{Rate: 25, Now: clock.Now, Sleep: clock.Sleep}, post)
	if !errors.Is(err, errSimEnd) || len(sent) == 0 || len(sent) > 20*25/2 {
		t.Fatalf("err %v, %d events sent", err, len(sent))
	}
}

func TestDemoOptions(t *testing.T) {
	for _, rate := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		err := RunDemo(context.Background(), DemoOptions{Rate: rate}, func(context.Context, [][]byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "want events a second above 0") {
			t.Errorf("rate %v: %v", rate, err)
		}
	}
	// post's error ends the demo, wrapped.
	boom := errors.New("collector gone")
	clock := &simClock{now: testStart, end: testStart.Add(time.Minute)}
	err := RunDemo(context.Background(), DemoOptions{Rate: 25, Now: clock.Now, Sleep: clock.Sleep},
		func(context.Context, [][]byte) error { return boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "demo: post") {
		t.Errorf("err = %v", err)
	}
}
