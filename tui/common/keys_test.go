package common

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
)

func TestKeyMapScroll(t *testing.T) {
	k := DefaultKeyMap()
	tests := []struct {
		name string
		key  tea.KeyPressMsg
		want int
	}{
		{"up", tea.KeyPressMsg{Code: tea.KeyUp}, 9},
		{"k", tea.KeyPressMsg{Code: 'k', Text: "k"}, 9},
		{"down", tea.KeyPressMsg{Code: tea.KeyDown}, 11},
		{"page up", tea.KeyPressMsg{Code: tea.KeyPgUp}, 6},
		{"page down", tea.KeyPressMsg{Code: tea.KeyPgDown}, 14},
		{"top", tea.KeyPressMsg{Code: 'g', Text: "g"}, 0},
		{"bottom", tea.KeyPressMsg{Code: tea.KeyEnd}, 50},
		{"other key", tea.KeyPressMsg{Code: 'x', Text: "x"}, 10},
	}
	for _, tt := range tests {
		if got := k.Scroll(tt.key, 10, 4, 50); got != tt.want {
			t.Errorf("%s: Scroll(10, page 4, last 50) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestErrorTotal(t *testing.T) {
	tests := []struct {
		name   string
		errors map[string]uint64
		want   uint64
	}{
		{"none", nil, 0},
		{"one kind", map[string]uint64{"timeout": 3}, 3},
		{"several kinds", map[string]uint64{"timeout": 3, "unauthorized": 1, "weird\x1b[2J": 5}, 9},
	}
	for _, tt := range tests {
		if got := ErrorTotal(api.Health{Errors: tt.errors}); got != tt.want {
			t.Errorf("%s: ErrorTotal = %d, want %d", tt.name, got, tt.want)
		}
	}
}
