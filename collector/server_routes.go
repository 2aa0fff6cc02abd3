package collector

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/safee"
)

// routes builds the mux. Patterns carry no method, so that a wrong method
// gets a JSON 405 (with Allow) from route rather than the mux's plain text.
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
	served := "POST /v1/events, POST /api/v1/risk/{event}, POST /api/v1/filter/{event}, GET /healthz and GET /metrics"
	if s.opts.Reader != nil {
		get := []string{http.MethodGet}
		read := func(name, pattern string, params []string, fn readFunc) {
			mux.Handle(pattern, s.route(name, get, s.readHandler(params, fn)))
		}
		read("latest", "/v1/decisions/latest", []string{"filter", "n"}, s.getLatest)
		read("decision", "/v1/decisions/{id}", nil, s.getDecision)
		read("decisions", "/v1/decisions", []string{"from", "to", "reverse", "limit", "cursor", "filter"}, s.getRange)
		read("journey", "/v1/users/{id}/journey", []string{"limit"}, s.getJourney)
		read("users", "/v1/users", []string{"sort", "search", "ip", "limit"}, s.getUsers)
		read("rates", "/v1/rates", []string{"from", "to"}, s.getRates)
		read("stats", "/v1/stats", []string{"since", "until", "filter"}, s.getStats)
		read("histogram", "/v1/histogram", []string{"score", "from", "to"}, s.getHistogram)
		read("whatif", "/v1/whatif", []string{"score", "challenge", "deny", "from", "to"}, s.getWhatIf)
		read("flips", "/v1/flips", []string{"score", "challenge", "deny", "from", "to", "limit"}, s.getFlips)
		read("health", "/v1/health", nil, s.getHealth)
		mux.Handle("/v1/stream", s.route("stream", get, http.HandlerFunc(s.handleStream)))
		served = "POST /v1/events, POST /api/v1/risk/{event}, POST /api/v1/filter/{event}, GET /healthz, " +
			"GET /metrics, the read API (GET /v1/decisions, /v1/decisions/latest, /v1/decisions/{id}, " +
			"/v1/users, /v1/users/{id}/journey, /v1/rates, /v1/stats, /v1/histogram, /v1/whatif, /v1/flips, " +
			"/v1/health) and GET /v1/stream"
	}
	mux.Handle("/", s.route("other", nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s: the collector serves %s", r.Method, r.URL.Path, served))
	})))
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
