package widget

import (
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/tui/common"
)

// FilterBarHeight is the number of lines FilterBar.View returns: the input
// and a line for the error (pointing at the bad term) or the key hints.
const FilterBarHeight = 2

// maxHistory bounds the remembered filters.
const maxHistory = 50

// filterPrompt starts the input line.
const filterPrompt = "/ "

// filterPlaceholder shows the language while the input is empty.
const filterPlaceholder = "action:deny risk>=60 ip:10.0.0.0/8 since:15m"

// FilterEvent says what a key press did to the filter bar.
type FilterEvent int

// Filter bar outcomes.
const (
	FilterNone      FilterEvent = iota
	FilterApplied               // enter with a valid expression; Value has it
	FilterCancelled             // esc; the previous filter stays
)

// FilterBar is a one-line editor for filter expressions (SPEC section 5)
// with validation as you type, an error line pointing at the bad term, and
// a history recalled with up and down.
type FilterBar struct {
	keys    []key.Binding
	input   LineEdit
	parse   func(expr string) error
	err     error
	open    bool
	history []string
	histPos int
	draft   string
}

// NewFilterBar returns a closed filter bar validating with parse, which
// should return a *store.FilterError for a bad term.
func NewFilterBar(parse func(expr string) error) FilterBar {
	return FilterBar{parse: parse, keys: []key.Binding{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "history")),
	}}
}

// ShortHelp lists the keys the open bar answers to.
func (f FilterBar) ShortHelp() []key.Binding { return f.keys }

// IsOpen reports whether the bar takes the keyboard.
func (f FilterBar) IsOpen() bool { return f.open }

// Value is the text in the input.
func (f FilterBar) Value() string { return f.input.Value() }

// History returns the applied filters, oldest first.
func (f FilterBar) History() []string { return f.history }

// Open shows the bar with current as its text, ready to edit.
func (f *FilterBar) Open(current string) {
	f.open = true
	f.input.SetValue(current)
	f.histPos = len(f.history)
	f.draft = ""
	f.validate()
}

// Update handles a message while the bar is open.
func (f FilterBar) Update(msg tea.Msg) (FilterBar, FilterEvent) {
	if !f.open {
		return f, FilterNone
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "enter":
			f.validate()
			if f.err != nil {
				return f, FilterNone
			}
			f.close()
			f.remember(strings.TrimSpace(f.input.Value()))
			return f, FilterApplied
		case "esc":
			f.close()
			return f, FilterCancelled
		case "up", "ctrl+p":
			f.recall(-1)
			return f, FilterNone
		case "down", "ctrl+n":
			f.recall(+1)
			return f, FilterNone
		}
	}
	if f.input.Update(msg) {
		f.validate()
	}
	return f, FilterNone
}

func (f *FilterBar) close() {
	f.open = false
	f.err = nil
}

func (f *FilterBar) validate() {
	f.err = f.parse(f.input.Value())
}

func (f *FilterBar) remember(expr string) {
	if expr == "" {
		return
	}
	if n := len(f.history); n > 0 && f.history[n-1] == expr {
		return
	}
	f.history = append(f.history, expr)
	if len(f.history) > maxHistory {
		f.history = append(f.history[:0], f.history[len(f.history)-maxHistory:]...)
	}
}

// recall moves through the history: dir -1 is older, +1 newer; past the
// newest it restores what was being typed.
func (f *FilterBar) recall(dir int) {
	pos := f.histPos + dir
	if pos < 0 || pos > len(f.history) {
		return
	}
	if f.histPos == len(f.history) {
		f.draft = f.input.Value()
	}
	f.histPos = pos
	if pos == len(f.history) {
		f.input.SetValue(f.draft)
	} else {
		f.input.SetValue(f.history[pos])
	}
	f.validate()
}

// View renders the bar in width cells: FilterBarHeight lines.
func (f FilterBar) View(width int, st *common.Styles) string {
	pw := ansi.StringWidth(filterPrompt)
	var line string
	if f.input.Value() == "" {
		line = st.FilterPrompt.Render(common.Clip(filterPrompt, width)) +
			st.Selected.Render(" ") + st.Dim.Render(common.Clip(filterPlaceholder, width-pw-1))
	} else {
		line = st.FilterPrompt.Render(common.Clip(filterPrompt, width)) + f.input.View(width-pw, st.Selected)
	}
	return common.Clip(line, width) + "\n" + f.errorLine(width, st)
}

// errorLine points a caret at the bad term, with the message beside it, or
// shows the keys. When the term is scrolled out of sight, it shows the
// whole error (which names the term) instead.
func (f FilterBar) errorLine(width int, st *common.Styles) string {
	if f.err == nil {
		return st.Dim.Render(common.Truncate("enter apply · esc cancel · ↑/↓ history", width))
	}
	var fe *decision.FilterError
	if !errors.As(f.err, &fe) {
		return st.FilterError.Render(common.Truncate(common.Sanitize(f.err.Error()), width))
	}
	msg := common.Sanitize(fe.Msg)
	value := f.input.Value()
	pos := min(max(fe.Pos, 0), len(value))
	pw := ansi.StringWidth(filterPrompt)
	col := pw + ansi.StringWidth(common.Sanitize(value[:pos])) - f.input.Offset(width-pw)
	msgW := ansi.StringWidth(msg)
	switch {
	case col < pw || col >= width:
		return st.FilterError.Render(common.Truncate(common.Sanitize(fe.Error()), width))
	case col+2+msgW <= width:
		return strings.Repeat(" ", col) + st.FilterError.Render("^ "+msg)
	case msgW+1 <= col:
		return strings.Repeat(" ", col-msgW-1) + st.FilterError.Render(msg+" ^")
	case width-col-2 >= col-1:
		return strings.Repeat(" ", col) + st.FilterError.Render("^ "+common.Truncate(msg, width-col-2))
	}
	return st.FilterError.Render(common.Fit(msg, col-1, true) + " ^")
}

// FilterSyntax lists every term of the filter language (decision.Filter),
// for the help screen.
func FilterSyntax() []HelpEntry {
	return []HelpEntry{
		{Key: "type:$login status:$failed", Desc: "event type, status (the $ is optional)"},
		{Key: "action:deny", Desc: "Safe-e's action: allow, challenge, deny, error"},
		{Key: "user:ID", Desc: "exactly this user ID"},
		{Key: "email:@example.com", Desc: "email contains this"},
		{Key: "domain:mailinator.com", Desc: "the email's domain"},
		{Key: "ip:1.2.3.4 ip:10.0.0.0/8", Desc: "an address or a CIDR prefix"},
		{Key: "country:DE", Desc: "country code"},
		{Key: "signal:proxy_ip", Desc: "one of the signals"},
		{Key: "policy:NAME", Desc: "Safe-e's policy name"},
		{Key: "ua:curl", Desc: "user agent family, or contains this"},
		{Key: "source:file", Desc: "input source contains this"},
		{Key: "shadow:deny rule:NAME", Desc: "shadow policy's action, deciding rule"},
		{Key: "risk>=60 ato<20 bot=0 abuse>50", Desc: "scores with < <= > >= ="},
		{Key: "since:15m until:2h", Desc: "event time, a duration ago (or until: an RFC 3339 time)"},
		{Key: "word", Desc: "user ID or email contains it, or the IP starts with it"},
		{Key: "-term", Desc: "negates a term: -action:allow"},
		{Key: `"two words"`, Desc: "quotes keep spaces in a value"},
	}
}
