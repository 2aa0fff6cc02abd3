package collector

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/riskwatch/riskwatch/safee"
)

// proxyHandler serves POST /api/v1/{route}/{event}, the Safe-e-compatible
// proxy: an app points its Safe-e base URL at the collector and keeps its
// code. The app's Authorization-API header is ignored (the proxy function
// uses the collector's own key); the collector's Bearer token applies as on
// every route. Safe-e's status, body and the headers the application needs
// (content type, Retry-After, rate-limit and request-ID headers; see
// passedHeader) are passed through unchanged.
func (s *Server) proxyHandler(route safee.Route) http.Handler {
	outcomes := s.opts.Metrics.ProxyRequests
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, err := safee.EventName(r.PathValue("event"))
		if err != nil {
			outcomes.WithLabelValues("rejected").Inc()
			writeError(w, http.StatusBadRequest, fmt.Sprintf("event name in the path: %v", err))
			return
		}
		release, ok := s.acquire(w, s.proxySlots, "proxy")
		if !ok {
			outcomes.WithLabelValues("rejected").Inc()
			return
		}
		defer release()
		body, herr := s.readBody(w, r)
		if herr != nil {
			outcomes.WithLabelValues("rejected").Inc()
			writeError(w, herr.code, herr.msg)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.WriteTimeout)
		defer cancel()
		ans := s.opts.Proxy(ctx, route, name, body)
		status := ans.Status
		if status < 200 || status > 599 {
			s.log.Error("collector server: the proxy returned an invalid HTTP status",
				"route", string(route), "event", name, "status", status)
			outcomes.WithLabelValues("5xx").Inc()
			writeError(w, http.StatusBadGateway, fmt.Sprintf("proxy: invalid status %d from the scoring path", status))
			return
		}
		outcomes.WithLabelValues(strconv.Itoa(status/100) + "xx").Inc()
		h := w.Header()
		for k, vs := range ans.Header {
			h[http.CanonicalHeaderKey(k)] = vs
		}
		if len(h.Values("Content-Type")) == 0 {
			h["Content-Type"] = nil // no type was given: do not let net/http guess one
		}
		h.Del("Content-Length")
		if status != http.StatusNoContent && status != http.StatusNotModified {
			h.Set("Content-Length", strconv.Itoa(len(ans.Body)))
		}
		w.WriteHeader(status)
		_, _ = w.Write(ans.Body)
	})
}

// handleHealth serves GET /healthz: the collector's api.Health as JSON, with
// 200 while the pipeline is running and 503 while it is paused (for example
// after Safe-e refused the key) or stopped, so a probe notices events are
// not being scored. Ingest still accepts events in both cases.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := s.opts.Health(r.Context())
	code := http.StatusOK
	if h.Pipeline != PipelineRunning {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}
