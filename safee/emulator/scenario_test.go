package emulator

import (
	"bytes"
	"fmt"
	"testing"
)

// run scores n events of a scenario with a fresh emulator, in-process,
// and tallies the signals and actions of the answers.
func run(t *testing.T, scenario string, n int) (signals map[string]int, actions map[string]int) {
	t.Helper()
	g, err := NewGenerator(scenario, 7, fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{Seed: 1})
	signals, actions = map[string]int{}, map[string]int{}
	for range n {
		r := assess(t, e, g.Next())
		for _, s := range r.Signals {
			signals[s]++
		}
		actions[r.Policy.Action]++
	}
	return signals, actions
}

func TestScenarioSignals(t *testing.T) {
	tests := []struct {
		scenario string
		signals  []string
		actions  []string
	}{
		{"stuffing", []string{SignalCredentialStuffing, SignalDatacenterIP}, []string{"Deny"}},
		{"ato", []string{SignalNewDevice, SignalNewCountry, SignalImpossibleTravel}, []string{"Challenge", "Deny"}},
		{"bots", []string{SignalBotBehavior, SignalGeneratedEmail, SignalDisposableEmail}, []string{"Deny"}},
		{"cardtesting", []string{SignalHighActivityAccount, SignalMultipleAccountsPerDevice}, []string{"Deny"}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			signals, actions := run(t, tt.scenario, 1500)
			for _, s := range tt.signals {
				if signals[s] == 0 {
					t.Errorf("no %s in %v", s, signals)
				}
			}
			for _, a := range tt.actions {
				if actions[a] == 0 {
					t.Errorf("no %s in %v", a, actions)
				}
			}
		})
	}
}

func TestMixedYieldsEveryAction(t *testing.T) {
	const n = 3000
	signals, actions := run(t, "mixed", n)
	for _, a := range []string{"Allow", "Challenge", "Deny"} {
		if actions[a] < 10 {
			t.Errorf("%d %s in %d events: %v", actions[a], a, n, actions)
		}
	}
	if actions["Allow"] < n/2 {
		t.Errorf("mixed is mostly normal traffic, yet only %d of %d allowed", actions["Allow"], n)
	}
	if len(signals) < 10 {
		t.Errorf("only %d kinds of signal in mixed traffic: %v", len(signals), signals)
	}
}

func TestNormalMostlyAllows(t *testing.T) {
	const n = 2000
	signals, actions := run(t, "normal", n)
	if actions["Allow"] < n*97/100 {
		t.Errorf("%d of %d allowed: %v", actions["Allow"], n, actions)
	}
	for _, s := range []string{SignalCredentialStuffing, SignalBotBehavior, SignalGeneratedEmail, SignalTorIP, SignalDatacenterIP} {
		if signals[s] != 0 {
			t.Errorf("%d %s in normal traffic", signals[s], s)
		}
	}
}

// TestDeterminism: two emulators with the same seed, fed the same events
// (including injected faults), answer byte for byte the same; another seed
// moves the scores.
func TestDeterminism(t *testing.T) {
	g1, _ := NewGenerator("mixed", 3, fixedClock)
	g2, _ := NewGenerator("mixed", 3, fixedClock)
	opts := Options{Seed: 21, ErrorRate: 0.05, ThrottleRate: 0.05}
	_, a := serve(t, opts)
	_, b := serve(t, opts)
	opts.Seed = 22
	_, c := serve(t, opts)
	differ := 0
	for i := range 1000 {
		l1, l2 := g1.Next(), g2.Next()
		if !bytes.Equal(l1, l2) {
			t.Fatalf("event %d: generators differ:\n%s\n%s", i, l1, l2)
		}
		path := pathFor(t, l1)
		s1, _, r1 := post(t, a.Client(), a.URL+path, "", l1)
		s2, _, r2 := post(t, b.Client(), b.URL+path, "", l2)
		if s1 != s2 || !bytes.Equal(r1, r2) {
			t.Fatalf("event %d: %d %s vs %d %s", i, s1, r1, s2, r2)
		}
		if _, _, r3 := post(t, c.Client(), c.URL+path, "", l1); !bytes.Equal(r1, r3) {
			differ++
		}
	}
	if differ < 300 {
		t.Errorf("another seed changed only %d of 1000 answers", differ)
	}
}

func ExampleGeo() {
	fmt.Println(Geo("203.0.113.9"))
	fmt.Println(Geo("198.18.64.1"))
	// Output:
	// US datacenter
	// GB residential
}
