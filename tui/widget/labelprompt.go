package widget

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// LabelPrompt asks for the reason of a label (f, n, F, N) in one line and,
// on enter, records the labels it was opened with.
type LabelPrompt struct {
	open   bool
	what   string
	inputs []api.LabelInput
	edit   LineEdit
}

// Open starts asking; what says what will be labelled ("user u1 fraud").
func (p *LabelPrompt) Open(what string, inputs []api.LabelInput) {
	p.open, p.what, p.inputs = true, what, inputs
	p.edit.SetValue("")
}

// IsOpen reports whether the prompt has the keyboard.
func (p LabelPrompt) IsOpen() bool { return p.open }

// Update edits the reason; enter records the labels, esc cancels.
func (p *LabelPrompt) Update(c *common.Common, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "enter":
			p.open = false
			reason := p.edit.Value()
			for i := range p.inputs {
				p.inputs[i].Reason = reason
			}
			return c.WriteLabels(p.inputs, false)
		case "esc":
			p.open = false
			return common.Status("label cancelled", common.LevelInfo)
		}
	}
	p.edit.Update(msg)
	return nil
}

// ShortHelp lists the prompt's keys.
func (p LabelPrompt) ShortHelp() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "label")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// View renders the prompt in one line of width cells.
func (p LabelPrompt) View(width int, st *common.Styles) string {
	prompt := "label " + common.Sanitize(p.what) + ", reason: "
	room := max(width-len([]rune(prompt)), 1)
	return common.Clip(st.FilterPrompt.Render(prompt)+p.edit.View(room, st.Selected), width)
}

// LabelKeys are the label bindings of the views that show decisions.
type LabelKeys struct {
	Fraud, Legit, FraudAll, LegitAll, Undo key.Binding
}

// DefaultLabelKeys returns f, n, F, N and z. F and N only where the view
// has a filter (Live).
func DefaultLabelKeys() LabelKeys {
	return LabelKeys{
		Fraud:    key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "label user fraud")),
		Legit:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "label user legit")),
		FraudAll: key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "label filter's users fraud")),
		LegitAll: key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "label filter's users legit")),
		Undo:     key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "undo last label")),
	}
}

// LabelOne is what f (fraud) or n opens the prompt with for decision d:
// its user (else its email, IP or event; see common.LabelSubject).
func LabelOne(d *decision.Decision, fraud bool) (string, []api.LabelInput) {
	kind, subject := common.LabelSubject(d)
	class := decision.LabelLegit
	if fraud {
		class = decision.LabelFraud
	}
	return string(kind) + " " + subject + " " + string(class), []api.LabelInput{{Kind: kind, Subject: subject, Class: class}}
}
