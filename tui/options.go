// Package tui is the riskwatch dashboard: a Bubble Tea program that reads
// decisions, rates and health through api.Reader only, so it runs the same
// in the collector's process or attached to one over HTTP.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// Thresholds are the configured score lines ([thresholds] in the config).
type Thresholds = decision.Thresholds

// Options configure the dashboard.
type Options struct {
	// Data is where everything is read from. Required.
	Data api.Reader
	// Theme is "auto" (ask the terminal; the default), "dark" or "light".
	Theme string
	// NoColor renders without colour (as when NO_COLOR is set, which the
	// dashboard also honours on its own).
	NoColor bool
	// Clock tells the time; nil means time.Now.
	Clock func() time.Time
	// Source describes the inputs for the status line, e.g.
	// "file:/x.ndjson, http 127.0.0.1:7676".
	Source string
	// Mode is the scoring mode shown until the collector reports its own:
	// api.ModeSafee, api.ModeEmulator or api.ModeReadOnly.
	Mode string
	// Thresholds, if set, are drawn on scores and start the What-if view.
	Thresholds *Thresholds
	// ConfigPath is the configuration file the What-if view saves the
	// thresholds to with `s` ("" when there is none).
	ConfigPath string
	// SaveThresholds, if set, saves thresholds instead (tests, a remote
	// dashboard) and returns where they went.
	SaveThresholds func(Thresholds) (string, error)
	// QuitConfirm, when set, is shown after a first q and quitting takes a
	// second one (the demo: quitting deletes its temporary data).
	QuitConfirm string
	// RingSize is how many recent rows the Live view keeps (default 10,000).
	RingSize int
	// Input and Output replace the terminal (tests); nil means the terminal.
	Input  io.Reader
	Output io.Writer
}

// FPS caps the frame rate: enough to feel live, modest enough not to flicker.
const FPS = 30

func (o Options) validate() error {
	if o.Data == nil {
		return errors.New("tui: Options.Data is required")
	}
	switch o.Theme {
	case "", "auto", "dark", "light":
		return nil
	}
	return fmt.Errorf("tui: unknown theme %q (want auto, dark or light)", o.Theme)
}

// Run shows the dashboard until the user quits or ctx ends, then returns,
// so the caller can shut the collector down. It returns nil in both cases,
// and an error only when the terminal could not be driven.
func Run(ctx context.Context, opts Options) error {
	if err := opts.validate(); err != nil {
		return err
	}
	m := newModel(ctx, opts)
	defer m.Close()
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithFPS(FPS)}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	_, err := tea.NewProgram(m, popts...).Run()
	if err != nil && ctx.Err() != nil && errors.Is(err, tea.ErrProgramKilled) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("run dashboard: %w", err)
	}
	return nil
}
