package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/tui"
)

// runDashboard runs the collector and the dashboard in one process; quitting
// the dashboard shuts the collector down gracefully.
func (a *app) runDashboard(ctx context.Context, cf *collectorFlags, cmd *cobra.Command) error {
	cfg, err := cf.load(cmd, a.getenv)
	if err != nil {
		return err
	}
	return a.dashboard(ctx, cfg, cf.emulator, a.configPath(cfg), nil)
}

// dashboard starts the collector, runs the UI, and stops the collector when
// the UI ends. feed, if set, runs alongside (the demo's traffic) with the
// collector's ingest URL.
func (a *app) dashboard(ctx context.Context, cfg config.Config, useEmulator bool, configPath string, feed func(ctx context.Context, url string)) error {
	score, err := decision.ParseScore(cfg.Thresholds.Score)
	if err != nil {
		return fmt.Errorf("thresholds.score: %w", err)
	}
	logger, closeLog, err := fileLogger(cfg.Store.Path)
	if err != nil {
		return err
	}
	defer closeLog()
	rt, err := a.startCollector(ctx, cfg, useEmulator, logger)
	if err != nil {
		return err
	}
	colCtx, stopCol := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCol()
	colErr := make(chan error, 1)
	go func() { colErr <- rt.run(colCtx) }()

	var wg sync.WaitGroup
	feedCtx, stopFeed := context.WithCancel(ctx)
	if feed != nil {
		wg.Go(func() { feed(feedCtx, listenURL(rt.col.Addr())) })
	}
	th := tui.Thresholds{Score: score, Challenge: cfg.Thresholds.Challenge, Deny: cfg.Thresholds.Deny}
	uiErr := tui.Run(ctx, tui.Options{
		Data: rt.col.Reader(), Theme: cfg.UI.Theme, NoColor: a.getenv("NO_COLOR") != "",
		Source: describeSources(cfg, rt.col.Addr()), Mode: rt.mode, Thresholds: &th, ConfigPath: configPath,
	})
	stopFeed()
	wg.Wait()
	stopCol()
	if err := <-colErr; err != nil && uiErr == nil {
		return fmt.Errorf("collector: %w", err)
	}
	return uiErr
}

// configPath is where What-if saves thresholds: the file the configuration
// came from, else the default path.
func (a *app) configPath(cfg config.Config) string {
	if cfg.Path != "" {
		return cfg.Path
	}
	return config.DefaultConfigPath(a.getenv)
}

// fileLogger logs the collector's warnings next to the database while the
// dashboard owns the terminal.
func fileLogger(dbPath string) (*slog.Logger, func(), error) {
	dir := filepath.Dir(dbPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create the database directory: %w", err)
	}
	p := filepath.Join(dir, "riskwatch.log")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open log %s: %w", p, err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelWarn})), func() { f.Close() }, nil
}

