package live

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
	"github.com/riskwatch/riskwatch/tui/internal/fixture"
)

// lastOut is the last message the view's commands produced for the root.
func (h *harness) lastOut() any {
	if len(h.out) == 0 {
		return nil
	}
	return h.out[len(h.out)-1]
}

// F labels every user of the decisions matching the filter, after showing
// how many; the rows show it; z asks the root to undo.
func TestBulkLabelByFilter(t *testing.T) {
	h := newHarness(t, 40, 0, 140, 30)
	h.key("F")
	if h.m.InputActive() {
		t.Fatal("F without a filter must not open the prompt")
	}
	h.key("/")
	h.typeText("action:deny")
	h.key("enter")
	users := map[string]bool{}
	for _, d := range fixture.Decisions(1, 40, fixture.Now()) {
		if d.Action == decision.ActionDeny && d.UserID != "" {
			users[d.UserID] = true
		}
	}
	h.key("F")
	want := fmt.Sprintf("label %d users matching action:deny fraud, reason:", len(users))
	if !h.m.InputActive() || !strings.Contains(h.screen(), want) {
		t.Fatalf("F does not show %q:\n%s", want, h.screen())
	}
	h.typeText("ring 7")
	h.key("enter")
	lm, ok := h.lastOut().(common.LabelledMsg)
	if !ok || len(lm.Entries) != len(users) || lm.Entries[0].Reason != "ring 7" || lm.Entries[0].Class != decision.LabelFraud {
		t.Fatalf("enter recorded %+v", h.lastOut())
	}
	h.send(lm) // as the root hands it to every view
	if n := strings.Count(h.screen(), "FRAUD"); n != h.m.Len() {
		t.Errorf("%d rows show FRAUD, want all %d denies:\n%s", n, h.m.Len(), h.screen())
	}
	got, err := h.r.Labels(context.Background(), api.LabelsQuery{})
	if err != nil || len(got) != len(users) {
		t.Fatalf("the reader holds %d labels, %v", len(got), err)
	}
	h.key("z")
	if _, ok := h.lastOut().(common.UndoLabelMsg); !ok {
		t.Errorf("z sent %T", h.lastOut())
	}
	// n on a row labels its user legit; esc cancels.
	h.key("n")
	if !strings.Contains(h.screen(), " legit, reason:") {
		t.Fatalf("n: %s", h.screen())
	}
	h.key("esc")
	if h.m.InputActive() {
		t.Error("esc must close the prompt")
	}
}
