package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/tui/widget"
)

// component is the contract every view package's Model keeps (STYLE.md):
// Update returns the concrete model, View renders its area, SetSize gives
// it one, and the help lines list its keys.
type component[M any] interface {
	*M
	Update(msg tea.Msg) (M, tea.Cmd)
	View() string
	SetSize(w, h int)
	ShortHelp() []key.Binding
	FullHelp() []key.Binding
}

// page is a view as the root holds it in its registry, whatever its type.
// The optional abilities of a view (Show and Hide for views that refresh
// while visible, InputActive for views that take text, HandlesBack for
// views with something of their own for esc to undo, HelpGroups for views
// whose prompts take a language the help screen explains) read as no-ops
// for views without them.
type page interface {
	update(msg tea.Msg) tea.Cmd
	view() string
	setSize(w, h int)
	shortHelp() []key.Binding
	fullHelp() []key.Binding
	helpGroups() []widget.HelpGroup
	show() tea.Cmd
	hide()
	inputActive() bool
	handlesBack() bool
}

// slot holds one view's model; the root keeps a typed pointer to m for
// the calls only that view has.
type slot[M any, P component[M]] struct{ m M }

func newSlot[M any, P component[M]](m M) *slot[M, P] { return &slot[M, P]{m: m} }

func (s *slot[M, P]) ptr() P { return P(&s.m) }

func (s *slot[M, P]) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	s.m, cmd = s.ptr().Update(msg)
	return cmd
}

func (s *slot[M, P]) view() string             { return s.ptr().View() }
func (s *slot[M, P]) setSize(w, h int)         { s.ptr().SetSize(w, h) }
func (s *slot[M, P]) shortHelp() []key.Binding { return s.ptr().ShortHelp() }
func (s *slot[M, P]) fullHelp() []key.Binding  { return s.ptr().FullHelp() }

func (s *slot[M, P]) helpGroups() []widget.HelpGroup {
	if v, ok := any(s.ptr()).(interface{ HelpGroups() []widget.HelpGroup }); ok {
		return v.HelpGroups()
	}
	return nil
}

func (s *slot[M, P]) show() tea.Cmd {
	if v, ok := any(s.ptr()).(interface{ Show() tea.Cmd }); ok {
		return v.Show()
	}
	return nil
}

func (s *slot[M, P]) hide() {
	if v, ok := any(s.ptr()).(interface{ Hide() }); ok {
		v.Hide()
	}
}

func (s *slot[M, P]) inputActive() bool {
	v, ok := any(s.ptr()).(interface{ InputActive() bool })
	return ok && v.InputActive()
}

func (s *slot[M, P]) handlesBack() bool {
	v, ok := any(s.ptr()).(interface{ HandlesBack() bool })
	return ok && v.HandlesBack()
}
