package emulator

import (
	"net/http"
	"strconv"
	"time"
)

// faultKind is what an injected fault does to a request.
type faultKind uint8

const (
	faultNone faultKind = iota
	faultTimeout
	faultThrottle
	faultError
)

// fault is the draw for one request: its added latency and its fault.
type fault struct {
	kind    faultKind
	latency time.Duration
	status  int // of a faultError: 500, 502 or 503
}

// drawFault draws a request's latency and fault. Every request takes the
// same three draws from the seeded source, so a sequence of requests always
// meets the same sequence of faults.
func (e *Emulator) drawFault() fault {
	e.faultMu.Lock()
	u, jitter, pick := e.faultRand.Float64(), e.faultRand.Float64(), e.faultRand.IntN(3)
	e.faultMu.Unlock()

	f := fault{latency: time.Duration(float64(e.opts.Latency) * (0.5 + jitter))}
	o := e.opts
	switch {
	case u < o.TimeoutRate:
		f.kind = faultTimeout
	case u < o.TimeoutRate+o.ThrottleRate:
		f.kind = faultThrottle
	case u < o.TimeoutRate+o.ThrottleRate+o.ErrorRate:
		f.kind = faultError
		f.status = [3]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[pick]
	}
	return f
}

// badGatewayPage is what a 502 carries: the HTML page of a load balancer
// that lost its backend, not JSON, as real gateways answer.
const badGatewayPage = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"

// injectFault answers the request with its fault and reports whether it
// did. A timeout stalls until the client gives up or TimeoutDelay passes,
// then answers 504.
func (e *Emulator) injectFault(w http.ResponseWriter, r *http.Request, f fault) bool {
	switch f.kind {
	case faultTimeout:
		sleep(r.Context(), e.opts.TimeoutDelay)
		e.fail(w, http.StatusGatewayTimeout, "gateway_timeout", "the risk engine did not answer in time")
	case faultThrottle:
		secs := max(1, int64((e.opts.RetryAfter+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		e.fail(w, http.StatusTooManyRequests, "rate_limited", "too many requests")
	case faultError:
		switch f.status {
		case http.StatusBadGateway:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(badGatewayPage))
			e.record(http.StatusBadGateway)
		case http.StatusServiceUnavailable:
			e.fail(w, f.status, "service_unavailable", "the risk engine is unavailable")
		default:
			e.fail(w, f.status, "internal_error", "internal server error")
		}
	default:
		return false
	}
	return true
}
