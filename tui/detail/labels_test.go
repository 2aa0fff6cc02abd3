package detail

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// f asks why, then labels the decision's user; the label shows once
// recorded.
func TestLabelFromDetail(t *testing.T) {
	d := fixture.Decision(38, fixture.Now())
	m := newDetail(t, 100, 60, d)
	m, _ = press(m, "f")
	if !m.InputActive() || !strings.Contains(screen(t, m), "label user "+d.UserID+" fraud, reason:") {
		t.Fatalf("f: %s", screen(t, m))
	}
	for _, r := range "ato ring" {
		m, _ = m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	m, cmd := press(m, "enter")
	if m.InputActive() || cmd == nil {
		t.Fatal("enter must close the prompt and record")
	}
	lm, ok := cmd().(common.LabelledMsg)
	if !ok || len(lm.Entries) != 1 || lm.Entries[0].Subject != d.UserID || lm.Entries[0].Reason != "ato ring" {
		t.Fatalf("recorded %+v", lm)
	}
	m, _ = m.Update(lm)
	if !strings.Contains(screen(t, m), "FRAUD") {
		t.Errorf("the label is not shown:\n%s", screen(t, m))
	}
	if _, cmd = press(m, "z"); cmd == nil {
		t.Fatal("z does nothing")
	} else if _, ok := cmd().(common.UndoLabelMsg); !ok {
		t.Error("z must ask the root to undo")
	}
}
