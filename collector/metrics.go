package collector

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/riskwatch/riskwatch/safee"
)

// metricsNamespace prefixes every metric name.
const metricsNamespace = "riskwatch"

// Metrics are the collector's Prometheus metrics, all named riskwatch_*.
// The fields are safe for concurrent use; the pipeline, the intakes and the
// HTTP server update them directly or through the helper methods. They are
// the only copy of these counts: health reads the pipeline's back from here
// (see Pipeline.Stats) and each source's from its Intake. Label
// values are bounded: sources are the configured ones, reasons and kinds come
// from fixed vocabularies (RejectClass, safee.Error.Reason), codes are HTTP
// statuses.
type Metrics struct {
	// EventsAccepted counts events newly stored in the inbox, by source
	// ("http", "file:PATH"). riskwatch_events_accepted_total{source}.
	EventsAccepted *prometheus.CounterVec
	// EventsDuplicate counts accepted events whose event ID was already
	// stored (an idempotent retry), by source.
	// riskwatch_events_duplicate_total{source}.
	EventsDuplicate *prometheus.CounterVec
	// EventsRejected counts unusable input stored as rejected records, by
	// source and reason class (see RejectClass).
	// riskwatch_events_rejected_total{source,reason}.
	EventsRejected *prometheus.CounterVec
	// InFlight is the number of events being scored right now.
	// riskwatch_in_flight.
	InFlight prometheus.Gauge
	// SafeeRequests counts Safe-e calls (a score with its retries inside
	// the client, or one proxied request) by the HTTP status of the last
	// attempt, "error" when no answer arrived.
	// riskwatch_safee_requests_total{code}.
	SafeeRequests *prometheus.CounterVec
	// SafeeLatency observes the duration of each call's last attempt in
	// seconds. riskwatch_safee_request_duration_seconds.
	SafeeLatency prometheus.Histogram
	// Retries counts the times the pipeline scheduled an event again after
	// its call failed transiently (the client's own retries inside one call
	// are not counted). riskwatch_safee_retries_total.
	Retries prometheus.Counter
	// Errors counts failed Safe-e calls by kind (safee.Error.Reason:
	// unauthorized, bad_event, retryable, timeout, network, bad_response,
	// canceled). riskwatch_safee_errors_total{kind}.
	Errors *prometheus.CounterVec
	// Breaker is the circuit breaker state: 0 closed, 1 half-open, 2 open
	// (see SetBreaker). riskwatch_safee_breaker_state.
	Breaker prometheus.Gauge
	// StoreLost is 1 once the database file was deleted, replaced or
	// truncated under the running collector (see store.DB.Lost), else 0.
	// riskwatch_store_file_lost.
	StoreLost prometheus.Gauge
	// CommitLatency observes how long a caller waited for a store
	// transaction, by operation ("enqueue", "complete").
	// riskwatch_store_commit_duration_seconds{op}.
	CommitLatency *prometheus.HistogramVec
	// Decisions counts stored decisions by action (allow, challenge, deny,
	// error). riskwatch_decisions_total{action}.
	Decisions *prometheus.CounterVec
	// ProxyRequests counts requests on the Safe-e-compatible proxy routes by
	// outcome: "rejected" (refused before forwarding: bad event name, body
	// too large, unsupported encoding), or the status class of the answer
	// ("2xx", "4xx", "5xx"), which includes the proxy's own 503 when Safe-e
	// cannot be reached. riskwatch_proxy_requests_total{outcome}.
	ProxyRequests *prometheus.CounterVec
	// HTTPRequests counts requests to the collector's HTTP server by route
	// (events, risk, filter, healthz, metrics, other and, with a Reader, the
	// read routes named in Server.routes: latest, decisions, stream, ...)
	// and status code.
	// riskwatch_http_requests_total{route,code}.
	HTTPRequests *prometheus.CounterVec

	// inboxDepth feeds riskwatch_inbox_depth at scrape time.
	inboxDepth atomic.Pointer[func() uint64]
}

// NewMetrics builds the metrics and registers them with reg (nil: not
// registered, for code that counts without exporting). Like
// prometheus.MustRegister it panics if reg already holds metrics with these
// names, which only a second NewMetrics on the same registry can cause.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		EventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "events_accepted_total",
			Help: "Events newly stored in the inbox, by source.",
		}, []string{"source"}),
		EventsDuplicate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "events_duplicate_total",
			Help: "Accepted events whose event ID was already stored, by source.",
		}, []string{"source"}),
		EventsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "events_rejected_total",
			Help: "Unusable input stored as rejected records, by source and reason class.",
		}, []string{"source", "reason"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "in_flight",
			Help: "Events being scored right now.",
		}),
		SafeeRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "safee_requests_total",
			Help: `Safe-e requests by HTTP status code ("error" when no answer arrived).`,
		}, []string{"code"}),
		SafeeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "safee_request_duration_seconds",
			Help:    "Duration of each Safe-e request.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "safee_retries_total",
			Help: "Safe-e requests after the first one for an event.",
		}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "safee_errors_total",
			Help: "Failed Safe-e calls by kind.",
		}, []string{"kind"}),
		Breaker: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "safee_breaker_state",
			Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
		}),
		CommitLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "store_commit_duration_seconds",
			Help:    "Time a caller waited for its store transaction to commit, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op"}),
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "decisions_total",
			Help: "Stored decisions by action.",
		}, []string{"action"}),
		ProxyRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "proxy_requests_total",
			Help: `Proxy route requests by outcome ("rejected" or the answer's status class).`,
		}, []string{"outcome"}),
		StoreLost: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "store_file_lost",
			Help: "1 once the database file was deleted, replaced or truncated under the running collector (events are refused until it is restarted), else 0.",
		}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "http_requests_total",
			Help: "Requests to the collector's HTTP server by route and status code.",
		}, []string{"route", "code"}),
	}
	if reg == nil {
		return m
	}
	inbox := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Name: "inbox_depth",
		Help: "Events accepted and waiting to be scored.",
	}, func() float64 {
		if f := m.inboxDepth.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
	reg.MustRegister(
		m.EventsAccepted, m.EventsDuplicate, m.EventsRejected, m.InFlight,
		m.SafeeRequests, m.SafeeLatency, m.Retries, m.Errors, m.Breaker,
		m.CommitLatency, m.Decisions, m.ProxyRequests, m.HTTPRequests, m.StoreLost, inbox,
	)
	return m
}

