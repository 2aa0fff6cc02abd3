package collector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/config"
	"github.com/riskwatch/riskwatch/safee"
)

// Defaults applied by NewServer to zero ServerOptions fields, besides
// config.DefaultListen, config.DefaultMaxBody and config.DefaultInboxLimit,
// which the configuration shows and this package applies.
const (
	DefaultMaxItems           = 10_000
	DefaultMaxConcurrent      = 16
	DefaultMaxProxyConcurrent = 32
	DefaultMinBodyRate        = 1024
	DefaultMinBodyRateGrace   = 5 * time.Second
	DefaultReadHeaderTimeout  = 5 * time.Second
	DefaultReadTimeout        = 30 * time.Second
	DefaultWriteTimeout       = 60 * time.Second
	DefaultIdleTimeout        = 120 * time.Second
	DefaultMaxHeaderBytes     = 64 << 10
	DefaultShutdownTimeout    = 10 * time.Second
	DefaultStreamHeartbeat    = 15 * time.Second
	DefaultStreamBacklog      = 100_000
)

// maxMaxBody caps MaxBody: a body is held in memory whole.
const maxMaxBody = 1 << 30

// ProxyFunc forwards one Safe-e call and records its decision before
// returning. It returns Safe-e's status, the headers of its answer to pass
// on and its body unchanged, or a 503 with a JSON error body when Safe-e
// cannot be reached, its answer could not be read whole, or the decision
// could not be stored. event is the validated event name as in Safe-e's
// URL ("login").
type ProxyFunc func(ctx context.Context, route safee.Route, event string, body []byte) ProxyAnswer

// ProxyAnswer is what the proxy routes send back to the application.
type ProxyAnswer struct {
	Status int
	// Header holds the headers to send (Content-Type among them; none
	// means no Content-Type is sent). Content-Length is set by the server.
	Header http.Header
	Body   []byte
}

// ServerOptions configure a Server. Zero fields take the defaults above;
// Proxy and Health are required.
type ServerOptions struct {
	// Listen is the TCP address Run listens on when Listener is nil. A host
	// that is not loopback (127.0.0.0/8, ::1, localhost) is refused unless
	// Token is set.
	Listen string
	// Listener, when set, is where Run serves instead (the collector binds
	// it early, so that a port in use is reported before anything runs).
	// Run closes it.
	Listener net.Listener
	// Token, when set, is the Bearer token every route requires
	// (Authorization: Bearer <token>), /healthz and /metrics included. It
	// must be printable ASCII without spaces.
	Token string
	// MaxBody bounds a request body, after gzip decompression too.
	MaxBody int64
	// MaxItems bounds the events in one POST /v1/events (413 over it).
	MaxItems int
	// MaxConcurrent bounds the ingest requests that read a body at once;
	// more answer 429. Together with MaxBody it bounds memory.
	MaxConcurrent int
	// MaxProxyConcurrent bounds the proxy requests in progress at once (a
	// separate capacity: the proxy is the application's login path and
	// slow or bulk ingest must not lock it out); more answer 429.
	MaxProxyConcurrent int
	// MinBodyRate (bytes per second) and MinBodyRateGrace bound slow
	// bodies: once the grace has passed, a request body that arrives at
	// less than MinBodyRate on average is refused with 408, freeing its
	// slot instead of holding it until ReadTimeout.
	MinBodyRate      int64
	MinBodyRateGrace time.Duration

	// Proxy serves the Safe-e-compatible routes.
	Proxy ProxyFunc
	// Health reports the collector's state for /healthz.
	Health func(ctx context.Context) api.Health
	// Reader, when set, is served as the read API: every route of package
	// api (api.Routes: GET /v1/decisions, /v1/users, ... and the stream
	// GET /v1/stream). Without it those routes are absent.
	Reader api.Backend
	// StreamHeartbeat is the interval of the comments that keep an idle
	// stream alive and let a client notice a dead one.
	StreamHeartbeat time.Duration
	// StreamBacklog bounds the stored decisions one stream request
	// replays before it is live; a client further behind gets that many,
	// then the stream ends and it resumes with a new request.
	StreamBacklog int
	// Metrics is updated by the server. Default: new metrics registered
	// with Registry.
	Metrics *Metrics
	// Registry is served on /metrics. Default: a new registry.
	Registry *prometheus.Registry
	// Logger receives request failures. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock of the read routes' relative times and of the
	// default NewID. Default: time.Now.
	Now func() time.Time
	// NewID assigns an event ID to a posted event without event_id. Default:
	// 32 hex digits, a 48-bit millisecond time followed by 80 random bits.
	NewID func() string

	// Timeouts against slow or idle clients (see net/http.Server).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// WriteTimeout also bounds how long a handler waits for the store or
	// the proxy.
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration
	MaxHeaderBytes int
	// ShutdownTimeout bounds the graceful shutdown when Serve's context
	// ends; connections still open then are closed.
	ShutdownTimeout time.Duration
}

