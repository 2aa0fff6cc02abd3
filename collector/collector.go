// Package collector takes events from files, Kafka topics and HTTP, scores
// them with Safe-e and stores the decisions: each Source hands what it read
// to its Intake, which writes it to the store's durable inbox with the
// source's positions, the pipeline scores the inbox and completes each event
// in the store, and the hub fans committed decisions out to dashboards.
// Everything the collector starts is stopped by the context given to Run.
package collector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/riskwatch/riskwatch/alert"
	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/store"
)

// Modes of scoring, shown in health and the status line.
const (
	ModeSafee    = api.ModeSafee
	ModeEmulator = api.ModeEmulator
)

// Options configures a Collector. DB and Client are required; the caller
// owns the DB and closes it after Run returns.
type Options struct {
	DB     *store.DB
	Client *safee.Client
	// Mode is ModeSafee or ModeEmulator.
	Mode string
	// Files are the tailed files. Their Logger is set by the collector.
	Files []FileOptions
	// Kafka are the consumed topics. Their Logger and Metrics are set by
	// the collector.
	Kafka []KafkaOptions
	// Listen is the HTTP server's address; "" runs no server. Listener, if
	// set, is used instead (tests pass a bound loopback listener).
	Listen   string
	Listener net.Listener
	// Token is the ingest token ("" for none; then Listen must be loopback).
	Token   string
	MaxBody int64
	// InboxLimit is the inbox depth at which every source stops taking
	// events until the pipeline catches up (default
	// config.DefaultInboxLimit).
	InboxLimit uint64
	// Workers is the number of concurrent Safe-e calls (default 16).
	Workers int
	// Retention deletes decisions older than this (0 keeps everything).
	Retention time.Duration
	// ShadowPolicy is a policy file to run in shadow on every new
	// decision ("" for none); New refuses one that does not load.
	ShadowPolicy string
	// ShadowMaxLive bounds the shadow's velocity in memory, in entries
	// (default config.DefaultMaxLiveEntries, negative: no bound).
	ShadowMaxLive int
	// Pipeline overrides the pipeline's tuning (tests shorten the backoffs);
	// its DB, Scorer, Hub, Metrics, Logger and Workers are set here.
	Pipeline PipelineOptions
	// Alerts are the alert rules evaluated on the store (none: no
	// evaluation); AlertOptions tune it.
	Alerts       []alert.Rule
	AlertOptions AlertOptions
	// Registry receives the metrics (default: a new registry).
	Registry *prometheus.Registry
	Logger   *slog.Logger
	Now      func() time.Time
}

// Collector wires sources, pipeline, hub and HTTP server around one store.
type Collector struct {
	o        Options
	hub      *Hub
	metrics  *Metrics
	pipeline *Pipeline
	// sources are the tailed files, the Kafka topics, then the HTTP server
	// when there is one;
	// intakes[i] is the intake of sources[i].
	sources []Source
	intakes []*Intake
	ln      net.Listener
	// alerter evaluates Options.Alerts; nil without rules.
	alerter *alerter
	// shadow is the shadow policy, nil when none is set.
	shadow *Shadow
}

