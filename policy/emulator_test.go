package policy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
)

// emulatorDecisions generates n events of the mixed scenario, scores them
// with an in-process emulator and returns them as the collector would
// store them.
func emulatorDecisions(t *testing.T, n int, seed int64) []decision.Decision {
	t.Helper()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return start }
	gen, err := emulator.NewGenerator("mixed", seed, clock)
	if err != nil {
		t.Fatal(err)
	}
	emu := emulator.New(emulator.Options{Seed: seed, Now: clock})
	ds := make([]decision.Decision, 0, n)
	for range n {
		body := gen.Next()
		ev, err := safee.ParseEvent(body)
		if err != nil {
			t.Fatalf("generated event: %v: %s", err, body)
		}
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+string(ev.Route())+"/"+ev.Name(), bytes.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("emulator answered %d: %s", rec.Code, rec.Body)
		}
		res, err := safee.ParseResponse(rec.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, toDecision(t, ev, res))
	}
	return ds
}

// toDecision builds a decision as the collector does (collector/decision.go).
func toDecision(t *testing.T, ev safee.Event, r safee.Response) decision.Decision {
	d := decision.Decision{
		EventID: ev.EventID, Type: ev.Type, Status: ev.Status, UserID: ev.UserID, Email: ev.Email,
		IP: ev.IP, UserAgent: ev.UserAgent, EventTime: ev.Timestamp,
		Risk: r.Risk, AccountAbuse: r.AccountAbuse, AccountTakeover: r.AccountTakeover, Bot: r.Bot,
		Signals: r.Signals, Policy: r.Policy.Name,
	}
	if raw, ok := r.Extra["ip_country"]; ok {
		_ = json.Unmarshal(raw, &d.Country)
	}
	a, err := decision.ParseAction(string(r.Action))
	if err != nil {
		t.Fatalf("emulator action %q: %v", r.Policy.Action, err)
	}
	d.Action = a
	return d
}

// TestEmulatorPolicyReproducesEmulator replays the emulator's default
// policy, written as a policy file, over the emulator's own answers to
// generated traffic: it decides every event as the emulator did, and
// every one of its rules decides some. 30k events; 5k with -short or
// under the race detector.
func TestEmulatorPolicyReproducesEmulator(t *testing.T) {
	n := 30_000
	if testing.Short() || raceEnabled {
		n = 5_000
	}
	p, err := Load("testdata/emulator.toml")
	if err != nil {
		t.Fatal(err)
	}
	ds := emulatorDecisions(t, n, 7)
	rep, err := Replay(p, stream(ds), Options{ShowChanged: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changed != 0 || rep.Live != rep.Policy {
		b, _ := json.MarshalIndent(rep, "", "  ")
		t.Fatalf("the policy file does not reproduce the emulator:\n%s", b)
	}
	for _, rc := range rep.Rules {
		if rc.Decided == 0 && n == 30_000 {
			t.Errorf("rule %q decided nothing in %d events: the traffic does not exercise it", rc.Name, n)
		}
	}
	t.Logf("live %v; rules %+v", mustJSON(t, rep.Live), rep.Rules)

	// The check can fail: without its credential stuffing rule the file
	// changes some of what that rule decided (the rest is denied by a
	// later rule).
	src, err := os.ReadFile("testdata/emulator.toml")
	if err != nil {
		t.Fatal(err)
	}
	noStuffing, err := Parse("no-stuffing.toml", bytes.Replace(src, []byte(`"credential_stuffing" in signals`), []byte(`false`), 1))
	if err != nil {
		t.Fatal(err)
	}
	rep2, err := Replay(noStuffing, stream(ds), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Changed == 0 || rep2.Changed > rep.Rules[1].Decided {
		t.Errorf("without the stuffing rule %d decisions change; the rule decided %d", rep2.Changed, rep.Rules[1].Decided)
	}
}
