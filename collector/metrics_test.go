package collector

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/safee"
)

func TestMetricsRegisterAndExport(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	depth := uint64(42)
	m.SetInboxDepthFunc(func() uint64 { return depth })
	m.EventsAccepted.WithLabelValues("file:/var/log/a.ndjson").Add(3)
	m.EventsDuplicate.WithLabelValues("http").Inc()
	m.EventsRejected.WithLabelValues("http", "not_json").Inc()
	m.InFlight.Set(5)
	m.ObserveSafee(200, 30*time.Millisecond)
	m.ObserveSafee(0, 2*time.Second)
	m.Retries.Inc()
	m.Errors.WithLabelValues("timeout").Inc()
	m.ObserveCommit("complete", 4*time.Millisecond)
	m.CountDecision(&decision.Decision{Action: decision.ActionDeny, Type: "$LOGIN", Status: "$failed"})
	m.ProxyRequests.WithLabelValues("5xx").Inc()
	m.HTTPRequests.WithLabelValues("events", "202").Inc()

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
	names := []string{
		"riskwatch_events_accepted_total", "riskwatch_events_duplicate_total", "riskwatch_events_rejected_total",
		"riskwatch_inbox_depth", "riskwatch_in_flight", "riskwatch_safee_requests_total",
		"riskwatch_safee_request_duration_seconds", "riskwatch_safee_retries_total", "riskwatch_safee_errors_total",
		"riskwatch_safee_breaker_state", "riskwatch_store_commit_duration_seconds", "riskwatch_decisions_total",
		"riskwatch_proxy_requests_total", "riskwatch_http_requests_total",
	}
	if n, err := testutil.GatherAndCount(reg, names...); err != nil || n < len(names) {
		t.Errorf("gathered %d series of the %d metrics (%v)", n, len(names), err)
	}
	want := `
# HELP riskwatch_inbox_depth Events accepted and waiting to be scored.
# TYPE riskwatch_inbox_depth gauge
riskwatch_inbox_depth 42
# HELP riskwatch_safee_requests_total Safe-e requests by HTTP status code ("error" when no answer arrived).
# TYPE riskwatch_safee_requests_total counter
riskwatch_safee_requests_total{code="200"} 1
riskwatch_safee_requests_total{code="error"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "riskwatch_inbox_depth", "riskwatch_safee_requests_total"); err != nil {
		t.Error(err)
	}
	depth = 7
	want = `
# HELP riskwatch_inbox_depth Events accepted and waiting to be scored.
# TYPE riskwatch_inbox_depth gauge
riskwatch_inbox_depth 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "riskwatch_inbox_depth"); err != nil {
		t.Errorf("inbox depth is not read at scrape time: %v", err)
	}
	if got := testutil.CollectAndCount(m.SafeeLatency); got != 1 {
		t.Errorf("latency histogram series = %d", got)
	}
}

func TestMetricsInboxDepthUnset(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	if n, err := testutil.GatherAndCount(reg, "riskwatch_inbox_depth"); err != nil || n != 1 {
		t.Fatalf("inbox depth without a func: %d series, %v", n, err)
	}
}

func TestMetricsUnregistered(t *testing.T) {
	m := NewMetrics(nil)
	m.Retries.Inc()
	if got := testutil.ToFloat64(m.Retries); got != 1 {
		t.Errorf("retries = %v", got)
	}
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	defer func() {
		if recover() == nil {
			t.Errorf("a second NewMetrics on one registry did not panic")
		}
	}()
	NewMetrics(reg)
}

func TestMetricsSetBreaker(t *testing.T) {
	m := NewMetrics(nil)
	for _, tt := range []struct {
		state string
		ok    bool
		want  float64
	}{
		{"open", true, 2}, {"half-open", true, 1}, {"closed", true, 0}, {"opened", false, 0}, {"", false, 0},
	} {
		if ok := m.SetBreaker(tt.state); ok != tt.ok {
			t.Errorf("SetBreaker(%q) = %v, want %v", tt.state, ok, tt.ok)
		}
		if got := testutil.ToFloat64(m.Breaker); got != tt.want {
			t.Errorf("after SetBreaker(%q) the gauge is %v, want %v", tt.state, got, tt.want)
		}
	}
}

