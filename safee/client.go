package safee

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/riskwatch/riskwatch/internal/backoff"
	"github.com/riskwatch/riskwatch/internal/redact"
)

// Client sends events to Safe-e. It is safe for concurrent use; at most
// Config.Concurrency requests are in flight at once across Score and Forward,
// and Config.RateLimit paces every request, retries included.
type Client struct {
	cfg    Config // APIKey cleared; the key lives only in cred
	cred   *credential
	red    *redact.Redactor // the key and the base URL's credentials
	hc     *http.Client
	sem    chan struct{}
	lim    *rate.Limiter
	jitter func(time.Duration) time.Duration
	sleep  func(context.Context, time.Duration) error
}

// credential keeps the key out of the Client's copy of Config; Client's
// Format keeps it out of every printed form.
type credential struct{ key string }

// Result is the outcome of one Score or Forward. It is filled as far as the
// call got, on failure too, so the caller can store what was sent and what
// came back.
type Result struct {
	// Response is the parsed answer; zero unless the call succeeded.
	Response Response
	// HTTPStatus and Header are the last attempt's answer; 0 and nil when
	// it got none.
	HTTPStatus int
	Header     http.Header
	// Body is the last answer's body, unchanged, at most MaxResponseBytes;
	// Truncated reports that Safe-e sent more than that.
	Body      []byte
	Truncated bool
	// Incomplete reports that an answer arrived but its body could not be
	// read whole (the connection broke or timed out mid-body): Body is the
	// part that was read.
	Incomplete bool
	// Request is the body sent (the caller's slice, or a copy with the
	// secrets replaced when it held one) and URL the address it was sent
	// to, without credentials.
	Request []byte
	URL     string
	// Redacted counts the secrets (the API key, a password of the base
	// URL) replaced by redact.Mark in Request, Body and Header values:
	// Safe-e may echo what it was sent, and neither the store nor the
	// proxy's caller may see the key.
	Redacted int
	// Latency is the duration of the last attempt; Attempts counts the
	// requests sent.
	Latency  time.Duration
	Attempts int
}

// New checks cfg, applies defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		cred:   &credential{key: cfg.APIKey},
		red:    redact.New(append([]string{cfg.APIKey}, redact.URLSecrets(cfg.BaseURL)...)...),
		hc:     cfg.HTTPClient,
		sem:    make(chan struct{}, cfg.Concurrency),
		jitter: cfg.Jitter,
		sleep:  cfg.Sleep,
	}
	cfg.APIKey = ""
	cfg.HTTPClient, cfg.Jitter, cfg.Sleep = nil, nil, nil
	c.cfg = cfg
	if c.hc == nil {
		c.hc = newHTTPClient(cfg.Concurrency)
	}
	if c.jitter == nil {
		c.jitter = backoff.Jitter
	}
	if c.sleep == nil {
		c.sleep = backoff.Sleep
	}
	if cfg.RateLimit > 0 {
		c.lim = rate.NewLimiter(rate.Limit(cfg.RateLimit), 1)
	}
	return c, nil
}

func newHTTPClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(100, concurrency)
	t.MaxIdleConnsPerHost = concurrency
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// BaseURL returns the Safe-e API root the client sends to, without any
// user name or password it holds: it is for display and logs.
func (c *Client) BaseURL() string { return redact.URL(c.cfg.BaseURL) }

// CloseIdleConnections closes the idle connections of the client's transport.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Format prints the client's settings for every verb, never its key. It has
// a value receiver so that a dereferenced Client prints safely too.
func (c Client) Format(f fmt.State, verb rune) {
	formatConfig(f, verb, "safee.Client", c.cfg, true)
}

// Score sends ev.Raw to the route for ev and returns the parsed answer.
// Transient failures (408, 429, 5xx, timeouts, connection errors) are retried
// up to MaxAttempts with full-jitter backoff, or after Retry-After (capped at
// MaxRetryAfter) when Safe-e sends one. Every failure is an *Error; a success
// may still carry Response.Action == ActionUnknown.
func (c *Client) Score(ctx context.Context, ev Event) (Result, error) {
	if len(ev.Raw) == 0 {
		return Result{}, &Error{Kind: KindBadEvent, Msg: "safee: the event has no body"}
	}
	return c.call(ctx, ev.Route(), ev.Type, ev.Raw, c.cfg.MaxAttempts)
}