// New checks the options and builds the collector. It binds the HTTP
// listener, so a port in use or a refused address is reported here, before
// anything runs.
func New(o Options) (*Collector, error) {
	if o.DB == nil || o.Client == nil {
		return nil, errors.New("collector: a store and a Safe-e client are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Mode == "" {
		o.Mode = ModeSafee
	}
	if o.InboxLimit == 0 {
		o.InboxLimit = config.DefaultInboxLimit
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	c := &Collector{o: o, hub: NewHub(), metrics: NewMetrics(o.Registry)}
	c.metrics.SetInboxDepthFunc(o.DB.InboxDepth)
	if len(o.Alerts) > 0 {
		a, err := newAlerter(o.DB, o.Alerts, o.AlertOptions, c.metrics, o.Logger.With("part", "alerts"), o.Now)
		if err != nil {
			return nil, err
		}
		c.alerter = a
	}
	if o.ShadowPolicy != "" {
		sh, err := NewShadow(o.ShadowPolicy, o.DB, ShadowOptions{Logger: o.Logger.With("part", "shadow"), Now: o.Now, MaxLive: o.ShadowMaxLive})
		if err != nil {
			return nil, fmt.Errorf("shadow policy: %w", err)
		}
		c.shadow = sh
	}

	po := o.Pipeline
	po.Shadow = c.shadow
	po.DB, po.Scorer, po.Hub, po.Metrics, po.Logger = o.DB, o.Client, c.hub, c.metrics, o.Logger.With("part", "pipeline")
	po.Workers = o.Workers
	if po.Now == nil {
		po.Now = o.Now
	}
	c.pipeline = NewPipeline(po)

	for _, f := range o.Files {
		f.Logger = o.Logger.With("part", "file")
		c.sources = append(c.sources, NewFileSource(f))
	}
	for _, k := range o.Kafka {
		k.Logger, k.Metrics = o.Logger.With("part", "kafka"), c.metrics
		c.sources = append(c.sources, NewKafkaSource(k))
	}
	if o.Listen != "" || o.Listener != nil {
		srv, err := c.newServer()
		if err != nil {
			return nil, err
		}
		c.sources = append(c.sources, srv)
	}
	for _, s := range c.sources {
		in, err := NewIntake(IntakeOptions{DB: o.DB, Source: s.Name(), InboxLimit: o.InboxLimit,
			Metrics: c.metrics, Notify: c.pipeline.Notify, Queued: c.pipeline.Remember, Now: o.Now})
		if err != nil {
			if c.ln != nil {
				c.ln.Close()
			}
			return nil, fmt.Errorf("collector: %w", err)
		}
		c.intakes = append(c.intakes, in)
	}
	if c.alerter != nil {
		if err := c.alerter.start(o.AlertOptions); err != nil {
			if c.ln != nil {
				c.ln.Close()
			}
			return nil, err
		}
	}
	return c, nil
}

// newServer builds the HTTP server with the proxy and binds its listener,
// after its options were checked (a refused address is never bound).
func (c *Collector) newServer() (*Server, error) {
	o := c.o
	px := &proxy{fwd: o.Client, db: o.DB, hub: c.hub, pipeline: c.pipeline, metrics: c.metrics, shadow: c.shadow,
		logger: o.Logger.With("part", "proxy"), now: o.Now, newID: newID}
	so := ServerOptions{
		Listen: o.Listen, Listener: o.Listener, Token: o.Token, MaxBody: o.MaxBody,
		Proxy: px.serve, Health: c.Health, Reader: c.Reader(),
		Metrics: c.metrics, Registry: o.Registry, Logger: o.Logger.With("part", "http"), Now: o.Now,
	}
	if err := so.withDefaults(); err != nil {
		return nil, fmt.Errorf("collector server: %w", err)
	}
	if so.Listener == nil {
		ln, err := net.Listen("tcp", so.Listen)
		if err != nil {
			return nil, fmt.Errorf("collector: listen on %s: %w", so.Listen, err)
		}
		so.Listener = ln
	}
	srv, err := NewServer(so)
	if err != nil {
		so.Listener.Close()
		return nil, err
	}
	c.ln = so.Listener
	return srv, nil
}

// Addr is the HTTP server's address, "" when it has none.
func (c *Collector) Addr() string {
	if c.ln == nil {
		return ""
	}
	return c.ln.Addr().String()
}

// Hub returns the fan-out of committed decisions.
func (c *Collector) Hub() *Hub { return c.hub }

// Run runs sources, pipeline, server, retention and alert evaluation until
// ctx ends. Intake stops first; the pipeline then finishes or abandons (to
// the inbox) what is in flight; alert evaluation stops and its notifiers
// deliver what they hold for a few seconds; Run returns when everything has
// stopped. It returns the first error that stopped a part early. A
// collector built with alert rules must be run (its notifiers have started
// and Run closes them).
func (c *Collector) Run(ctx context.Context) error {
	if c.alerter != nil {
		actx, stopAlerts := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.alerter.run(actx)
		}()
		defer func() {
			stopAlerts()
			<-done
		}()
	}
	intakeCtx, stopIntake := context.WithCancel(ctx)
	defer stopIntake()
	intake, ictx := errgroup.WithContext(intakeCtx)
	for i, s := range c.sources {
		intake.Go(func() error { return s.Run(ictx, c.intakes[i]) })
	}
	if c.o.Retention > 0 {
		intake.Go(func() error { c.retain(ictx); return nil })
	}
	intake.Go(func() error { c.watchStore(ictx); return nil })

	pctx, stopPipeline := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipeline()
	perr := make(chan error, 1)
	go func() { perr <- c.pipeline.Run(pctx) }()
	c.pipeline.Notify()

	err := intake.Wait()
	if ctx.Err() == nil && err != nil {
		c.o.Logger.Error("collector part failed; stopping", "err", err)
	}
	stopPipeline()
	if e := <-perr; err == nil {
		err = e
	}
	c.hub.Close()
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// retain deletes decisions past the retention age once a minute.
func (c *Collector) retain(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		n, err := c.o.DB.Retain(ctx, c.o.Now().Add(-c.o.Retention))
		if err != nil && ctx.Err() == nil {
			c.o.Logger.Error("retention", "err", err)
		} else if n > 0 {
			c.o.Logger.Info("retention deleted old decisions", "count", n, "older_than", c.o.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchStore reports, once, that the database file was lost under the
// collector (deleted, replaced or truncated): an ERROR in the log and the
// riskwatch_store_file_lost gauge. The store itself refuses every write
// from then on, so ingest answers 503 and health shows it.
func (c *Collector) watchStore(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-c.o.DB.LostC():
		c.metrics.StoreLost.Set(1)
		c.o.Logger.Error("DATABASE FILE LOST: events are refused until the collector is restarted on a good file",
			"path", c.o.DB.Path(), "err", c.o.DB.Lost())
	}
}

// Health assembles the collector's state for /healthz and the dashboard.
func (c *Collector) Health(ctx context.Context) api.Health {
	ps := c.pipeline.Stats()
	h := api.Health{
		Mode:           c.o.Mode,
		SafeeURL:       c.o.Client.BaseURL(),
		Pipeline:       ps.State,
		PauseReason:    ps.PauseReason,
		Inbox:          c.o.DB.InboxDepth(),
		InFlight:       ps.InFlight,
		Retries:        ps.Retries,
		Redactions:     ps.Redactions,
		CommitFailures: ps.CommitFailures,
		Errors:         ps.Errors,
		Breaker:        ps.Breaker,
		SafeeReachable: ps.Reachable,
		StatusCodes:    ps.StatusCodes,
		LatencyP50:     ps.P50,
		LatencyP99:     ps.P99,
	}
	for _, s := range c.sources {
		h.Sources = append(h.Sources, s.Stats())
	}
	if info, err := c.o.DB.Info(); err == nil {
		h.StoreSize, h.Decisions, h.Rejected = info.Size, info.Decisions, info.Rejected
	}
	if last, err := c.o.DB.Latest(ctx, nil, 1, ""); err == nil && len(last) == 1 {
		h.LastEvent = last[0].Time
	}
	addStoreHealth(ctx, c.o.DB, &h)
	if h.StoreError != "" {
		h.Pipeline, h.PauseReason = PipelinePaused, "database file lost, events refused until a restart: "+h.StoreError
	}
	if c.alerter != nil {
		c.alerter.health(&h)
	}
	if c.shadow != nil {
		h.Shadow = c.shadow.Health()
	}
	return h
}

// ReloadShadow reads the shadow policy file again (on SIGHUP): the new
// policy applies to the decisions stored from then on; one that does not
// load keeps the previous policy, and the error is logged and shown in
// Health. Without a shadow policy it does nothing.
func (c *Collector) ReloadShadow() error {
	if c.shadow == nil {
		return nil
	}
	return c.shadow.Reload()
}

// newID is a collector-assigned event ID for proxied events without one.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "proxy-" + hex.EncodeToString(b[:])
}
