package collector

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

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

// route wraps a handler with the request counter, the method check (nil
// methods: any) and the token check, in that order.
func (s *Server) route(name string, methods []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			s.opts.Metrics.HTTPRequests.WithLabelValues(name, strconv.Itoa(rec.code)).Inc()
		}()
		if methods != nil && !slices.Contains(methods, r.Method) {
			rec.Header().Set("Allow", strings.Join(methods, ", "))
			writeError(rec, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed (want %s)",
				r.Method, r.URL.Path, strings.Join(methods, " or ")))
			return
		}
		if !s.authorized(rec, r) {
			return
		}
		h.ServeHTTP(rec, r)
	})
}

// authorized checks the Bearer token when one is configured and answers 401
// when it is missing or wrong. Both sides are hashed before the
// constant-time compare, so neither the content nor the length of the token
// leaks through timing.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Token == "" {
		return true
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	var msg string
	switch {
	case scheme == "":
		msg = "missing Authorization header: this collector requires Authorization: Bearer <token>"
	case !strings.EqualFold(scheme, "Bearer") || token == "":
		msg = "Authorization header is not a Bearer token: this collector requires Authorization: Bearer <token>"
	default:
		want := sha256.Sum256([]byte(s.opts.Token))
		got := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(want[:], got[:]) == 1 {
			return true
		}
		msg = "invalid bearer token"
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="riskwatch"`)
	writeError(w, http.StatusUnauthorized, msg)
	return false
}

// statusRecorder remembers the status code written through it.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusRecorder) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// promErrorLog sends promhttp's gathering errors to the server's logger.
type promErrorLog struct{ s *Server }

func (l promErrorLog) Println(v ...any) {
	l.s.log.Error("collector server: gathering metrics", "error", fmt.Sprint(v...))
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers {"error": msg} with code.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// writeJSON answers v as JSON with code. Encoding cannot fail for the
// server's own response types; a write error means the client is gone.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, code = []byte(`{"error":"internal error: cannot encode the answer"}`), http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
