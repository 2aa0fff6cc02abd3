package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/policy"
)

// Defaults for RemoteOptions.
const (
	DefaultRemoteTimeout = 10 * time.Second
	DefaultMinBackoff    = 250 * time.Millisecond
	DefaultMaxBackoff    = 10 * time.Second
	// DefaultStallTimeout is how long a stream may stay silent (the
	// collector sends a heartbeat every 15 s) before it is dropped and
	// dialled again.
	DefaultStallTimeout = 45 * time.Second
	// DefaultRemoteBuffer bounds the decisions a subscription holds while
	// its reader is busy; beyond it the stream is not read (the collector
	// waits), so nothing is dropped.
	DefaultRemoteBuffer = 10_000
)

// maxAnswer bounds a JSON answer (the collector caps lists at 10,000
// decisions, a few tens of MB).
const maxAnswer = 256 << 20

// RemoteOptions tune a Remote. Zero values select the defaults.
type RemoteOptions struct {
	// Timeout bounds each request, and the wait for a stream's first byte.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the (jittered, doubling) wait before
	// a dropped stream is dialled again.
	MinBackoff, MaxBackoff time.Duration
	// StallTimeout drops a stream that has been silent this long.
	StallTimeout time.Duration
	// Buffer bounds the decisions a subscription holds for a busy reader.
	Buffer int
	// Client sends the requests; nil means a client of Remote's own (no
	// client-wide timeout: streams are long).
	Client *http.Client
}

// Remote is a Reader that asks a collector over HTTP: each method asks its
// op of the table (ops.go), and Subscribe follows GET /v1/stream. It is
// safe for concurrent use. Errors keep the collector's message and kind
// (ErrInvalid, ErrNotFound, ErrUnavailable); the token never appears in
// them. Remote also implements ConnState.
type Remote struct {
	base  *url.URL
	token string
	opts  RemoteOptions
	hc    *http.Client
	own   *http.Transport // the transport Remote made, closed by Close; nil with opts.Client
	// gzip asks for compressed answers (see Dial).
	gzip bool

	conn connState
}

var (
	_ Reader    = (*Remote)(nil)
	_ ConnState = (*Remote)(nil)
)

