package common

import (
	"context"
	"errors"
	"fmt"
	"os"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// LabelledMsg says labels were recorded: the root shows it, keeps the
// entries for undo (unless Undo, a retract of the last ones), and hands it
// to every view, which updates the labels it shows.
type LabelledMsg struct {
	Entries []decision.LabelEntry
	Undo    bool
}

// UndoLabelMsg asks the root to undo the last labels recorded (z).
type UndoLabelMsg struct{}

// UndoLabel returns the command of z.
func UndoLabel() tea.Cmd { return func() tea.Msg { return UndoLabelMsg{} } }

// ErrNoWriter is why the label keys do nothing on a read-only source.
var ErrNoWriter = errors.New("labels need a collector: this dashboard reads a database file read-only (riskwatch tui --connect URL labels)")

// WriteLabels returns a command that records inputs through c.Writer and
// answers a LabelledMsg, or a status line saying why not.
func (c *Common) WriteLabels(inputs []api.LabelInput, undo bool) tea.Cmd {
	if c.Writer == nil {
		return Status(ErrNoWriter.Error(), LevelError)
	}
	w := c.Writer
	ctx := c.ctx
	for i := range inputs {
		if inputs[i].Author == "" {
			inputs[i].Author = os.Getenv("USER")
		}
		if inputs[i].Source == "" {
			inputs[i].Source = decision.SourceManual
		}
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
		defer cancel()
		res, err := w.Label(ctx, api.LabelWrite{Labels: inputs})
		switch {
		case err != nil:
			return StatusMsg{Text: "label: " + Sanitize(err.Error()), Level: LevelError}
		case len(res.Problems) > 0:
			return StatusMsg{Text: "label: " + Sanitize(res.Problems[0].Error), Level: LevelError}
		}
		return LabelledMsg{Entries: res.Recorded, Undo: undo}
	}
}

// LabelSubject is what f and n label for a decision: its user, else its
// email, else its IP, else the event itself.
func LabelSubject(d *decision.Decision) (decision.SubjectKind, string) {
	switch {
	case d.UserID != "":
		return decision.SubjectUser, d.UserID
	case d.Email != "":
		return decision.SubjectEmail, d.Email
	case d.IP != "":
		return decision.SubjectIP, d.IP
	}
	return decision.SubjectEvent, d.EventID
}

// LabelText says what entries did, for the status line.
func LabelText(m LabelledMsg) string {
	if len(m.Entries) == 0 {
		return "nothing labelled"
	}
	e := m.Entries[0]
	verb := "labelled"
	if m.Undo {
		verb = "undid the label of"
	}
	if len(m.Entries) == 1 {
		if m.Undo {
			return fmt.Sprintf("%s %s %s", verb, e.Kind, Sanitize(e.Subject))
		}
		return fmt.Sprintf("%s %s %s %s (z undoes)", verb, e.Kind, Sanitize(e.Subject), e.Class)
	}
	if m.Undo {
		return fmt.Sprintf("%s %d subjects", verb, len(m.Entries))
	}
	return fmt.Sprintf("%s %d %ss %s (z undoes)", verb, len(m.Entries), e.Kind, e.Class)
}

// ApplyLabels updates the label shown on d for newly recorded entries: an
// entry of one of d's subjects sets it (a retract clears it). It is what
// the screen shows until the next read, which gives the exact label by
// precedence.
func ApplyLabels(d *decision.Decision, entries []decision.LabelEntry) {
	for _, e := range entries {
		if decision.SubjectOf(d, e.Kind) != e.Subject {
			continue
		}
		if e.Class == decision.LabelRetract {
			d.Label = ""
			continue
		}
		if e.AppliesFrom.IsZero() || !d.EventTime.Before(e.AppliesFrom) {
			d.Label = e.Class
		}
	}
}

// LabelMark is the short text of a label in tables: "FRAUD", "legit" or
// "" (never colour alone).
func LabelMark(c decision.LabelClass) string {
	switch c {
	case decision.LabelFraud:
		return "FRAUD"
	case decision.LabelLegit:
		return "legit"
	}
	return ""
}
