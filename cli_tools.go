package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/safee/emulator"
)

func (a *app) emulatorCmd() *cobra.Command {
	var (
		listen, key                          string
		latency                              time.Duration
		errorRate, throttleRate, timeoutRate float64
		seed                                 int64
	)
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run the offline Safe-e emulator",
		Long: `Run an offline Safe-e: the same routes (POST /api/v1/risk/{event} and
/api/v1/filter/{event}), header and response shape, with scores and signals
from per-user and per-IP state, a default policy, and injected faults.

  riskwatch emulator --key test --error-rate 0.1 --throttle-rate 0.05
  SAFEE_API_KEY=test riskwatch collect --safee-url http://127.0.0.1:7677/api/v1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key == "" {
				key = a.getenv(config.EnvAPIKey)
			}
			emu, err := serveEmulator(cmd.Context(), listen, emulator.Options{Key: key, Seed: seed, Latency: latency,
				ErrorRate: errorRate, ThrottleRate: throttleRate, TimeoutRate: timeoutRate})
			if err != nil {
				return err
			}
			auth := "no key required"
			if key != "" {
				auth = "Authorization-API key required"
			}
			fmt.Fprintf(a.stderr, "emulator: Safe-e base URL %s (%s)\n", emu.url, auth)
			select {
			case err := <-emu.done:
				return fmt.Errorf("emulator: %w", err)
			case <-cmd.Context().Done():
			}
			return emu.stop()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:7677", "address to listen on")
	fl.StringVar(&key, "key", "", "API key to require (default $SAFEE_API_KEY; none: no check)")
	const fraction = "a fraction from 0 to 1 such as 0.05"
	fl.Var(durationAtLeast(&latency, 0, 0, "a duration >= 0 such as 50ms"), "latency", "mean added latency per answer")
	fl.Var(floatBetween(&errorRate, 0, 0, 1, fraction), "error-rate", "fraction of requests answered with a 5xx")
	fl.Var(floatBetween(&throttleRate, 0, 0, 1, fraction), "throttle-rate", "fraction answered 429 with Retry-After")
	fl.Var(floatBetween(&timeoutRate, 0, 0, 1, fraction), "timeout-rate", "fraction that stall until the client times out")
	fl.Var(seedValue(&seed, 1), "seed", "seed for scores and faults (same seed and input, same output)")
	return cmd
}

func (a *app) genCmd() *cobra.Command {
	var (
		count           int
		rate            float64
		seed            int64
		span            time.Duration
		out, post       string
		scenario, token string
		startAt         string
	)
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write synthetic Safe-e events (NDJSON) to a file or POST them",
		Long: fmt.Sprintf(`Write synthetic events, one JSON object per line, each with a unique event_id
and a timestamp. Scenarios: %s.

The seed is the world: the same 10,000 customers with their emails, homes and
devices, and the same attackers, in every run (the demo uses seed %d too).
The traffic is a function of the seed and of time, so the same seed and
--start write the same events, and --span writes the traffic of a span of
time: a day of history with its incidents for a backfill.

  riskwatch gen --count 10000 --out events.ndjson
  riskwatch gen --span 24h --post http://127.0.0.1:7676/v1/events
  riskwatch gen --scenario stuffing --rate 200 --post http://127.0.0.1:7676/v1/events`,
			strings.Join(emulator.Scenarios(), ", "), emulator.DefaultSeed),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out != "" && post != "" {
				return errors.New("--out and --post: give one, not both")
			}
			var start time.Time
			if startAt != "" {
				t0, err := time.Parse(time.RFC3339, startAt)
				if err != nil {
					return fmt.Errorf("--start: want an RFC 3339 time such as 2026-11-25T10:00:00Z, got %q", startAt)
				}
				start = t0
			}
			g, err := generator(scenario, seed, start, span)
			if err != nil {
				return fmt.Errorf("--scenario: %w", err)
			}
			if span > 0 && !cmd.Flags().Changed("count") {
				count = 0
			}
			ctx := cmd.Context()
			if post != "" {
				if token == "" {
					token = a.getenv(config.EnvIngestToken)
				}
				n, err := emulator.Post(ctx, &http.Client{Timeout: 30 * time.Second}, post, token, g, count, rate, 500)
				fmt.Fprintf(a.stderr, "gen: posted %d events to %s\n", n, post)
				if err != nil && ctx.Err() == nil {
					return err
				}
				return nil
			}
			var w io.Writer = a.stdout
			if out != "" && out != "-" {
				f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
				if err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer f.Close()
				w = f
			}
			n, err := emulator.Generate(ctx, w, g, count, rate)
			if out != "" && out != "-" {
				fmt.Fprintf(a.stderr, "gen: wrote %d events to %s\n", n, out)
			}
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("gen: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.Var(intAtLeast(&count, 1000, 0, "a number of events >= 0 (0 = until interrupted, or all of --span)"),
		"count", "number of events (0 = until interrupted; with --span, default all of the span)")
	fl.Var(floatBetween(&rate, 0, 0, math.MaxFloat64, "events per second, a number >= 0 (0 = as fast as possible)"),
		"rate", "events per second written (0 = as fast as possible)")
	fl.Var(seedValue(&seed, emulator.DefaultSeed), "seed", "seed: the population, the attackers and their traffic (same seed and --start, same events)")
	fl.StringVar(&startAt, "start", "", "timestamp of the first event, RFC 3339 (default now, or --span before now)")
	fl.Var(durationAtLeast(&span, 0, time.Millisecond, "a duration > 0 such as 24h or 90m"),
		"span", "write the traffic of this long, ending now (or starting at --start), e.g. 24h")
	fl.StringVar(&out, "out", "", "append to this file (default standard output)")
	fl.StringVar(&post, "post", "", "POST batches to this collector URL (…/v1/events) instead")
	fl.StringVar(&token, "token", "", "ingest token for --post (default $RISKWATCH_INGEST_TOKEN)")
	fl.StringVar(&scenario, "scenario", "mixed", "traffic scenario: "+strings.Join(emulator.Scenarios(), ", "))
	return cmd
}

// generator returns gen's generator: with a span, the events of the span
// starting at start (zero: the span ending now), each with its own time;
// without, an endless one from start (zero: from now, following the clock).
func generator(scenario string, seed int64, start time.Time, span time.Duration) (*emulator.Generator, error) {
	switch {
	case span > 0 && start.IsZero():
		end := time.Now()
		return emulator.NewSpanGenerator(scenario, seed, end.Add(-span), end)
	case span > 0:
		return emulator.NewSpanGenerator(scenario, seed, start, start.Add(span))
	case start.IsZero():
		return emulator.NewGenerator(scenario, seed, time.Now)
	}
	return emulator.NewGenerator(scenario, seed, func() time.Time { return start })
}
