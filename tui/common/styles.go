package common

import (
	"image/color"

	"charm.land/lipgloss/v2"
	"github.com/riskwatch/riskwatch/decision"
)

// Theme selects a palette: dark or light background, or Plain (no colour at
// all, for NO_COLOR) which keeps only bold, faint and reverse.
type Theme struct {
	Dark  bool
	Plain bool
}

// Series names the per-minute series drawn as sparklines, in display order.
type Series int

// The rate series: all decisions, then one per action.
const (
	SeriesEvents Series = iota
	SeriesAllow
	SeriesChallenge
	SeriesDeny
	SeriesError
	NumSeries
)

// Styles are every lipgloss style the dashboard uses, built once per theme
// change by NewStyles. Render code only reads them; it never builds styles.
type Styles struct {
	Theme Theme

	Brand       lipgloss.Style
	Tab         lipgloss.Style
	TabActive   lipgloss.Style
	Title       lipgloss.Style
	Label       lipgloss.Style
	Dim         lipgloss.Style
	Bold        lipgloss.Style
	Selected    lipgloss.Style
	TableHeader lipgloss.Style

	// Action styles an action's text, indexed like store.Actions.
	Action [decision.NumActions]lipgloss.Style
	// Spark styles each rate series' sparkline.
	Spark [NumSeries]lipgloss.Style

	Good lipgloss.Style
	Warn lipgloss.Style
	Bad  lipgloss.Style

	// Banner is loud: scoring paused, key rejected.
	Banner lipgloss.Style
	// Emulator marks the EMULATOR scoring mode.
	Emulator lipgloss.Style

	StatusText lipgloss.Style
	StatusInfo lipgloss.Style
	StatusWarn lipgloss.Style
	StatusErr  lipgloss.Style

	HelpKey  lipgloss.Style
	HelpDesc lipgloss.Style

	FilterPrompt lipgloss.Style
	FilterError  lipgloss.Style
}

// NewStyles builds the styles of a theme.
func NewStyles(t Theme) *Styles {
	if t.Plain {
		return plainStyles(t)
	}
	ld := lipgloss.LightDark(t.Dark)
	c := func(light, dark string) color.Color {
		return ld(lipgloss.Color(light), lipgloss.Color(dark))
	}
	var (
		fg        = c("#1f2328", "#e6edf3")
		dim       = c("#6e7781", "#8b949e")
		accent    = c("#0969da", "#58a6ff")
		green     = c("#1a7f37", "#3fb950")
		yellow    = c("#9a6700", "#d29922")
		red       = c("#cf222e", "#f85149")
		magenta   = c("#8250df", "#bc8cff")
		selBg     = c("#ddf4ff", "#1f3a5f")
		bannerBg  = c("#cf222e", "#b62324")
		bannerFg  = lipgloss.Color("#ffffff")
		emuBg     = c("#bf8700", "#d29922")
		emuFg     = lipgloss.Color("#000000")
		base      = lipgloss.NewStyle()
		bold      = base.Bold(true)
		actionCol = [decision.NumActions]color.Color{green, yellow, red, magenta}
	)
	s := &Styles{
		Theme:        t,
		Brand:        bold.Foreground(accent),
		Tab:          base.Foreground(dim),
		TabActive:    bold.Foreground(fg).Underline(true),
		Title:        bold.Foreground(accent),
		Label:        base.Foreground(dim),
		Dim:          base.Foreground(dim),
		Bold:         bold,
		Selected:     bold.Background(selBg).Foreground(fg),
		TableHeader:  bold.Foreground(dim),
		Good:         base.Foreground(green),
		Warn:         bold.Foreground(yellow),
		Bad:          bold.Foreground(red),
		Banner:       bold.Background(bannerBg).Foreground(bannerFg),
		Emulator:     bold.Background(emuBg).Foreground(emuFg),
		StatusText:   base.Foreground(dim),
		StatusInfo:   base.Foreground(accent),
		StatusWarn:   bold.Foreground(yellow),
		StatusErr:    bold.Foreground(red),
		HelpKey:      bold.Foreground(fg),
		HelpDesc:     base.Foreground(dim),
		FilterPrompt: bold.Foreground(accent),
		FilterError:  base.Foreground(red),
	}
	for i, col := range actionCol {
		s.Action[i] = bold.Foreground(col)
	}
	s.Spark = [NumSeries]lipgloss.Style{
		base.Foreground(accent), base.Foreground(green), base.Foreground(yellow),
		base.Foreground(red), base.Foreground(magenta),
	}
	return s
}

// plainStyles keeps attributes only, so NO_COLOR terminals still see the
// selection, the headers and the loud banner.
func plainStyles(t Theme) *Styles {
	base := lipgloss.NewStyle()
	bold := base.Bold(true)
	s := &Styles{
		Theme:        t,
		Brand:        bold,
		Tab:          base,
		TabActive:    bold.Underline(true),
		Title:        bold,
		Label:        base,
		Dim:          base,
		Bold:         bold,
		Selected:     base.Reverse(true),
		TableHeader:  bold,
		Good:         base,
		Warn:         bold,
		Bad:          bold,
		Banner:       bold.Reverse(true),
		Emulator:     bold.Reverse(true),
		StatusText:   base,
		StatusInfo:   base,
		StatusWarn:   bold,
		StatusErr:    bold,
		HelpKey:      bold,
		HelpDesc:     base,
		FilterPrompt: bold,
		FilterError:  bold,
	}
	for i := range s.Action {
		s.Action[i] = bold
	}
	for i := range s.Spark {
		s.Spark[i] = base
	}
	return s
}

// ActionStyle returns the style of an action, or Bold for an unknown one.
func (s *Styles) ActionStyle(a decision.Action) lipgloss.Style {
	if i := a.Index(); i >= 0 {
		return s.Action[i]
	}
	return s.Bold
}
