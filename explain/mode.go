package explain

import (
	"fmt"
	"time"
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
)

// String returns the mode's name as the CLI spells it: volume or deny.
func (m Mode) String() string {
	switch m {
	case ModeVolume:
		return "volume"
	case ModeDeny:
		return "deny"
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
	}
	return 0, fmt.Errorf("unknown mode %q (want volume or deny)", s)
}

// MarshalText writes the mode's name; an unknown mode is an error.
func (m Mode) MarshalText() ([]byte, error) {
	if m > ModeDeny {
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
