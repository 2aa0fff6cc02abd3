package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Guard is what every route of a collector runs before its handler, the
// read and write API of this package and the collector's own routes
// (ingest, the Safe-e proxy, /healthz, /metrics) alike: the method check,
// then the token check, and a count of the answer.
type Guard struct {
	// Token, when set, is the Bearer token every guarded route requires.
	Token string
	// Observe, if set, is told each answer's route name and status code.
	Observe func(route string, status int)
}

// Route wraps h: a method not in methods (nil allows any) gets a JSON 405
// with Allow; a request without the token gets a 401 (see Authorized);
// Observe sees the status of every answer, those two included.
func (g Guard) Route(name string, methods []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		if g.Observe != nil {
			defer func() { g.Observe(name, rec.code) }()
		}
		if methods != nil && !slices.Contains(methods, r.Method) {
			rec.Header().Set("Allow", strings.Join(methods, ", "))
			WriteError(rec, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed (want %s)",
				r.Method, r.URL.Path, strings.Join(methods, " or ")))
			return
		}
		if !Authorized(rec, r, g.Token) {
			return
		}
		h.ServeHTTP(rec, r)
	})
}

// Authorized checks r's Bearer token against token, the collector's one
// token check: "" lets every request through; otherwise a missing, malformed
// or wrong token is answered 401 with WWW-Authenticate and a WireError, and
// Authorized returns false. Both sides are hashed before one constant-time
// comparison, so neither the content nor the length of the token leaks
// through timing. The answer never repeats what the client sent.
func Authorized(w http.ResponseWriter, r *http.Request, token string) bool {
	if token == "" {
		return true
	}
	scheme, got, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	got = strings.TrimSpace(got)
	var msg string
	switch {
	case scheme == "":
		msg = "missing Authorization header: this collector requires Authorization: Bearer <token>"
	case !strings.EqualFold(scheme, "Bearer") || got == "":
		msg = "Authorization header is not a Bearer token: this collector requires Authorization: Bearer <token>"
	default:
		want, have := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(want[:], have[:]) == 1 {
			return true
		}
		msg = "invalid bearer token"
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="riskwatch"`)
	WriteError(w, http.StatusUnauthorized, msg)
	return false
}

// WriteError answers a WireError with msg and status code.
func WriteError(w http.ResponseWriter, code int, msg string) {
	WriteJSON(w, code, WireError{Error: msg})
}

// WriteJSON answers v as JSON, one line, with status code. Encoding cannot
// fail for the contract's own types; a write error means the client left.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	writeJSON(w, code, b, err)
}

// writeJSON writes b, v's JSON, as WriteJSON does; err is Marshal's.
func writeJSON(w http.ResponseWriter, code int, b []byte, err error) {
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

// Unwrap lets http.ResponseController reach the connection (streams flush
// and set deadlines through it).
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
