package collector

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/safee"
)

// routes builds the mux: the collector's own routes, and with a Reader the
// read API of package api (every op of its table, and the stream).
// Patterns carry no method, so that a wrong method gets a JSON 405 (with
// Allow) from the guard rather than the mux's plain text.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{
		ErrorLog:      promErrorLog{s},
		ErrorHandling: promhttp.ContinueOnError,
	})
	mux.Handle("/v1/events", s.route("events", []string{http.MethodPost}, http.HandlerFunc(s.handleIngest)))
	mux.Handle("/api/v1/risk/{event}", s.route("risk", []string{http.MethodPost}, s.proxyHandler(safee.RouteRisk)))
	mux.Handle("/api/v1/filter/{event}", s.route("filter", []string{http.MethodPost}, s.proxyHandler(safee.RouteFilter)))
	mux.Handle("/healthz", s.route("healthz", []string{http.MethodGet, http.MethodHead}, http.HandlerFunc(s.handleHealth)))
	mux.Handle("/metrics", s.route("metrics", []string{http.MethodGet, http.MethodHead}, metrics))
	served := []string{"POST /v1/events", "POST /api/v1/risk/{event}", "POST /api/v1/filter/{event}", "GET /healthz", "GET /metrics"}
	if s.opts.Reader != nil {
		served = append(served, api.Register(mux, s.opts.Reader, api.HandlerOptions{
			Guard: s.guard(), QueryTimeout: s.opts.WriteTimeout, StreamHeartbeat: s.opts.StreamHeartbeat,
			StreamBacklog: s.opts.StreamBacklog, Shutdown: s.shutdown, Logger: s.log,
		})...)
	}
	mux.Handle("/", s.route("other", nil, api.NotFoundHandler(strings.Join(served, ", "))))
	return mux
}

// route guards a handler as every route of the collector is guarded
// (api.Guard: the method check, then the token check), counting each
// answer by route name and status.
func (s *Server) route(name string, methods []string, h http.Handler) http.Handler {
	return s.guard().Route(name, methods, h)
}

// guard is the collector's api.Guard: its token and its request counter.
func (s *Server) guard() api.Guard {
	return api.Guard{Token: s.opts.Token, Observe: func(route string, status int) {
		s.opts.Metrics.HTTPRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	}}
}

// promErrorLog sends promhttp's gathering errors to the server's logger.
type promErrorLog struct{ s *Server }

func (l promErrorLog) Println(v ...any) {
	l.s.log.Error("collector server: gathering metrics", "error", fmt.Sprint(v...))
}

// writeError answers an api.WireError with msg and status code.
func writeError(w http.ResponseWriter, code int, msg string) { api.WriteError(w, code, msg) }

// writeJSON answers v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) { api.WriteJSON(w, code, v) }
