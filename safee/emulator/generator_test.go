package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
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
				if want := fmt.Sprintf("gen-42-%d", i+1); ev.EventID != want || ids[ev.EventID] {
					t.Fatalf("event_id %q, want unique %q", ev.EventID, want)
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
	for _, p := range g.people {
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
	g, _ := NewGenerator("bots", 5, fixedClock)
	for range 500 {
		if e := machineEmail(g.rng); !generatedEmail(e) {
			t.Fatalf("machine email not flagged: %s", e)
		}
		if e := throwawayEmail(g.rng); !disposableEmail(e) {
			t.Fatalf("throwaway email not flagged: %s", e)
		}
	}
}