// Dial returns a Remote for the collector at baseURL ("http://127.0.0.1:7676")
// that sends token as a Bearer token when it is not empty. It does not
// connect: the first call does, and Connection reports how that went.
func Dial(baseURL, token string, opts RemoteOptions) (*Remote, error) {
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("collector URL %q: %w", baseURL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("collector URL %q: want http:// or https://", baseURL)
	case u.Host == "":
		return nil, fmt.Errorf("collector URL %q: no host", baseURL)
	case u.User != nil:
		return nil, errors.New("collector URL: credentials in the URL are not used; pass the token separately")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("collector URL %q: want no query or fragment", baseURL)
	}
	for _, c := range token {
		if c < 0x21 || c > 0x7e {
			return nil, errors.New("the token contains a space, a control or a non-ASCII character")
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRemoteTimeout
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = DefaultStallTimeout
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultRemoteBuffer
	}
	// Answers from a collector on another host come gzipped (the client
	// inflates them as it reads); on this host, where bytes cost nothing
	// to move, compressing them would only cost time at both ends.
	r := &Remote{base: u, token: token, opts: opts, hc: opts.Client, gzip: !isLoopback(u.Hostname())}
	if r.hc == nil {
		r.own = http.DefaultTransport.(*http.Transport).Clone()
		r.hc = &http.Client{Transport: r.own}
	}
	r.conn.init(time.Now())
	return r, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL is the collector's base URL.
func (r *Remote) URL() string { return r.base.String() }

// Close releases idle connections. Subscriptions end with their contexts.
func (r *Remote) Close() {
	if r.own != nil {
		r.own.CloseIdleConnections()
	}
}

// Error is an error answer from the collector. Its text is the collector's
// message, as the in-process Reader would have said it.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Message is the collector's {"error": ...}.
	Message string
	// Code is the collector's machine-readable code, "" for most errors.
	Code string
}

func (e *Error) Error() string { return e.Message }

// Unwrap gives the error the kind the collector answered with, so that
// errors.Is(err, ErrNotFound) and the others work as in-process.
func (e *Error) Unwrap() error {
	switch {
	case e.Status == http.StatusNotFound && e.Code == CodeNotFound:
		return ErrNotFound
	case e.Status == http.StatusBadRequest:
		return ErrInvalid
	case e.Status == http.StatusServiceUnavailable:
		return ErrUnavailable
	}
	return nil
}

// Unauthorized reports whether the collector refused the token.
func (e *Error) Unauthorized() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// endpoint is the URL of path (already escaped) with query q. The base URL
// has neither query nor fragment (Dial refuses them).
func (r *Remote) endpoint(path string, q url.Values) string {
	s := r.base.String() + path
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// newRequest builds a request of the collector's API with the token.
func (r *Remote) newRequest(ctx context.Context, method, path string, q url.Values, body []byte, accept string) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.endpoint(path, q), rd)
	if err != nil {
		return nil, fmt.Errorf("collector %s: %s %s: %w", r.base, method, path, err)
	}
	req.Header.Set("Accept", accept)
	if !r.gzip {
		req.Header.Set("Accept-Encoding", "identity")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	return req, nil
}

// call asks the collector op o with query q: the request the op's codec
// writes (a POST carries q as its JSON body), the answer its wire reads.
// A query whose path value is empty is answered by the op without asking.
func call[B, Q, R any](ctx context.Context, r *Remote, o *op[B, Q, R], q Q) (R, error) {
	var zero R
	v := reflect.ValueOf(q)
	if o.local != nil && o.codec.emptyPath(v) {
		return o.local(q)
	}
	path, vals, err := o.codec.encode(v, o.path)
	if err != nil {
		return zero, err
	}
	var body []byte
	if o.method != http.MethodGet {
		if body, err = json.Marshal(q); err != nil {
			return zero, fmt.Errorf("collector %s: %s %s: %w", r.base, o.method, o.path, err)
		}
	}
	data, err := r.do(ctx, o.method, path, vals, body)
	if err != nil {
		return zero, err
	}
	res, err := o.wire.dec(data)
	if err != nil {
		return zero, fmt.Errorf("collector %s: %s %s: decode the answer: %w", r.base, o.method, o.path, err)
	}
	return res, nil
}

// do sends one request and returns the body of its 200 answer. It records
// the outcome in the connection state, unless ctx ended first.
func (r *Remote) do(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := r.newRequest(rctx, method, path, q, body, "application/json")
	if err != nil {
		return nil, err
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		err = r.transportError(method, path, err)
		if ctx.Err() == nil {
			r.conn.failed(err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := r.answerError(resp)
		r.conn.answered(e)
		return nil, e
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err == nil && len(data) > maxAnswer {
		err = fmt.Errorf("answer larger than %d bytes", maxAnswer)
	}
	if err != nil {
		err = fmt.Errorf("collector %s: %s %s: read the answer: %w", r.base, method, path, err)
		if ctx.Err() == nil {
			r.conn.failed(err)
		}
		return nil, err
	}
	r.conn.ok()
	return data, nil
}

// transportError says that the collector could not be reached, without
// repeating the URL that *url.Error carries.
func (r *Remote) transportError(method, path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("collector %s: %s %s: no answer within %s", r.base, method, path, r.opts.Timeout)
	}
	return fmt.Errorf("collector %s unreachable: %s %s: %w", r.base, method, path, err)
}

// answerError reads a non-200 answer: the collector's {"error": ...}, or
// the status and the start of whatever else answered. Whatever answered,
// the token is cut out of the message.
func (r *Remote) answerError(resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode}
	var we WireError
	if json.Unmarshal(body, &we) == nil && we.Error != "" {
		e.Message, e.Code = we.Error, we.Code
	} else {
		e.Message = "collector answered " + resp.Status
		text := strings.TrimSpace(strings.ToValidUTF8(string(body[:min(len(body), 200)]), "?"))
		if text != "" {
			e.Message += ": " + strings.Join(strings.Fields(text), " ")
		}
	}
	if r.token != "" {
		e.Message = strings.ReplaceAll(e.Message, r.token, "[token]")
	}
	return e
}

// The Reader methods, each one op of the table.

// Latest asks GET /v1/decisions/latest.
func (r *Remote) Latest(ctx context.Context, q LatestQuery) ([]decision.Decision, error) {
	return call(ctx, r, opLatest, q)
}

// Decision asks GET /v1/decisions/{id}; an unknown ID is ErrNotFound.
func (r *Remote) Decision(ctx context.Context, id string) (decision.Decision, error) {
	return call(ctx, r, opDecision, decisionQuery{ID: id})
}

// Rates asks GET /v1/rates.
func (r *Remote) Rates(ctx context.Context, q RatesQuery) ([]decision.MinuteCounts, error) {
	return call(ctx, r, opRates, q)
}

// Stats asks GET /v1/stats.
func (r *Remote) Stats(ctx context.Context, q StatsQuery) (decision.Totals, error) {
	return call(ctx, r, opStats, q)
}

// Health asks GET /v1/health.
func (r *Remote) Health(ctx context.Context) (Health, error) {
	return call(ctx, r, opHealth, healthQuery{})
}

// Range asks GET /v1/decisions for one page.
func (r *Remote) Range(ctx context.Context, q RangeQuery) (Page, error) {
	return call(ctx, r, opRange, q)
}

// Journey asks GET /v1/users/{id}/journey; an empty user has no journey.
func (r *Remote) Journey(ctx context.Context, q JourneyQuery) ([]decision.Decision, error) {
	return call(ctx, r, opJourney, q)
}

// Users asks GET /v1/users.
func (r *Remote) Users(ctx context.Context, q UsersQuery) ([]decision.UserSummary, error) {
	return call(ctx, r, opUsers, q)
}

// SearchUsers asks GET /v1/users/search.
func (r *Remote) SearchUsers(ctx context.Context, q UsersQuery) (UserList, error) {
	return call(ctx, r, opSearchUsers, q)
}

// Histogram asks GET /v1/histogram.
func (r *Remote) Histogram(ctx context.Context, q HistogramQuery) (decision.Histogram, error) {
	return call(ctx, r, opHistogram, q)
}

// WhatIf asks GET /v1/whatif.
func (r *Remote) WhatIf(ctx context.Context, q WhatIfQuery) (decision.WhatIf, error) {
	return call(ctx, r, opWhatIf, q)
}

// Links asks GET /v1/users/{id}/links.
func (r *Remote) Links(ctx context.Context, q LinksQuery) (decision.Links, error) {
	return call(ctx, r, opLinks, q)
}

// Flips asks GET /v1/flips.
func (r *Remote) Flips(ctx context.Context, q FlipsQuery) ([]decision.Decision, error) {
	return call(ctx, r, opFlips, q)
}

// Explain asks GET /v1/explain.
func (r *Remote) Explain(ctx context.Context, q ExplainQuery) (Explanation, error) {
	return call(ctx, r, opExplain, q)
}

// ExplainCounts asks GET /v1/explain/counts.
func (r *Remote) ExplainCounts(ctx context.Context, q ExplainCountsQuery) (ExplainCounts, error) {
	return call(ctx, r, opExplainCounts, q)
}

// Alerts asks GET /v1/alerts.
func (r *Remote) Alerts(ctx context.Context, q AlertsQuery) (Alerts, error) {
	return call(ctx, r, opAlerts, q)
}

// Backtest asks GET /v1/alerts/backtest.
func (r *Remote) Backtest(ctx context.Context, q BacktestQuery) (Backtest, error) {
	return call(ctx, r, opBacktest, q)
}

// Replay asks POST /v1/policy/replay.
func (r *Remote) Replay(ctx context.Context, q ReplayQuery) (policy.Report, error) {
	return call(ctx, r, opReplay, q)
}

// PolicyDiff asks POST /v1/policy/diff.
func (r *Remote) PolicyDiff(ctx context.Context, q DiffQuery) (policy.DiffReport, error) {
	return call(ctx, r, opPolicyDiff, q)
}

// connState is Remote's connection state, shared by requests and streams.
type connState struct {
	mu    sync.Mutex
	up    bool
	since time.Time
	err   error
	// back is closed when the state turns ok, waking streams that wait to
	// dial again; it is replaced when the state turns bad.
	back chan struct{}
}

func (c *connState) init(now time.Time) {
	c.since = now
	c.back = make(chan struct{})
}

func (c *connState) ok() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.up {
		c.up, c.since, c.err = true, time.Now(), nil
		close(c.back)
	}
}

func (c *connState) failed(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.up {
		c.up, c.since = false, time.Now()
		c.back = make(chan struct{})
	}
	c.err = err
}

// answered records an error answer: the collector was reached, unless it
// refused the token or something in front of it says it is unavailable.
func (c *connState) answered(e *Error) {
	switch {
	case e.Unauthorized(), e.Status == http.StatusBadGateway, e.Status == http.StatusServiceUnavailable,
		e.Status == http.StatusGatewayTimeout:
		c.failed(e)
	default:
		c.ok()
	}
}

// reachable returns a channel closed once the collector answers again.
func (c *connState) reachable() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.back
}

// Connection reports whether the last exchange with the collector (a
// request or the stream) succeeded, since when the state has been what it
// is, and, when it failed, the last error. Before the first exchange ok is
// false, err is nil and since is when Dial was called.
func (r *Remote) Connection() (ok bool, since time.Time, err error) {
	r.conn.mu.Lock()
	defer r.conn.mu.Unlock()
	return r.conn.up, r.conn.since, r.conn.err
}
