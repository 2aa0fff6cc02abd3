package common

import (
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

func TestJoinFit(t *testing.T) {
	plain := lipgloss.NewStyle()
	ps := []Piece{
		StyledPiece("first", plain, 0),
		StyledPiece("second", plain, 2),
		StyledPiece("", plain, 0),
		StyledPiece("third", plain, 1),
		StyledPiece("fourth", plain, 2),
	}
	tests := []struct {
		width int
		want  string
	}{
		{100, "first | second | third | fourth"},
		{24, "first | second | third"}, // the later of the two least important goes first
		{15, "first | third"},
		{5, "first"},
		{3, "fir"}, // the last piece is clipped
		{0, ""},
	}
	for _, tc := range tests {
		got := ansi.Strip(JoinFit(tc.width, " | ", plain, ps...))
		if got != tc.want {
			t.Errorf("width %d: %q, want %q", tc.width, got, tc.want)
		}
		if ansi.StringWidth(got) > max(tc.width, 0) {
			t.Errorf("width %d: %q is too wide", tc.width, got)
		}
	}
}
