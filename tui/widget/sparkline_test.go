package widget

import (
	"testing"
	"unicode/utf8"
)

func TestSparkline(t *testing.T) {
	tests := []struct {
		name string
		in   []uint64
		want string
	}{
		{"empty", nil, ""},
		{"all zero stays visible", []uint64{0, 0, 0}, "▁▁▁"},
		{"peak is full", []uint64{0, 7}, "▁█"},
		{"linear", []uint64{0, 1, 2, 3, 4, 5, 6, 7}, "▁▂▃▄▅▆▇█"},
		// 1 of 1000 is far below one eighth, but it is not nothing.
		{"small non-zero shows", []uint64{1000, 1, 0}, "█▂▁"},
		{"rounds up", []uint64{14, 7, 2}, "█▅▂"},
		{"single", []uint64{42}, "█"},
		{"huge values", []uint64{1 << 60, 1 << 59}, "█▅"},
		{"no overflow", []uint64{1 << 63, 1 << 62, 1}, "█▅▂"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Sparkline(tc.in)
			if got != tc.want {
				t.Errorf("Sparkline(%v) = %q, want %q", tc.in, got, tc.want)
			}
			if n := utf8.RuneCountInString(got); n != len(tc.in) {
				t.Errorf("%d cells for %d values", n, len(tc.in))
			}
		})
	}
}

func TestSparkLevelMonotonic(t *testing.T) {
	for _, peak := range []uint64{1, 2, 7, 8, 9, 100, 12345} {
		prev := 0
		for v := uint64(0); v <= peak; v++ {
			l := sparkLevel(v, peak)
			if l < prev || l < 0 || l >= len(sparkBlocks) {
				t.Fatalf("peak %d: level(%d) = %d after %d", peak, v, l, prev)
			}
			if (v == 0) != (l == 0) {
				t.Fatalf("peak %d: level(%d) = %d: only zero may draw the lowest block", peak, v, l)
			}
			prev = l
		}
		if sparkLevel(peak, peak) != len(sparkBlocks)-1 {
			t.Fatalf("peak %d does not reach the full block", peak)
		}
	}
}