// Server is the collector's HTTP server: event ingest, the Safe-e-compatible
// proxy, /healthz, /metrics and, with a Reader, the read API and stream. It
// is safe for concurrent use.
//
// It is also the collector's HTTP source: Run serves it with POST
// /v1/events committing through the intake Run was given, until its
// context ends; the caller must keep the store open until then. Serve
// alone serves every route but the ingest, which answers 503.
type Server struct {
	opts    ServerOptions
	log     *slog.Logger
	handler http.Handler
	// slots bounds the ingest requests reading a body at once,
	// proxySlots the proxy requests in progress.
	slots, proxySlots chan struct{}
	addr              atomic.Pointer[string]
	// shutdown is closed when a graceful shutdown starts, ending the
	// streams, which would otherwise hold it up until its timeout.
	shutdown     chan struct{}
	shutdownOnce sync.Once

	// ingest is the intake POST /v1/events commits through, set by Run
	// before it serves; nil while only Serve runs.
	ingest  atomic.Pointer[Intake]
	stopped atomic.Bool
}

// Name is the Source of the events and rejected records that POST
// /v1/events stores: "http".
func (s *Server) Name() string { return httpSource }

// Run serves as the collector's HTTP source until ctx ends: POST
// /v1/events commits through in (whose source must be "http") and the
// other routes are served alongside. It serves on ServerOptions.Listener,
// or listens on Listen, and shuts down as Serve does.
func (s *Server) Run(ctx context.Context, in *Intake) error {
	if in == nil || in.Source() != httpSource {
		if s.opts.Listener != nil {
			s.opts.Listener.Close()
		}
		return fmt.Errorf("collector server: needs an intake for %s", httpSource)
	}
	ln := s.opts.Listener
	if ln == nil {
		var lc net.ListenConfig
		var err error
		if ln, err = lc.Listen(ctx, "tcp", s.opts.Listen); err != nil {
			return fmt.Errorf("collector server: listen on %s: %w", s.opts.Listen, err)
		}
	}
	s.ingest.Store(in)
	defer s.stopped.Store(true)
	return s.Serve(ctx, ln)
}

// Stats reports POST /v1/events as a source: items received (accepted,
// duplicate or rejected), how many were rejected and the latest rejection
// reasons, newest first, under the name "http ADDR", in the state
// starting, listening or stopped.
func (s *Server) Stats() api.Source {
	in := s.ingest.Load()
	st := in.Stats()
	st.Name, st.State = "http "+s.Addr(), "listening"
	switch {
	case s.stopped.Load():
		st.State = stateStopped.String()
	case in == nil:
		st.State = stateStarting.String()
	}
	return st
}

// NewServer checks opts, applies the defaults and builds the routes. It
// refuses a non-loopback Listen address without a Token.
func NewServer(opts ServerOptions) (*Server, error) {
	if err := opts.withDefaults(); err != nil {
		return nil, fmt.Errorf("collector server: %w", err)
	}
	s := &Server{
		opts:       opts,
		log:        opts.Logger,
		slots:      make(chan struct{}, opts.MaxConcurrent),
		proxySlots: make(chan struct{}, opts.MaxProxyConcurrent),
		shutdown:   make(chan struct{}),
	}
	s.handler = s.routes()
	return s, nil
}

