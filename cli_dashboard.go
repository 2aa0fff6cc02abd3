package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
	"github.com/riskwatch/riskwatch/store"
	"github.com/riskwatch/riskwatch/tui"
)

// runDashboard runs the collector and the dashboard in one process; quitting
// the dashboard shuts the collector down gracefully.
func (a *app) runDashboard(ctx context.Context, cf *collectorFlags, cmd *cobra.Command) error {
	cfg, err := cf.load(cmd, a.getenv)
	if err != nil {
		return err
	}
	return a.dashboard(ctx, cfg, dashboardRun{useEmulator: cf.emulator, configPath: a.configPath(cfg)})
}

// dashboardRun is how a dashboard with its own collector runs.
type dashboardRun struct {
	// useEmulator scores with the built-in emulator.
	useEmulator bool
	// configPath is where the What-if view saves thresholds ("" nowhere).
	configPath string
	// feed, if set, runs alongside (the demo's traffic) with the
	// collector's ingest URL.
	feed func(ctx context.Context, url string)
	// quitConfirm, if set, makes quitting take a second q and says why.
	quitConfirm string
}

// dashboard starts the collector, runs the UI, and stops the collector when
// the UI ends.
func (a *app) dashboard(ctx context.Context, cfg config.Config, run dashboardRun) error {
	score, err := decision.ParseScore(cfg.Thresholds.Score)
	if err != nil {
		return fmt.Errorf("thresholds.score: %w", err)
	}
	logger, closeLog, err := fileLogger(cfg.Store.Path)
	if err != nil {
		return err
	}
	defer closeLog()
	rt, err := a.startCollector(ctx, cfg, run.useEmulator, logger, "dashboard")
	if err != nil {
		return err
	}
	colCtx, stopCol := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCol()
	colErr := make(chan error, 1)
	go func() { colErr <- rt.run(colCtx) }()

	var wg sync.WaitGroup
	feedCtx, stopFeed := context.WithCancel(ctx)
	if run.feed != nil {
		wg.Go(func() { run.feed(feedCtx, listenURL(rt.col.Addr())) })
	}
	th := tui.Thresholds{Score: score, Challenge: cfg.Thresholds.Challenge, Deny: cfg.Thresholds.Deny}
	uiErr := tui.Run(ctx, tui.Options{
		Data: rt.col.Reader(), Theme: cfg.UI.Theme, NoColor: a.getenv("NO_COLOR") != "",
		Source: describeSources(cfg, rt.col.Addr()), Mode: rt.mode, Thresholds: &th, ConfigPath: run.configPath,
		QuitConfirm: run.quitConfirm,
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

// fileLogger logs the collector's messages next to the database while the
// dashboard owns the terminal, from info up as `collect` logs by default:
// rotations, alerts and shadow policy reloads as well as warnings.
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
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})), func() { f.Close() }, nil
}

func (a *app) demoCmd() *cobra.Command {
	var dbPath, configPath string
	var rate float64
	var seed int64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Offline demo: emulator, synthetic traffic and the dashboard",
		Long: `Run everything offline: the Safe-e emulator in-process, synthetic traffic posted
to the collector's ingest, a store in a temporary directory (or --db), and the
dashboard. Nothing leaves this machine.

The traffic is the same 10,000 customers every run, well under 2% of their
events denied, and an incident every four minutes or so: in turn credential
stuffing, an account-takeover campaign, a bot farm's signups and card testing.
It starts with the last ten minutes of history; after that each event is
stamped with the moment it is sent. A demo run again on the same --db carries
on with the same users and attackers.

The demo takes the dashboard's look (theme) from your config file; its
thresholds and everything else are its own.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			user, err := config.Load(configPath, a.getenv)
			if err != nil {
				return err
			}
			cfg := config.Default(a.getenv)
			cfg.UI = user.UI
			cfg.Ingest.Listen = "127.0.0.1:0"
			quitConfirm := ""
			if dbPath != "" {
				cfg.Store.Path = dbPath
			} else {
				dir, err := os.MkdirTemp("", "riskwatch-demo-")
				if err != nil {
					return fmt.Errorf("demo: temporary directory: %w", err)
				}
				defer os.RemoveAll(dir)
				cfg.Store.Path = filepath.Join(dir, "demo.db")
				quitConfirm = "press q again to quit: the demo's data goes with it (riskwatch demo --db FILE keeps it)"
			}
			// The demo's thresholds are its own: `s` in What-if does not
			// touch the user's configuration.
			feed := func(ctx context.Context, url string) { demoTraffic(ctx, url, rate, seed) }
			return a.dashboard(cmd.Context(), cfg, dashboardRun{useEmulator: true, feed: feed, quitConfirm: quitConfirm})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dbPath, "db", "", "keep the demo's decisions in this database file (default: a temporary one)")
	fl.StringVar(&configPath, "config", "", "config file for the dashboard's theme (default $RISKWATCH_CONFIG or ~/.config/riskwatch/config.toml)")
	fl.Var(floatBetween(&rate, 25, math.SmallestNonzeroFloat64, math.MaxFloat64, "events per second, a number > 0 such as 25"),
		"rate", "steady events per second")
	fl.Var(seedValue(&seed, emulator.DefaultSeed), "seed", "the users and attackers (the same seed, the same people; gen's default)")
	return cmd
}

// demoTraffic posts the demo's traffic to the collector at url until ctx
// ends: the last ten minutes of history, then live traffic stamped with the
// moment it is sent (see emulator.RunDemo).
func demoTraffic(ctx context.Context, url string, rate float64, seed int64) {
	post, err := emulator.Poster(&http.Client{Timeout: 10 * time.Second}, url, "")
	if err != nil {
		return
	}
	_ = emulator.RunDemo(ctx, emulator.DemoOptions{Seed: seed, Rate: rate, History: 10 * time.Minute}, post)
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
				db, err := openStore(cfg, store.Options{MustExist: true, ReadOnly: true}, "tui")
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
