package emulator

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// genLine is a generated event as the tests read it.
type genLine struct {
	EventID     string `json:"event_id"`
	Timestamp   string `json:"timestamp"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	Product     string `json:"product"`
	UserHeaders struct {
		UserAgent      string `json:"user_agent"`
		Host           string `json:"host"`
		AcceptLanguage string `json:"accept_language"`
		AcceptEncoding string `json:"accept_encoding"`
		Accept         string `json:"accept"`
	} `json:"user_headers"`
	User struct {
		UserID    string `json:"user_id"`
		UserEmail string `json:"user_email"`
		UserIP    string `json:"user_ip"`
	} `json:"user"`
	Transaction *struct {
		Amount   float64 `json:"amount"`
		Currency string  `json:"currency"`
	} `json:"transaction"`
}

func TestGeneratorLines(t *testing.T) {
	for _, sc := range Scenarios() {
		t.Run(sc, func(t *testing.T) {
			g, err := NewGenerator(sc, 42, fixedClock)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			prev := testStart
			kinds := map[string]int{}
			for i := range 1500 {
				line := g.Next()
				if bytes.ContainsAny(line, "\n\r") {
					t.Fatalf("line %d has a newline", i)
				}
				var ev genLine
				dec := json.NewDecoder(bytes.NewReader(line))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&ev); err != nil {
					t.Fatalf("line %d: %v: %s", i, err, line)
				}
				if !strings.HasPrefix(ev.EventID, "gen-42-") || ids[ev.EventID] {
					t.Fatalf("event_id %q, want a unique gen-42-...", ev.EventID)
				}
				ids[ev.EventID] = true
				ts, err := time.Parse(time.RFC3339, ev.Timestamp)
				if err != nil || ts.Before(prev) {
					t.Fatalf("timestamp %q (previous %v): %v", ev.Timestamp, prev, err)
				}
				prev = ts
				if !strings.HasPrefix(ev.Type, "$") || !strings.HasPrefix(ev.Status, "$") || ev.User.UserID == "" ||
					ev.UserHeaders.UserAgent == "" || ev.UserHeaders.Host == "" || ev.UserHeaders.Accept == "" ||
					ev.UserHeaders.AcceptLanguage == "" || ev.UserHeaders.AcceptEncoding == "" || ev.Product == "" {
					t.Fatalf("incomplete event: %s", line)
				}
				if (ev.Type == "$transaction") != (ev.Transaction != nil) {
					t.Fatalf("transaction field on %s: %s", ev.Type, line)
				}
				if ev.Transaction != nil && (ev.Transaction.Amount <= 0 || len(ev.Transaction.Currency) != 3) {
					t.Fatalf("bad transaction: %s", line)
				}
				if _, err := netip.ParseAddr(ev.User.UserIP); err != nil {
					t.Fatalf("bad IP: %s", line)
				}
				_, kind := Geo(ev.User.UserIP)
				kinds[kind]++
			}
			if span := prev.Sub(testStart); span < time.Minute || span > 24*time.Hour {
				t.Errorf("1500 events span %v", span)
			}
			switch sc {
			case "stuffing":
				if kinds[KindDatacenter] != 1500 {
					t.Errorf("stuffing from %v", kinds)
				}
			case "normal":
				if kinds[KindResidential] < 1400 || kinds[KindPrivate]+kinds[KindInvalid] != 0 {
					t.Errorf("normal from %v", kinds)
				}
			}
		})
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	a, _ := NewGenerator("mixed", 1, fixedClock)
	b, _ := NewGenerator("mixed", 1, fixedClock)
	c, _ := NewGenerator("mixed", 2, fixedClock)
	same := 0
	for range 3000 {
		la, lb, lc := a.Next(), b.Next(), c.Next()
		if !bytes.Equal(la, lb) {
			t.Fatalf("same seed, different lines:\n%s\n%s", la, lb)
		}
		var ea, ec genLine
		if json.Unmarshal(la, &ea) != nil || json.Unmarshal(lc, &ec) != nil {
			t.Fatal("generated line is not JSON")
		}
		if ea.User == ec.User && ea.Type == ec.Type {
			same++
		}
	}
	if same > 30 {
		t.Errorf("seeds 1 and 2 agree on %d lines", same)
	}
}

func TestGeneratorFollowsWallClock(t *testing.T) {
	// A wall clock that runs ahead of the simulated one wins: timestamps
	// never fall behind it.
	wall := testStart
	g, _ := NewGenerator("normal", 1, func() time.Time { return wall })
	for i := range 50 {
		wall = wall.Add(time.Hour)
		var ev genLine
		if err := json.Unmarshal(g.Next(), &ev); err != nil {
			t.Fatal(err)
		}
		ts, _ := time.Parse(time.RFC3339, ev.Timestamp)
		if ts.Before(wall) {
			t.Fatalf("event %d at %v, wall clock %v", i, ts, wall)
		}
	}
}

func TestNewGeneratorUnknownScenario(t *testing.T) {
	_, err := NewGenerator("ddos", 1, nil)
	if err == nil || !strings.Contains(err.Error(), `"ddos"`) || !strings.Contains(err.Error(), "stuffing") {
		t.Fatalf("err = %v", err)
	}
	g, err := NewGenerator("normal", 1, nil)
	if err != nil || len(g.Next()) == 0 {
		t.Fatalf("nil clock: %v", err)
	}
}

func TestPopulationAddressesAreDistinct(t *testing.T) {
	g, _ := NewGenerator("normal", 5, fixedClock)
	seen := map[netip.Addr]string{}
	for i := range populationSize {
		p := g.tl.w.people.person(i)
		for _, ip := range p.ips {
			if other, ok := seen[ip]; ok {
				t.Fatalf("%s and %s share %s", other, p.id, ip)
			}
			seen[ip] = p.id
			if c, k := geoAddr(ip); c != p.home.code || k != KindResidential {
				t.Fatalf("%s lives in %s but %s is %s %s", p.id, p.home.code, ip, c, k)
			}
		}
		if generatedEmail(p.email) || disposableEmail(p.email) {
			t.Errorf("population email flagged: %s", p.email)
		}
	}
}

func TestMachineEmailsLookGenerated(t *testing.T) {
	rng := newStream(5, streamFarmWave, 0)
	for range 500 {
		if e := machineEmail(rng); !generatedEmail(e) {
			t.Fatalf("machine email not flagged: %s", e)
		}
		if e := throwawayEmail(rng); !disposableEmail(e) {
			t.Fatalf("throwaway email not flagged: %s", e)
		}
	}
}

// spanLines returns every line of a span of a scenario.
func spanLines(t *testing.T, scenario string, seed int64, from, to time.Time) [][]byte {
	t.Helper()
	g, err := NewSpanGenerator(scenario, seed, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return drain(g)
}

// drain returns every line of a generator that ends.
func drain(g *Generator) [][]byte {
	var out [][]byte
	for l := g.Next(); l != nil; l = g.Next() {
		out = append(out, l)
	}
	return out
}

// TestTimelineIsAFunctionOfTime: the traffic of a window is the same
// whether a generator started before it or at it, so a run that starts
// where another stopped continues it: same events, same IDs, nobody
// registered twice.
func TestTimelineIsAFunctionOfTime(t *testing.T) {
	a, b, c := testStart, testStart.Add(7*time.Minute+300*time.Millisecond), testStart.Add(10*time.Minute)
	whole := spanLines(t, "mixed", 3, a, c)
	first := spanLines(t, "mixed", 3, a, b)
	second := spanLines(t, "mixed", 3, b, c)
	if len(first) == 0 || len(second) == 0 {
		t.Fatalf("%d and %d events", len(first), len(second))
	}
	joined := append(first, second...)
	if len(joined) != len(whole) {
		t.Fatalf("%d events in one go, %d in two", len(whole), len(joined))
	}
	for i := range whole {
		if !bytes.Equal(whole[i], joined[i]) {
			t.Fatalf("event %d differs:\n%s\n%s", i, whole[i], joined[i])
		}
	}
	other := spanLines(t, "mixed", 4, a, b)
	if bytes.Equal(first[0], other[0]) {
		t.Error("another seed, the same first event")
	}
	if _, err := NewSpanGenerator("mixed", 3, b, a); err == nil || !strings.Contains(err.Error(), "want a start before the end") {
		t.Errorf("reversed span: %v", err)
	}
}

// TestSpanOfADay: a day of mixed traffic lies within the day, in order,
// with background and incidents in every hour and every kind of incident.
// It plans the day at a sixteenth of the scenario's rate and without
// encoding, to keep the test fast; the CLI test runs gen --span itself.
func TestSpanOfADay(t *testing.T) {
	to := testStart.Add(17 * time.Millisecond)
	from := to.Add(-24 * time.Hour)
	g, err := newGenerator("mixed", DefaultSeed, 0.25, from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	type hour struct{ background, incidents int }
	hours := make([]hour, 24)
	kinds := map[incidentKind]int{}
	mixed, _ := scenarioFor("mixed")
	prev := from
	for p := g.tl.pop(); p != nil; p = g.tl.pop() {
		if p.at.Before(prev) || !p.at.Before(to) {
			t.Fatalf("event at %v after %v, span [%v, %v)", p.at, prev, from, to)
		}
		prev = p.at
		h := &hours[p.at.Sub(from)/time.Hour]
		if p.origin == originSecond {
			h.background++
		} else {
			h.incidents++
			kinds[mixed.incidents[floorMod(p.slot, int64(len(mixed.incidents)))]]++
		}
	}
	for i, h := range hours {
		if h.background < 600 || h.incidents == 0 {
			t.Errorf("hour %d: %+v", i, h)
		}
	}
	if len(kinds) != len(mixed.incidents) {
		t.Errorf("incidents by kind: %v", kinds)
	}
}

// TestEpisodesStayWithinTheirSpan: the timeline plans from visitSpan and
// incidentSpan before its start, so no visit or incident may last longer.
func TestEpisodesStayWithinTheirSpan(t *testing.T) {
	w := newWorld(DefaultSeed)
	var longestVisit, longestIncident time.Duration
	for i := range int64(1000) {
		rng := newStream(DefaultSeed, streamSecond, i)
		for _, p := range append(w.visit(rng, testStart), w.signup(rng, testStart, i, 0)...) {
			longestVisit = max(longestVisit, p.at.Sub(testStart))
		}
	}
	for _, sc := range Scenarios() {
		spec, _ := scenarioFor(sc)
		n := int64(len(spec.incidents))
		for k := range 10 * n {
			for _, scale := range []float64{0.25, 1, 6.25} {
				rng := newStream(DefaultSeed, streamIncident, k)
				for _, p := range w.incident(spec.incidents[k%n], rng, k, k-n, testStart, scale) {
					// The incident may start half a period into its slot.
					longestIncident = max(longestIncident, p.at.Sub(testStart)+spec.period/2)
				}
			}
		}
	}
	if longestVisit+time.Second >= visitSpan || longestIncident >= incidentSpan {
		t.Fatalf("longest visit %v (limit %v), longest incident %v (limit %v)", longestVisit, visitSpan, longestIncident, incidentSpan)
	}
}
