package explain

import (
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Mode says what an explanation compares.
type Mode uint8

const (
	// ModeVolume compares a window with a baseline: which values are
	// over-represented in the window.
	ModeVolume Mode = iota
	// ModeDeny compares a window's denies with its allows: which values are
	// over-represented among the denies.
	ModeDeny
	// ModeLabel compares a window's fraud-labelled decisions with its
	// legit-labelled ones: which values are over-represented among the
	// fraud. It is ModeDeny with fraud in place of the denies and legit in
	// place of the allows; decisions without a label are in neither side.
	ModeLabel
)

// Split reports whether the mode splits one window into two sides (deny
// and label) rather than comparing a window with a baseline (volume).
func (m Mode) Split() bool { return m == ModeDeny || m == ModeLabel }

// Side says on which side of a split mode d is counted: the window side
// (a deny, a fraud label) or the baseline side (an allow, a legit label);
// ok is false for a decision in neither (a challenge, an unlabelled
// decision) and for every decision in ModeVolume, where the side is the
// decision's period. A decision's label is read from d.Label.
func (m Mode) Side(d *decision.Decision) (window, ok bool) {
	switch m {
	case ModeDeny:
		switch d.Action {
		case decision.ActionDeny:
			return true, true
		case decision.ActionAllow:
			return false, true
		}
	case ModeLabel:
		switch d.Label {
		case decision.LabelFraud:
			return true, true
		case decision.LabelLegit:
			return false, true
		}
	}
	return false, false
}

// String returns the mode's name as the CLI spells it: volume, deny or
// label.
func (m Mode) String() string {
	switch m {
	case ModeVolume:
		return "volume"
	case ModeDeny:
		return "deny"
	case ModeLabel:
		return "label"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// ParseMode reads a mode name.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "volume":
		return ModeVolume, nil
	case "deny":
		return ModeDeny, nil
	case "label":
		return ModeLabel, nil
	}
	return 0, fmt.Errorf("unknown mode %q (want volume, deny or label)", s)
}

// MarshalText writes the mode's name; an unknown mode is an error.
func (m Mode) MarshalText() ([]byte, error) {
	if m > ModeLabel {
		return nil, fmt.Errorf("unknown mode %d", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText reads a name as ParseMode does.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Period is a stretch of event time, [From, To).
type Period struct {
	From, To time.Time
	// Width is the time the period covers; zero means To-From. A baseline
	// made of the same ten minutes on each of the last seven days lies
	// between From and To but covers only 70 minutes.
	Width time.Duration
}

// Duration returns the time the period covers.
func (p Period) Duration() time.Duration {
	if p.Width != 0 {
		return p.Width
	}
	return p.To.Sub(p.From)
}