// Forward sends body, unchanged, to route for the event type or name event
// ("$login" or "login"), for the Safe-e-compatible proxy. It makes exactly one
// attempt: the application behind the proxy runs its own Safe-e client with
// its own retries, and retrying here too would multiply them and stretch its
// synchronous call. Whatever Safe-e answers is in the Result unchanged
// (HTTPStatus, Header, Body); the error classifies it as Score would, and
// HTTPStatus == 0 means no answer arrived (the proxy replies 503 itself).
func (c *Client) Forward(ctx context.Context, route Route, event string, body []byte) (Result, error) {
	return c.call(ctx, route, event, body, 1)
}

// endpoint builds the URL for route and event type typ.
func (c *Client) endpoint(route Route, typ string) (string, error) {
	name, err := EventName(typ)
	if err != nil {
		return "", err
	}
	var path string
	switch route {
	case RouteRisk:
		path = c.cfg.RiskRoute
	case RouteFilter:
		path = c.cfg.FilterRoute
	default:
		return "", fmt.Errorf("unknown route %q (want risk or filter)", string(route))
	}
	return c.cfg.BaseURL + strings.ReplaceAll(path, "{event}", name), nil
}

// attempt is what one request produced.
type attempt struct {
	status    int
	header    http.Header
	body      []byte
	truncated bool
	latency   time.Duration
	redacted  int   // secrets replaced in body and header
	err       error // no (complete) answer: transport error or body read failure
	timeout   bool
}

func (c *Client) call(ctx context.Context, route Route, typ string, body []byte, maxAttempts int) (Result, error) {
	req, redacted := c.red.Bytes(body)
	u, err := c.endpoint(route, typ)
	if err != nil {
		return Result{Request: req, Redacted: redacted}, &Error{Kind: KindBadEvent, Msg: "safee: " + c.redact(err.Error()), Err: err}
	}
	res := Result{Request: req, URL: redactURL(u), Redacted: redacted}
	var retryAfter time.Duration
	var hasRetryAfter bool
	for n := 0; ; n++ {
		if n > 0 {
			wait := c.jitter(backoff.Ceiling(c.cfg.BaseBackoff, c.cfg.MaxBackoff, n-1))
			if hasRetryAfter {
				wait = min(retryAfter, c.cfg.MaxRetryAfter)
			}
			if err := c.sleep(ctx, wait); err != nil {
				return res, c.fail(&res, KindCanceled, canceledDetail(res, "waiting to retry", err), err)
			}
		}
		a, err := c.send(ctx, u, body)
		if err != nil {
			return res, c.fail(&res, KindCanceled, canceledDetail(res, "", err), err)
		}
		res.Attempts++
		res.HTTPStatus, res.Header, res.Body, res.Truncated, res.Latency = a.status, a.header, a.body, a.truncated, a.latency
		res.Redacted += a.redacted
		res.Incomplete = a.err != nil && a.status != 0
		if a.err != nil && ctx.Err() != nil {
			return res, c.fail(&res, KindCanceled, canceledDetail(res, "waiting for the answer", ctx.Err()), ctx.Err())
		}
		if a.err == nil && !retryableStatus(a.status) {
			return c.classify(res)
		}
		if n+1 >= maxAttempts {
			e := c.fail(&res, KindRetryable, c.transientDetail(a, res.Attempts), a.err)
			e.Timeout = a.timeout
			return res, e
		}
		retryAfter, hasRetryAfter = 0, false
		if a.err == nil {
			retryAfter, hasRetryAfter = parseRetryAfter(a.header.Get("Retry-After"), time.Now())
		}
	}
}