func (o *ServerOptions) withDefaults() error {
	switch {
	case o.Proxy == nil:
		return errors.New("no proxy function (Proxy is nil)")
	case o.Health == nil:
		return errors.New("no health function (Health is nil)")
	}
	for _, r := range o.Token {
		if r < 0x21 || r > 0x7e {
			return errors.New("the ingest token contains a space, a control or a non-ASCII character")
		}
	}
	if o.Listen == "" {
		o.Listen = config.DefaultListen
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", o.Listen, err)
	}
	if o.Token == "" && !isLoopbackHost(host) {
		return fmt.Errorf("refusing to listen on %s without an ingest token: anyone who can reach "+
			"a non-loopback address could post events and spend the Safe-e key through the proxy; "+
			"set a token (RISKWATCH_INGEST_TOKEN or token in the [ingest] section of the config) "+
			"or listen on 127.0.0.1", o.Listen)
	}
	if o.MaxBody < 0 || o.MaxItems < 0 || o.MaxConcurrent < 0 || o.MaxProxyConcurrent < 0 || o.MinBodyRate < 0 {
		return fmt.Errorf("negative limit (max body %d, max items %d, max concurrent %d, max proxy concurrent %d, min body rate %d)",
			o.MaxBody, o.MaxItems, o.MaxConcurrent, o.MaxProxyConcurrent, o.MinBodyRate)
	}
	if o.MaxBody > maxMaxBody {
		return fmt.Errorf("max body %d is over the %d-byte ceiling", o.MaxBody, maxMaxBody)
	}
	setDefault(&o.MaxBody, config.DefaultMaxBody)
	setDefault(&o.MaxItems, DefaultMaxItems)
	setDefault(&o.MaxConcurrent, DefaultMaxConcurrent)
	setDefault(&o.MaxProxyConcurrent, DefaultMaxProxyConcurrent)
	setDefault(&o.MinBodyRate, DefaultMinBodyRate)
	setDefault(&o.MinBodyRateGrace, DefaultMinBodyRateGrace)
	setDefault(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&o.ReadTimeout, DefaultReadTimeout)
	setDefault(&o.WriteTimeout, DefaultWriteTimeout)
	setDefault(&o.IdleTimeout, DefaultIdleTimeout)
	setDefault(&o.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&o.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&o.StreamHeartbeat, DefaultStreamHeartbeat)
	setDefault(&o.StreamBacklog, DefaultStreamBacklog)
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(o.Registry)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = func() string { return newEventID(o.Now()) }
	}
	return nil
}

// setDefault replaces a non-positive *v with def.
func setDefault[T int | int64 | uint64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// isLoopbackHost reports whether host (from host:port) names only the local
// machine: "localhost" or a loopback IP. "" (every interface) is not.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// newEventID returns 32 hex digits: the millisecond time in the first 12,
// so IDs sort roughly by arrival, then 80 random bits.
func newEventID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	// crypto/rand.Read never fails (it panics if the system source does).
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// Handler returns the server's routes, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr returns the address Serve is listening on, or "" before it started.
func (s *Server) Addr() string {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return ""
}

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in progress finish (ingest answers only after its
// commit) for up to ShutdownTimeout, closes what is left, and returns nil if
// the shutdown was graceful. It returns early with an error if serving
// fails. Without a Token it refuses a listener that is not on a loopback
// address. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && s.opts.Token == "" && !tcp.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("collector server: refusing to serve on %s without an ingest token", ln.Addr())
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(func() { s.shutdownOnce.Do(func() { close(s.shutdown) }) })
	addr := ln.Addr().String()
	s.addr.Store(&addr)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("collector server: serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		hs.Close()
		err = fmt.Errorf("collector server: shutdown on %s: %w", addr, err)
	}
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("collector server: serve on %s: %w", addr, serr)
	}
	return err
}
