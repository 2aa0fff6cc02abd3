package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskwatch/riskwatch/collector"
	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/internal/redact"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
	"github.com/riskwatch/riskwatch/store"
)

func (a *app) collectCmd() *cobra.Command {
	var cf collectorFlags
	var kf kafkaFlags
	var logFormat, logLevel string
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "Run the collector without the dashboard (for a service)",
		Long: `Run the collector headless: tail files, take events on POST /v1/events and the
Safe-e-compatible proxy, score them with Safe-e, store the decisions. Logs go to
stderr. SIGINT or SIGTERM stops intake, finishes or returns in-flight work to
the inbox, and closes the store. SIGHUP reloads the shadow policy
(--shadow-policy or [policy] shadow); a file that does not compile keeps the
previous policy and says why in the log and the Health view.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cf.load(cmd, a.getenv)
			if err != nil {
				return err
			}
			if cfg, err = kf.apply(cmd, cfg); err != nil {
				return err
			}
			logger, err := newLogger(a.stderr, logFormat, logLevel)
			if err != nil {
				return err
			}
			rt, err := a.startCollector(cmd.Context(), cfg, cf.emulator, logger, "collect")
			if err != nil {
				return err
			}
			logger.Info("collector running", "db", cfg.Store.Path, "listen", rt.col.Addr(), "mode", rt.mode, "safee", redact.URL(rt.safeeURL), "files", len(cfg.Files), "kafka_topics", len(cfg.Kafka))
			stopHUP := reloadOnHangup(rt.col)
			err = rt.run(cmd.Context())
			stopHUP()
			logger.Info("collector stopped")
			return err
		},
	}
	cf.register(cmd)
	kf.register(cmd)
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: want debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
}

// collectorRuntime is a running collector with what it owns: the store, the
// in-process emulator when there is one.
type collectorRuntime struct {
	db       *store.DB
	col      *collector.Collector
	emu      *emulatorServer
	mode     string
	safeeURL string
}

// errNoKey explains how to get going without a key.
var errNoKey = errors.New(`no Safe-e API key: set SAFEE_API_KEY (or [safee] api_key in the config file),
or score offline with --emulator, or try everything at once with: riskwatch demo`)

// startCollector opens the store and builds the collector (binding its
// listener), starting the in-process emulator in emulator mode. command
// names the riskwatch command in the record of who holds the database.
func (a *app) startCollector(ctx context.Context, cfg config.Config, useEmulator bool, logger *slog.Logger, command string) (*collectorRuntime, error) {
	key := cfg.Safee.APIKey.Value()
	if key == "" && !useEmulator {
		return nil, &exitError{code: 2, err: errNoKey}
	}
	db, err := openStore(cfg, store.Options{Progress: func(msg string) { logger.Info("database migration", "progress", msg) }}, command)
	if err != nil {
		return nil, err
	}
	rt := &collectorRuntime{db: db, mode: collector.ModeSafee, safeeURL: cfg.Safee.BaseURL}
	if useEmulator {
		key = randomKey()
		emu, err := serveEmulator(ctx, "127.0.0.1:0", emulator.Options{Key: key, Seed: time.Now().UnixNano()})
		if err != nil {
			rt.close()
			return nil, err
		}
		rt.emu, rt.mode, rt.safeeURL = emu, collector.ModeEmulator, emu.url
	}
	client, err := safee.New(safee.Config{
		BaseURL: rt.safeeURL, APIKey: key, Timeout: cfg.Safee.Timeout.D(), Concurrency: cfg.Safee.Concurrency,
		RateLimit: cfg.Safee.RateLimit, RiskRoute: cfg.Safee.RiskRoute, FilterRoute: cfg.Safee.FilterRoute,
	})
	if err != nil {
		rt.close()
		return nil, fmt.Errorf("safe-e client: %w", err)
	}
	var files []collector.FileOptions
	for _, f := range cfg.Files {
		files = append(files, collector.FileOptions{Path: f.Path, FromStart: f.FromStart})
	}
	var topics []collector.KafkaOptions
	for _, k := range cfg.Kafka {
		o, err := collector.KafkaFromConfig(k)
		if err != nil {
			rt.close()
			return nil, err
		}
		topics = append(topics, o)
	}
	col, err := collector.New(collector.Options{
		DB: db, Client: client, Mode: rt.mode, Files: files, Kafka: topics,
		Listen: cfg.Ingest.Listen, Token: cfg.Ingest.Token.Value(), MaxBody: int64(cfg.Ingest.MaxBody),
		InboxLimit: uint64(cfg.Ingest.InboxLimit), Workers: cfg.Safee.Concurrency, Retention: cfg.Store.Retention.D(),
		Alerts: cfg.Alerts, ShadowPolicy: cfg.Policy.Shadow, ShadowMaxLive: cfg.Policy.MaxLiveEntries, Logger: logger,
	})
	if err != nil {
		rt.close()
		return nil, err
	}
	rt.col = col
	if err := writeLockInfo(db.Path(), command, col.Addr()); err != nil {
		logger.Warn("could not record who holds the database", "err", err)
	}
	return rt, nil
}

// reloadOnHangup reloads col's shadow policy on each SIGHUP until the
// returned stop is called (the headless collector's convention; the
// dashboard keeps SIGHUP's default, ending with its terminal).
func reloadOnHangup(col *collector.Collector) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-hup:
				_ = col.ReloadShadow() // logged, and shown in Health
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(hup)
		close(done)
		wg.Wait()
	}
}

// run runs the collector until ctx ends, then closes what it owns.
func (rt *collectorRuntime) run(ctx context.Context) error {
	err := rt.col.Run(ctx)
	if cerr := rt.close(); err == nil {
		err = cerr
	}
	return err
}

func (rt *collectorRuntime) close() error {
	if rt.emu != nil {
		_ = rt.emu.stop()
	}
	err := rt.db.Close()
	removeLockInfo(rt.db.Path())
	return err
}

// openStore opens the configured database, creating its directory, and
// turns a held file into a message that says what to do. Unless read-only,
// it records this process (running command) as the holder as soon as it
// holds the lock, so that others refused meanwhile (a migration may take
// minutes) can say who holds it; the caller removes the record after Close
// (removeLockInfo), a collector rewrites it with its address once bound.
func openStore(cfg config.Config, opts store.Options, command string) (*store.DB, error) {
	if !opts.MustExist {
		if err := os.MkdirAll(filepath.Dir(cfg.Store.Path), 0o700); err != nil {
			return nil, fmt.Errorf("create the database directory: %w", err)
		}
	}
	if !opts.ReadOnly {
		opts.Locked = func() { _ = writeLockInfo(cfg.Store.Path, command, "") }
	}
	db, err := store.Open(cfg.Store.Path, opts)
	if err != nil && !errors.Is(err, store.ErrInUse) {
		removeLockInfo(cfg.Store.Path)
	}
	if errors.Is(err, store.ErrInUse) {
		if info, ok := readLockInfo(cfg.Store.Path); ok {
			return nil, &exitError{code: 3, err: heldBy(err, info)}
		}
		return nil, &exitError{code: 3, err: fmt.Errorf("%w\n(another collector holds it and did not record its address; if it listens where the configuration says, ask it with --connect %s where the command takes it, or pass --db)", err, listenURL(cfg.Ingest.Listen))}
	}
	return db, err
}

// heldBy says who holds the database, from its record, and what to do.
func heldBy(err error, info lockInfo) error {
	since := info.Started.Local().Format("2006-01-02 15:04:05")
	who := "riskwatch"
	if info.Command != "" {
		who += " " + info.Command
	}
	switch {
	case info.Listen != "":
		return fmt.Errorf("%w: pid %d, listening on %s since %s\n(ask it with --connect %s where the command takes it, or pass another --db)",
			err, info.PID, info.Listen, since, listenURL(info.Listen))
	case info.Command == "collect" || info.Command == "dashboard":
		return fmt.Errorf("%w: pid %d (%s) since %s, still starting (opening or migrating the database): its address is not known yet\n(try again in a moment, or pass another --db)",
			err, info.PID, who, since)
	default:
		return fmt.Errorf("%w: pid %d (%s) since %s\n(wait for it to finish, or pass another --db)", err, info.PID, who, since)
	}
}

// listenURL is the URL of a collector listening on addr.
func listenURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func randomKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "emu_" + hex.EncodeToString(b[:])
}

// describeSources is the status line's "where from".
func describeSources(cfg config.Config, addr string) string {
	var parts []string
	for _, f := range cfg.Files {
		parts = append(parts, "file:"+f.Path)
	}
	for _, k := range cfg.Kafka {
		parts = append(parts, "kafka:"+k.Topic)
	}
	if addr != "" {
		parts = append(parts, "http "+addr)
	}
	return strings.Join(parts, ", ")
}