// send makes one request within the concurrency bound and the rate limit.
// Its error is non-nil only when ctx ended before a request was sent.
func (c *Client) send(ctx context.Context, u string, body []byte) (attempt, error) {
	if err := ctx.Err(); err != nil {
		return attempt{}, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return attempt{}, fmt.Errorf("waiting for a free connection slot: %w", ctx.Err())
	}
	defer func() { <-c.sem }()
	if c.lim != nil {
		if err := c.lim.Wait(ctx); err != nil {
			return attempt{}, fmt.Errorf("waiting for the rate limit: %w", err)
		}
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return attempt{err: err}, nil
	}
	req.Header.Set("Authorization-API", c.cred.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return attempt{err: err, timeout: isTimeout(actx, err), latency: time.Since(start)}, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	a := attempt{status: resp.StatusCode, header: resp.Header, body: b, latency: time.Since(start)}
	if int64(len(b)) > c.cfg.MaxResponseBytes {
		a.body, a.truncated = b[:c.cfg.MaxResponseBytes], true
	}
	a.body, a.redacted = c.red.Bytes(a.body)
	a.redacted += c.redactHeader(a.header)
	if err != nil {
		a.err, a.timeout = fmt.Errorf("reading the response: %w", err), isTimeout(actx, err)
	}
	return a, nil
}

func isTimeout(actx context.Context, err error) bool {
	var ne net.Error
	return errors.Is(actx.Err(), context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// classify turns a complete, non-transient answer into the call's outcome.
func (c *Client) classify(res Result) (Result, error) {
	st := res.HTTPStatus
	switch {
	case st >= 200 && st <= 299:
		if res.Truncated {
			return res, c.fail(&res, KindBadResponse,
				fmt.Sprintf("HTTP %d: response body over %d bytes", st, c.cfg.MaxResponseBytes), nil)
		}
		r, err := ParseResponse(res.Body)
		if err != nil {
			return res, c.fail(&res, KindBadResponse, fmt.Sprintf("HTTP %d: unusable response: %v", st, err), err)
		}
		res.Response = r
		return res, nil
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return res, c.fail(&res, KindUnauthorized, c.statusDetail(res, "Safe-e rejected the API key"), nil)
	case st >= 400 && st <= 499:
		return res, c.fail(&res, KindBadEvent, c.statusDetail(res, "Safe-e rejected the event"), nil)
	}
	return res, c.fail(&res, KindBadResponse, c.statusDetail(res, "unexpected status"), nil)
}

// fail builds the *Error for res with a message prefixed by the request.
func (c *Client) fail(res *Result, kind Kind, detail string, cause error) *Error {
	return &Error{
		Kind:     kind,
		Status:   res.HTTPStatus,
		Attempts: res.Attempts,
		Msg:      fmt.Sprintf("safee: POST %s: %s", redactURL(res.URL), c.redact(detail)),
		Err:      cause,
	}
}

func (c *Client) statusDetail(res Result, what string) string {
	s := fmt.Sprintf("HTTP %d: %s", res.HTTPStatus, what)
	if sn := snippet(res.Body, c.cred.key); sn != "" {
		s += ": " + sn
	}
	return s
}

func (c *Client) transientDetail(a attempt, attempts int) string {
	var cause string
	switch {
	case a.timeout:
		cause = fmt.Sprintf("timed out after %v", c.cfg.Timeout)
	case a.err != nil && a.status == 0:
		cause = "connection error: " + a.err.Error()
	case a.err != nil:
		cause = fmt.Sprintf("HTTP %d: %v", a.status, a.err)
	default:
		cause = fmt.Sprintf("HTTP %d", a.status)
		if sn := snippet(a.body, c.cred.key); sn != "" {
			cause += ": " + sn
		}
	}
	return fmt.Sprintf("Safe-e unavailable after %s: %s", plural(attempts, "attempt"), cause)
}

func canceledDetail(res Result, while string, err error) string {
	s := "canceled after " + plural(res.Attempts, "attempt")
	if while != "" {
		s += " " + while
	}
	return s + ": " + err.Error()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// redact removes the API key and the base URL's credentials from text
// that came from outside the client.
func (c *Client) redact(s string) string {
	s, _ = c.red.String(s)
	return s
}

// redactHeader replaces the secrets in h's values, in place, and returns
// how many it replaced.
func (c *Client) redactHeader(h http.Header) int {
	n := 0
	for _, vs := range h {
		for i, v := range vs {
			var k int
			vs[i], k = c.red.String(v)
			n += k
		}
	}
	return n
}

// redactURL removes any credentials from u.
func redactURL(u string) string { return redact.URL(u) }
