package whatif

import (
	"math"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
)

func th(c, d float64) decision.Thresholds {
	return decision.Thresholds{Score: decision.ScoreRisk, Challenge: c, Deny: d}
}

func TestMoveAndSet(t *testing.T) {
	tests := []struct {
		name string
		got  decision.Thresholds
		want decision.Thresholds
	}{
		{"challenge up", Move(th(50, 80), Challenge, 1), th(51, 80)},
		{"deny down", Move(th(50, 80), Deny, -5), th(50, 75)},
		{"challenge up to deny", Move(th(79, 80), Challenge, 1), th(80, 80)},
		{"challenge past deny takes it along", Move(th(80, 80), Challenge, 5), th(85, 85)},
		{"deny below challenge takes it along", Move(th(50, 52), Deny, -5), th(47, 47)},
		{"clamped at 100", Move(th(99, 99), Challenge, 5), th(100, 100)},
		{"clamped at 0", Move(th(2, 3), Deny, -5), th(0, 0)},
		{"challenge cannot go below 0", Move(th(0, 10), Challenge, -1), th(0, 10)},
		{"deny cannot go above 100", Move(th(10, 100), Deny, 1), th(10, 100)},
		{"fractions kept", Move(th(50, 72.5), Deny, 1), th(50, 73.5)},
		{"set deny", Set(th(50, 80), Deny, 65), th(50, 65)},
		{"set challenge above deny", Set(th(50, 80), Challenge, 90), th(90, 90)},
		{"set deny below challenge", Set(th(50, 80), Deny, 20), th(20, 20)},
		{"set out of range", Set(th(50, 80), Deny, 250), th(50, 100)},
		{"set NaN does nothing", Set(th(50, 80), Deny, math.NaN()), th(50, 80)},
		{"set -Inf", Set(th(50, 80), Challenge, math.Inf(-1)), th(0, 80)},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, tc.got, tc.want)
		}
		if tc.got.Challenge > tc.got.Deny || tc.got.Challenge < 0 || tc.got.Deny > 100 {
			t.Errorf("%s: broke the rules: %+v", tc.name, tc.got)
		}
	}
	// Any sequence of moves keeps the rules.
	cur := th(50, 80)
	for i := range 1000 {
		w := Which(i % 2)
		cur = Move(cur, w, float64((i*37)%23-11))
		if cur.Challenge > cur.Deny || cur.Challenge < 0 || cur.Deny > 100 {
			t.Fatalf("move %d broke the rules: %+v", i, cur)
		}
	}
}

func TestParseValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  string
	}{
		{"70", 70, ""}, {" 72.5 ", 72.5, ""}, {"0", 0, ""}, {"100", 100, ""},
		{"", 0, "type a score"}, {"abc", 0, "not a number"}, {"101", 0, "out of range"},
		{"-1", 0, "out of range"}, {"NaN", 0, "not a number"}, {"Inf", 0, "not a number"}, {"1e400", 0, "not a number"},
	} {
		got, err := ParseValue(tc.in)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseValue(%q) = %v, %v", tc.in, got, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseValue(%q) error %v, want %q", tc.in, err, tc.err)
		}
	}
	if Challenge.String() != "challenge" || Deny.String() != "deny" {
		t.Error("names")
	}
}

// FuzzParseValue feeds typed text to ParseValue: it either refuses it or
// returns a score from 0 to 100 that Set keeps ordered and in range.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"70", " 72.5 ", "", "-0", "0x1p6", "1_0", "+100", "1e2", "NaN", "-Inf", "1e400",
		"100.0000000000001", "\x00", "５０", "50\n", "0.5e-400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseValue(s)
		if err != nil {
			if v != 0 {
				t.Errorf("ParseValue(%q) = %v with error %v", s, v, err)
			}
			return
		}
		if math.IsNaN(v) || v < 0 || v > 100 {
			t.Fatalf("ParseValue(%q) = %v, want 0..100", s, v)
		}
		for _, w := range []Which{Challenge, Deny} {
			got := Set(th(30, 60), w, v)
			if got.Challenge > got.Deny || got.Challenge < 0 || got.Deny > 100 {
				t.Errorf("Set(30/60, %s, %v) = %v/%v", w, v, got.Challenge, got.Deny)
			}
		}
	})
}
