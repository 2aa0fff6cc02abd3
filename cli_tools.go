package main

import (
	"errors"
	"fmt"
	"io"
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
			for name, r := range map[string]float64{"--error-rate": errorRate, "--throttle-rate": throttleRate, "--timeout-rate": timeoutRate} {
				if r < 0 || r > 1 {
					return fmt.Errorf("%s: want a fraction from 0 to 1, got %v", name, r)
				}
			}
			if latency < 0 {
				return fmt.Errorf("--latency: want a duration >= 0, got %v", latency)
			}
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
	fl.DurationVar(&latency, "latency", 0, "mean added latency per answer")
	fl.Float64Var(&errorRate, "error-rate", 0, "fraction of requests answered with a 5xx")
	fl.Float64Var(&throttleRate, "throttle-rate", 0, "fraction answered 429 with Retry-After")
	fl.Float64Var(&timeoutRate, "timeout-rate", 0, "fraction that stall until the client times out")
	fl.Int64Var(&seed, "seed", 1, "seed for scores and faults (same seed and input, same output)")
	return cmd
}

func (a *app) genCmd() *cobra.Command {
	var (
		count           int
		rate            float64
		seed            int64
		out, post       string
		scenario, token string
		startAt         string
	)
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write synthetic Safe-e events (NDJSON) to a file or POST them",
		Long: fmt.Sprintf(`Write synthetic events, one JSON object per line, each with a unique event_id
and a timestamp. Scenarios: %s.

  riskwatch gen --count 10000 --out events.ndjson
  riskwatch gen --scenario stuffing --rate 200 --post http://127.0.0.1:7676/v1/events`, strings.Join(emulator.Scenarios(), ", ")),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if count < 0 {
				return fmt.Errorf("--count: want a number >= 0 (0 = until interrupted), got %d", count)
			}
			if rate < 0 {
				return fmt.Errorf("--rate: want events per second >= 0 (0 = as fast as possible), got %v", rate)
			}
			if out != "" && post != "" {
				return errors.New("--out and --post: give one, not both")
			}
			clock := time.Now
			if startAt != "" {
				t0, err := time.Parse(time.RFC3339, startAt)
				if err != nil {
					return fmt.Errorf("--start: want an RFC 3339 time such as 2026-11-25T10:00:00Z, got %q", startAt)
				}
				clock = func() time.Time { return t0 }
			}
			g, err := emulator.NewGenerator(scenario, seed, clock)
			if err != nil {
				return fmt.Errorf("--scenario: %w", err)
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
	fl.IntVar(&count, "count", 1000, "number of events (0 = until interrupted)")
	fl.Float64Var(&rate, "rate", 0, "events per second (0 = as fast as possible)")
	fl.Int64Var(&seed, "seed", 1, "seed (same seed and --start, same events)")
	fl.StringVar(&startAt, "start", "", "timestamp of the first event, RFC 3339 (default now)")
	fl.StringVar(&out, "out", "", "append to this file (default standard output)")
	fl.StringVar(&post, "post", "", "POST batches to this collector URL (…/v1/events) instead")
	fl.StringVar(&token, "token", "", "ingest token for --post (default $RISKWATCH_INGEST_TOKEN)")
	fl.StringVar(&scenario, "scenario", "mixed", "traffic scenario: "+strings.Join(emulator.Scenarios(), ", "))
	return cmd
}