func TestMetricsRejectClass(t *testing.T) {
	tests := []struct {
		input string
		want  string
	}{
		{"\xff", "invalid_utf8"},
		{"nope", "not_json"},
		{"[]", "not_object"},
		{`{"type":"$a"} {}`, "trailing_data"},
		{`{}`, "missing_type"},
		{`{"type":"$a b"}`, "bad_type"},
		{`{"type":"$a","timestamp":"x"}`, "bad_timestamp"},
		{`{"type":"$a","status":1}`, "bad_field"},
	}
	for _, tt := range tests {
		_, err := safee.ParseEvent([]byte(tt.input))
		if err == nil {
			t.Fatalf("ParseEvent(%q) accepted it", tt.input)
		}
		if got := RejectClass(err); got != tt.want {
			t.Errorf("RejectClass(%v) = %q, want %q", err, got, tt.want)
		}
		if got := RejectClass(fmt.Errorf("line 3: %w", err)); got != tt.want {
			t.Errorf("wrapped: %q, want %q", got, tt.want)
		}
	}
	if got := RejectClass(errors.New("line too long")); got != "other" {
		t.Errorf("RejectClass(unknown) = %q, want other", got)
	}
}

// TestPipelineStatsAreTheMetrics: health's counters are read back from the
// metrics /metrics exports, so the two cannot disagree.
func TestPipelineStatsAreTheMetrics(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	p := NewPipeline(PipelineOptions{Metrics: m})
	p.observe(safee.Result{HTTPStatus: 200, Latency: time.Millisecond}, nil)
	p.observe(safee.Result{HTTPStatus: 200, Latency: time.Millisecond}, nil)
	p.observe(safee.Result{HTTPStatus: 503}, &safee.Error{Kind: safee.KindRetryable, Status: 503})
	p.observe(safee.Result{}, &safee.Error{Kind: safee.KindRetryable, Timeout: true})
	p.observe(safee.Result{}, &safee.Error{Kind: safee.KindCanceled})
	m.Retries.Add(2)
	m.InFlight.Add(3)

	s := p.Stats()
	wantCodes := map[int]uint64{200: 2, 503: 1}
	wantErrs := map[string]uint64{"retryable": 1, "timeout": 1}
	if fmt.Sprint(s.StatusCodes) != fmt.Sprint(wantCodes) || fmt.Sprint(s.Errors) != fmt.Sprint(wantErrs) ||
		s.Retries != 2 || s.InFlight != 3 || s.Reachable {
		t.Fatalf("stats = %+v, want codes %v, errors %v, 2 retries, 3 in flight, unreachable", s, wantCodes, wantErrs)
	}
	for code, n := range wantCodes {
		if got := testutil.ToFloat64(m.SafeeRequests.WithLabelValues(fmt.Sprint(code))); got != float64(n) {
			t.Errorf("riskwatch_safee_requests_total{code=%q} = %v, health says %d", fmt.Sprint(code), got, n)
		}
	}
	if got := testutil.ToFloat64(m.SafeeRequests.WithLabelValues("error")); got != 2 {
		t.Errorf("riskwatch_safee_requests_total{code=\"error\"} = %v, want 2 (no answer; not in health's codes)", got)
	}
}

// TestDecisionLabelsBounded: types and statuses are written as filters
// write them, and a flood of new types counts as "other".
func TestDecisionLabelsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.CountDecision(&decision.Decision{Action: decision.ActionDeny, Type: "$LOGIN", Status: "$Failed"})
	m.CountDecision(&decision.Decision{Action: decision.ActionDeny, Type: "login", Status: "$failed"})
	for i := range 2 * maxLabelValues {
		m.CountDecision(&decision.Decision{Action: decision.ActionAllow, Type: fmt.Sprintf("$t%d", i)})
	}
	if got := testutil.ToFloat64(m.Decisions.WithLabelValues("deny", "$login", "$failed")); got != 2 {
		t.Errorf("deny $login $failed = %v, want 2", got)
	}
	if n := testutil.CollectAndCount(m.Decisions); n != maxLabelValues+1 {
		t.Errorf("%d series, want %d", n, maxLabelValues+1)
	}
	if got := testutil.ToFloat64(m.Decisions.WithLabelValues("allow", "other", "")); got != maxLabelValues+1 {
		t.Errorf("other = %v, want %d", got, maxLabelValues+1)
	}
}
