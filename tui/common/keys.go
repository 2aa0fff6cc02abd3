package common

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// KeyMap holds the bindings every view shares: global keys handled by the
// root, and the navigation keys list-like views interpret.
type KeyMap struct {
	Quit     key.Binding
	Help     key.Binding
	Back     key.Binding
	NextView key.Binding
	PrevView key.Binding
	Views    [NumTabs]key.Binding
	// Switch documents the number keys in help; Views does the matching.
	Switch key.Binding
	// CloseHelp documents how the help screen closes (Help or Back).
	CloseHelp key.Binding
	// Redraw and Interrupt document ctrl+l and ctrl+c, which the root
	// handles before any other key, even while a view takes text.
	Redraw    key.Binding
	Interrupt key.Binding

	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
}

// DefaultKeyMap returns the standard bindings.
func DefaultKeyMap() *KeyMap {
	km := &KeyMap{
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		NextView: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next view")),
		PrevView: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous view")),

		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Switch:   key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6"), key.WithHelp("1-6", "switch view")),

		CloseHelp: key.NewBinding(key.WithKeys("esc", "?"), key.WithHelp("esc/?", "close help")),
		Redraw:    key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("ctrl+l", "redraw the screen")),
		Interrupt: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit at once")),
	}
	for i := range km.Views {
		k := string(rune('1' + i))
		km.Views[i] = key.NewBinding(key.WithKeys(k), key.WithHelp(k, ViewID(i).String()))
	}
	return km
}

// Global returns the bindings the root handles, for the help screens.
func (k *KeyMap) Global() []key.Binding {
	return []key.Binding{k.Help, k.Quit, k.Back, k.NextView, k.PrevView, k.Switch, k.Redraw, k.Interrupt}
}

// Scroll applies a navigation key to a scroll offset: Up and Down move one
// line, PageUp and PageDown move page lines, Top goes to 0 and Bottom to
// last; any other key leaves offset as is. The caller clamps the result
// to its content.
func (k *KeyMap) Scroll(msg tea.KeyPressMsg, offset, page, last int) int {
	switch {
	case key.Matches(msg, k.Up):
		return offset - 1
	case key.Matches(msg, k.Down):
		return offset + 1
	case key.Matches(msg, k.PageUp):
		return offset - page
	case key.Matches(msg, k.PageDown):
		return offset + page
	case key.Matches(msg, k.Top):
		return 0
	case key.Matches(msg, k.Bottom):
		return last
	}
	return offset
}