// SetInboxDepthFunc sets the function riskwatch_inbox_depth reads at every
// scrape (typically (*store.DB).InboxDepth, which is cheap). Until it is
// set the gauge reads 0. f must be safe for concurrent use.
func (m *Metrics) SetInboxDepthFunc(f func() uint64) {
	m.inboxDepth.Store(&f)
}

// ObserveSafee records one Safe-e request: its status code (0 when no answer
// arrived, counted as "error") and its duration.
func (m *Metrics) ObserveSafee(code int, d time.Duration) {
	label := "error"
	if code > 0 {
		label = strconv.Itoa(code)
	}
	m.SafeeRequests.WithLabelValues(label).Inc()
	m.SafeeLatency.Observe(d.Seconds())
}

// ObserveCommit records how long a store operation ("enqueue", "complete")
// waited for its commit.
func (m *Metrics) ObserveCommit(op string, d time.Duration) {
	m.CommitLatency.WithLabelValues(op).Observe(d.Seconds())
}

// safeeCounts is what health shows of the Safe-e counters.
type safeeCounts struct {
	codes    map[int]uint64
	errors   map[string]uint64
	retries  uint64
	inFlight int
}

// safeeCounts reads the Safe-e counters back: calls by status code (those
// that got an answer), failures by kind, retries, calls in flight.
func (m *Metrics) safeeCounts() safeeCounts {
	c := safeeCounts{codes: map[int]uint64{}, errors: map[string]uint64{}}
	for label, v := range values(m.SafeeRequests) {
		if code, err := strconv.Atoi(label); err == nil {
			c.codes[code] = uint64(v)
		}
	}
	for kind, v := range values(m.Errors) {
		c.errors[kind] = uint64(v)
	}
	c.retries = uint64(values(m.Retries)[""])
	c.inFlight = int(values(m.InFlight)[""])
	return c
}

// values reads the current values of a counter or gauge, or of a vector of
// them with one label, keyed by that label's value ("" without labels).
func values(c prometheus.Collector) map[string]float64 {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	out := map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) != nil {
			continue
		}
		key := ""
		if l := pb.GetLabel(); len(l) > 0 {
			key = l[0].GetValue()
		}
		out[key] += pb.GetCounter().GetValue() + pb.GetGauge().GetValue()
	}
	return out
}

// breakerValues maps the breaker states of api.Health to gauge values.
var breakerValues = map[string]float64{"closed": 0, "half-open": 1, "open": 2}

// SetBreaker sets the breaker gauge from a state name as api.Health spells
// it: "closed", "half-open" or "open". It reports false, leaving the gauge
// unchanged, for any other name.
func (m *Metrics) SetBreaker(state string) bool {
	v, ok := breakerValues[state]
	if ok {
		m.Breaker.Set(v)
	}
	return ok
}

// rejectClasses maps the parse errors of package safee to the bounded
// reason label of riskwatch_events_rejected_total.
var rejectClasses = []struct {
	err   error
	class string
}{
	{safee.ErrInvalidUTF8, "invalid_utf8"},
	{safee.ErrNotJSON, "not_json"},
	{safee.ErrNotObject, "not_object"},
	{safee.ErrTrailingData, "trailing_data"},
	{safee.ErrMissingType, "missing_type"},
	{safee.ErrBadType, "bad_type"},
	{safee.ErrBadTimestamp, "bad_timestamp"},
	{safee.ErrBadField, "bad_field"},
	{errLineTooLong, "too_long"},
}

// errLineTooLong classifies a tailed line over the size limit.
var errLineTooLong = errors.New("line over the size limit")

// RejectClass names why input was rejected, for the reason label: the
// safee.Err* reason err wraps (invalid_utf8, not_json, not_object,
// trailing_data, missing_type, bad_type, bad_timestamp, bad_field), a
// tailed line over the size limit (too_long), or "other".
func RejectClass(err error) string {
	for _, c := range rejectClasses {
		if errors.Is(err, c.err) {
			return c.class
		}
	}
	return "other"
}
