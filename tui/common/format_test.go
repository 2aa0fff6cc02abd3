package common

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/riskwatch/riskwatch/decision"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "usr_001", "usr_001"},
		{"empty", "", ""},
		{"clear screen", "a\x1b[2Jb", "a\ufffd[2Jb"},
		{"osc 52 clipboard", "\x1b]52;c;aGk=\x07", "\ufffd]52;c;aGk=\ufffd"},
		{"newline and tab", "a\nb\tc\r", "a b c "},
		{"c1 csi", "a\u009bb", "a\ufffdb"},
		{"del", "a\x7fb", "a\ufffdb"},
		{"invalid utf8", "a\xffb", "a\ufffdb"},
		{"line separator", "a\u2028b", "a\ufffdb"},
		{"unicode kept", "josé 東京", "josé 東京"},
		{"right-to-left override", "user\u202etxt.exe", "user�txt.exe"},
		{"bidi isolates", "a⁦b⁩c⁧d⁨e", "a�b�c�d�e"},
		{"zero width space", "u\u200b1", "u�1"},
		{"byte order mark", "\ufeffalice", "�alice"},
		{"zero width joiner", "👨\u200d👩", "👨�👩"},
		{"skin tone dropped", "👍\U0001f3fd", "👍"},
		{"variation selector dropped", "❤\ufe0f", "❤"},
		{"combining accent kept", "é", "é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sanitize(tc.in); got != tc.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "usr", "\x1b[31mred\x1b[0m", "\xff\xfe", "a\nb", "東京\u0085", "\x1b]8;;http://x\x07link"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Sanitize(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q: %q", s, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || presentationOnly(r) {
				t.Fatalf("control, format or presentation character %U left in %q (from %q)", r, out, s)
			}
		}
		if Sanitize(out) != out {
			t.Fatalf("not idempotent: %q", out)
		}
	})
}

func TestFitExactWidth(t *testing.T) {
	inputs := []string{"", "a", "abcdef", "東京都庁", "josé", "a東b京c", strings.Repeat("x", 300)}
	for _, in := range inputs {
		for w := 1; w <= 12; w++ {
			for _, right := range []bool{false, true} {
				got := Fit(in, w, right)
				if gw := ansi.StringWidth(got); gw != w {
					t.Errorf("Fit(%q, %d, %v) = %q, width %d", in, w, right, got, gw)
				}
			}
		}
	}
	if got := Fit("abcdef", 4, false); got != "abc…" {
		t.Errorf("Fit cut = %q, want abc…", got)
	}
	if got := Fit("42", 4, true); got != "  42" {
		t.Errorf("Fit right = %q", got)
	}
	if Fit("x", 0, false) != "" || Truncate("x", -1) != "" || Clip("x", 0) != "" {
		t.Error("zero width must give empty strings")
	}
}

func FuzzFit(f *testing.F) {
	f.Add("hello", 3)
	f.Add("東京", 1)
	f.Add("\x1b[2J", 5)
	f.Fuzz(func(t *testing.T, s string, w int) {
		w = w % 300
		s = Sanitize(s)
		if got := ansi.StringWidth(Fit(s, w, false)); w > 0 && got > w {
			t.Fatalf("Fit(%q, %d) is %d wide", s, w, got)
		}
		if got := ansi.StringWidth(Truncate(s, w)); w > 0 && got > w {
			t.Fatalf("Truncate(%q, %d) is %d wide", s, w, got)
		}
	})
}

func TestFitBlock(t *testing.T) {
	got := FitBlock("abcdef\nxy\nz\nextra", 3, 3)
	if got != "abc\nxy\nz" {
		t.Errorf("FitBlock cut = %q", got)
	}
	if got := FitBlock("a", 5, 3); got != "a\n\n" {
		t.Errorf("FitBlock pad = %q", got)
	}
	if FitBlock("a", 5, 0) != "" {
		t.Error("height 0 must be empty")
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{0, "just now"},
		{-5 * time.Second, "just now"},
		{2 * time.Second, "2s ago"},
		{59 * time.Second, "59s ago"},
		{5 * time.Minute, "5m ago"},
		{3 * time.Hour, "3h ago"},
		{72 * time.Hour, "3d ago"},
	}
	for _, tc := range tests {
		if got := Age(now, now.Add(-tc.ago)); got != tc.want {
			t.Errorf("Age(-%s) = %q, want %q", tc.ago, got, tc.want)
		}
	}
	if Age(now, time.Time{}) != "never" {
		t.Error("zero time must be never")
	}
}

func TestNumbers(t *testing.T) {
	for in, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", 100000: "100,000"} {
		if got := Count(in); got != want {
			t.Errorf("Count(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[int64]string{0: "0 B", 1023: "1023 B", 2048: "2.0 KiB", 12_900_000: "12.3 MiB"} {
		if got := Bytes(in); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{0: "-", 850 * time.Microsecond: "850µs", 45 * time.Millisecond: "45ms", 1200 * time.Millisecond: "1.2s", 30 * time.Second: "30s"} {
		if got := Latency(in); got != want {
			t.Errorf("Latency(%s) = %q, want %q", in, got, want)
		}
	}
	if Score(80.6) != "81" || Score(0) != "0" {
		t.Error("Score rounds to an integer")
	}
}

func TestActionLabel(t *testing.T) {
	for a, want := range map[decision.Action]string{
		decision.ActionAllow: "ALLOW", decision.ActionChallenge: "CHALLENGE", decision.ActionDeny: "DENY",
		decision.ActionError: "ERROR", "review\x1b[2J": "REVIEW\ufffd[2J",
	} {
		if got := ActionLabel(a); got != want {
			t.Errorf("ActionLabel(%q) = %q, want %q", a, got, want)
		}
	}
}

func TestDecisionJSON(t *testing.T) {
	d := decision.Decision{ID: "00ff", Action: decision.ActionDeny, Request: json.RawMessage(`{"type":"$login"}`), Response: json.RawMessage(`{"risk":`)}
	s, err := DecisionJSON(&d)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(s), &back); err != nil {
		t.Fatalf("copied text is not JSON: %v\n%s", err, s)
	}
	if back["response"] != `{"risk":` {
		t.Errorf("invalid response bytes must be kept as a string, got %#v", back["response"])
	}
	if req, ok := back["request"].(map[string]any); !ok || req["type"] != "$login" {
		t.Errorf("valid request must stay an object, got %#v", back["request"])
	}
	if strings.Contains(s, "\n") {
		t.Error("copied JSON must be one line")
	}
}

func TestCompactAndShare(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0", 9999: "9999", 10_000: "10k", 999_999: "999k", 1_234_567: "1.2M",
		12_345_678: "12M", 5_000_000_000: "5G",
	} {
		if got := Compact(n); got != want || len(got) > 5 {
			t.Errorf("Compact(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Share(3, 100); got != "3.0%" {
		t.Errorf("Share = %q", got)
	}
	if got := Share(1, 0); got != "-" {
		t.Errorf("Share of nothing = %q", got)
	}
}