func (a *app) demoCmd() *cobra.Command {
	var dbPath string
	var rate float64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Offline demo: emulator, synthetic traffic and the dashboard",
		Long: `Run everything offline: the Safe-e emulator in-process, synthetic traffic posted
to the collector's ingest at a steady rate with an attack burst every 20 seconds
(credential stuffing, account takeover, bots, card testing), a store in a
temporary directory (or --db), and the dashboard. Nothing leaves this machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rate <= 0 {
				return fmt.Errorf("--rate: want events per second > 0, got %v", rate)
			}
			cfg := config.Default(a.getenv)
			cfg.Ingest.Listen = "127.0.0.1:0"
			if dbPath != "" {
				cfg.Store.Path = dbPath
			} else {
				dir, err := os.MkdirTemp("", "riskwatch-demo-")
				if err != nil {
					return fmt.Errorf("demo: temporary directory: %w", err)
				}
				defer os.RemoveAll(dir)
				cfg.Store.Path = filepath.Join(dir, "demo.db")
			}
			// The demo's thresholds are its own: `s` in What-if does not
			// touch the user's configuration.
			return a.dashboard(cmd.Context(), cfg, true, "", func(ctx context.Context, url string) { demoTraffic(ctx, url, rate) })
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "", "keep the demo's decisions in this database file (default: a temporary one)")
	cmd.Flags().Float64Var(&rate, "rate", 25, "steady events per second")
	return cmd
}

// demoTraffic posts a backlog of history, then steady traffic from the same
// population (so their devices and places are known, as in production),
// with a burst of an attack scenario every 20 seconds, until ctx ends.
func demoTraffic(ctx context.Context, url string, rate float64) {
	client := &http.Client{Timeout: 10 * time.Second}
	seed := time.Now().UnixNano()
	var wg sync.WaitGroup
	defer wg.Wait()
	if g, err := emulator.NewGenerator("mixed", seed, time.Now); err == nil {
		wg.Go(func() {
			_, _ = emulator.Post(ctx, client, url, "", g, 1500, 0, 250)
			_, _ = emulator.Post(ctx, client, url, "", g, 0, rate, max(1, int(rate/10)))
		})
	}
	attacks := []string{"stuffing", "ato", "bots", "cardtesting"}
	t := time.NewTicker(20 * time.Second)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g, err := emulator.NewGenerator(attacks[i%len(attacks)], seed+int64(i)+1, time.Now)
		if err != nil {
			continue
		}
		wg.Go(func() { _, _ = emulator.Post(ctx, client, url, "", g, 300, 60, 20) })
	}
}

func (a *app) tuiCmd() *cobra.Command {
	var connect, token, configPath, dbPath string
	cmd := &cobra.Command{
		Use:   "tui (--connect URL[,URL...] | --db PATH)",
		Short: "The dashboard, attached to running collectors or to a database file",
		Long: `Show the dashboard of a collector that runs elsewhere (riskwatch collect, as a
service that holds the database), through its read API. The dashboard is the
same; the status line says when the collector cannot be reached, and the live
view resumes where it stopped when it is back. Several URLs, comma-separated,
are read as one: counts add up, lists merge, and a collector that cannot be
reached is named while the others still show.

With --db, show a database file instead, with no collector and no key: what it
holds, without live updates.

The token is --token, else RISKWATCH_INGEST_TOKEN, else [ingest] token in the
config file, which also gives the thresholds and the theme.

  riskwatch tui --connect http://127.0.0.1:7676
  riskwatch tui --connect http://10.0.0.1:7676,http://10.0.0.2:7676
  riskwatch tui --db ~/.local/share/riskwatch/riskwatch.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (connect == "") == (dbPath == "") {
				return errors.New("give --connect URL (the collector's address, e.g. http://127.0.0.1:7676) or --db PATH (a database file)")
			}
			cfg, err := config.Load(configPath, a.getenv)
			if err != nil {
				return err
			}
			score, err := decision.ParseScore(cfg.Thresholds.Score)
			if err != nil {
				return fmt.Errorf("thresholds.score: %w", err)
			}
			th := tui.Thresholds{Score: score, Challenge: cfg.Thresholds.Challenge, Deny: cfg.Thresholds.Deny}
			opts := tui.Options{Theme: cfg.UI.Theme, NoColor: a.getenv("NO_COLOR") != "", Thresholds: &th, ConfigPath: a.configPath(cfg)}
			if dbPath != "" {
				cfg.Store.Path = dbPath
				db, err := openExisting(cfg)
				if err != nil {
					return err
				}
				defer db.Close()
				opts.Data, opts.Source, opts.Mode = collector.NewStoreReader(db, nil), "database "+dbPath, api.ModeReadOnly
				return tui.Run(cmd.Context(), opts)
			}
			if cmd.Flags().Changed("token") {
				cfg.Ingest.Token = config.Secret(token)
			}
			r, closeR, err := dialCollectors(connect, cfg.Ingest.Token.Value())
			if err != nil {
				return err
			}
			defer closeR()
			// Ask once before taking the terminal: a wrong URL or token
			// is better said on the command line.
			hctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			h, err := r.Health(hctx)
			cancel()
			if err != nil {
				return connectHint(err, connect)
			}
			if f, ok := r.(*api.Federation); ok {
				warnMembers(a.stderr, f)
			}
			opts.Data, opts.Source, opts.Mode = r, describeCollectors(r), h.Mode
			return tui.Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&connect, "connect", "", "URL of the running collector (several, comma-separated: read them as one)")
	fl.StringVar(&dbPath, "db", "", "show this database file, without a collector")
	fl.StringVar(&token, "token", "", "the collector's ingest token (default $RISKWATCH_INGEST_TOKEN, then [ingest] token)")
	fl.StringVar(&configPath, "config", "", "config file (default $RISKWATCH_CONFIG or ~/.config/riskwatch/config.toml)")
	return cmd
}
