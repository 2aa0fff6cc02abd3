package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
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

// Remote is an api.Reader that asks a collector over HTTP: its read API
// (GET /v1/...) for queries and GET /v1/stream for Subscribe. It is safe
// for concurrent use. Errors keep the collector's message; the token never
// appears in them. Remote also implements ConnState.
type Remote struct {
	base  *url.URL
	token string
	opts  RemoteOptions
	hc    *http.Client
	own   *http.Transport // the transport Remote made, closed by Close; nil with opts.Client

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
	r := &Remote{base: u, token: token, opts: opts, hc: opts.Client}
	if r.hc == nil {
		r.own = http.DefaultTransport.(*http.Transport).Clone()
		r.hc = &http.Client{Transport: r.own}
	}
	r.conn.init(time.Now())
	return r, nil
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

// Unwrap lets errors.Is(err, store.ErrNotFound) work as in-process.
func (e *Error) Unwrap() error {
	if e.Code == CodeNotFound {
		return store.ErrNotFound
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

// newRequest builds a GET of the read API with the token.
func (r *Remote) newRequest(ctx context.Context, path string, q url.Values, accept string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.endpoint(path, q), nil)
	if err != nil {
		return nil, fmt.Errorf("collector %s: GET %s: %w", r.base, path, err)
	}
	req.Header.Set("Accept", accept)
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	return req, nil
}

// get asks for path with query q and decodes the JSON answer into out. It
// records the outcome in the connection state, unless ctx ended first.
func (r *Remote) get(ctx context.Context, path string, q url.Values, out any) error {
	rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := r.newRequest(rctx, path, q, "application/json")
	if err != nil {
		return err
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		err = r.transportError(path, err)
		if ctx.Err() == nil {
			r.conn.failed(err)
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := r.answerError(resp)
		r.conn.answered(e)
		return e
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err == nil && len(body) > maxAnswer {
		err = fmt.Errorf("answer larger than %d bytes", maxAnswer)
	}
	if err != nil {
		err = fmt.Errorf("collector %s: GET %s: read the answer: %w", r.base, path, err)
		if ctx.Err() == nil {
			r.conn.failed(err)
		}
		return err
	}
	r.conn.ok()
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("collector %s: GET %s: decode the answer: %w", r.base, path, err)
	}
	return nil
}

// transportError says that the collector could not be reached, without
// repeating the URL that *url.Error carries.
func (r *Remote) transportError(path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("collector %s: GET %s: no answer within %s", r.base, path, r.opts.Timeout)
	}
	return fmt.Errorf("collector %s unreachable: GET %s: %w", r.base, path, err)
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

// escapeSegment escapes s for one path segment, dots included, so that no
// ID can add, remove or reorder segments ("..", "a/b").
func escapeSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ".", "%2E")
}

// setTime sets the wire form of a time parameter; the zero time is absent.
func setTime(q url.Values, name string, t time.Time) {
	if !t.IsZero() {
		q.Set(name, t.UTC().Format(time.RFC3339Nano))
	}
}

func setThresholds(q url.Values, th decision.Thresholds) {
	q.Set("score", th.Score.String())
	q.Set("challenge", strconv.FormatFloat(th.Challenge, 'g', -1, 64))
	q.Set("deny", strconv.FormatFloat(th.Deny, 'g', -1, 64))
}

// Latest asks GET /v1/decisions/latest.
func (r *Remote) Latest(ctx context.Context, filter string, n int) ([]decision.Decision, error) {
	q := url.Values{"n": {strconv.Itoa(n)}}
	if filter != "" {
		q.Set("filter", filter)
	}
	var out []WireDecision
	if err := r.get(ctx, "/v1/decisions/latest", q, &out); err != nil {
		return nil, err
	}
	return fromWire(out), nil
}

// Decision asks GET /v1/decisions/{id}; an unknown ID gives an error
// wrapping store.ErrNotFound.
func (r *Remote) Decision(ctx context.Context, id string) (decision.Decision, error) {
	if id == "" {
		return decision.Decision{}, fmt.Errorf("decision %q: %w", id, store.ErrNotFound)
	}
	var out WireDecision
	if err := r.get(ctx, "/v1/decisions/"+escapeSegment(id), nil, &out); err != nil {
		return decision.Decision{}, err
	}
	return out.Decision(), nil
}

// Rates asks GET /v1/rates.
func (r *Remote) Rates(ctx context.Context, from, to time.Time) ([]decision.MinuteCounts, error) {
	q := url.Values{}
	setTime(q, "from", from)
	setTime(q, "to", to)
	var out []decision.MinuteCounts
	if err := r.get(ctx, "/v1/rates", q, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Stats asks GET /v1/stats.
func (r *Remote) Stats(ctx context.Context, sq StatsQuery) (decision.Totals, error) {
	q := url.Values{}
	setTime(q, "since", sq.Since)
	setTime(q, "until", sq.Until)
	if sq.Filter != "" {
		q.Set("filter", sq.Filter)
	}
	var out decision.Totals
	if err := r.get(ctx, "/v1/stats", q, &out); err != nil {
		return decision.Totals{}, err
	}
	return out, nil
}

// Health asks GET /v1/health.
func (r *Remote) Health(ctx context.Context) (Health, error) {
	var out Health
	if err := r.get(ctx, "/v1/health", nil, &out); err != nil {
		return Health{}, err
	}
	return out, nil
}

// Range asks GET /v1/decisions for one page.
func (r *Remote) Range(ctx context.Context, rq RangeQuery) (store.Page, error) {
	q := url.Values{}
	setTime(q, "from", rq.From)
	setTime(q, "to", rq.To)
	if rq.Reverse {
		q.Set("reverse", "true")
	}
	if rq.Limit != 0 {
		q.Set("limit", strconv.Itoa(rq.Limit))
	}
	if rq.Cursor != "" {
		q.Set("cursor", rq.Cursor)
	}
	if rq.Filter != "" {
		q.Set("filter", rq.Filter)
	}
	var out WirePage
	if err := r.get(ctx, "/v1/decisions", q, &out); err != nil {
		return store.Page{}, err
	}
	return store.Page{Decisions: fromWire(out.Decisions), Next: out.Next}, nil
}

// Journey asks GET /v1/users/{id}/journey. An empty user has no journey.
func (r *Remote) Journey(ctx context.Context, userID string, limit int) ([]decision.Decision, error) {
	if userID == "" {
		return nil, nil
	}
	var out []WireDecision
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if err := r.get(ctx, "/v1/users/"+escapeSegment(userID)+"/journey", q, &out); err != nil {
		return nil, err
	}
	return fromWire(out), nil
}

// Users asks GET /v1/users.
func (r *Remote) Users(ctx context.Context, uq store.UsersQuery) ([]decision.UserSummary, error) {
	sort, err := UserSortName(uq.Sort)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	q := url.Values{"sort": {sort}, "limit": {strconv.Itoa(uq.Limit)}}
	if uq.Search != "" {
		q.Set("search", uq.Search)
	}
	if uq.IP != "" {
		q.Set("ip", uq.IP)
	}
	var out []decision.UserSummary
	if err := r.get(ctx, "/v1/users", q, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Histogram asks GET /v1/histogram.
func (r *Remote) Histogram(ctx context.Context, s decision.Score, from, to time.Time) (decision.Histogram, error) {
	q := url.Values{"score": {s.String()}}
	setTime(q, "from", from)
	setTime(q, "to", to)
	var out decision.Histogram
	if err := r.get(ctx, "/v1/histogram", q, &out); err != nil {
		return decision.Histogram{}, err
	}
	return out, nil
}

// WhatIf asks GET /v1/whatif.
func (r *Remote) WhatIf(ctx context.Context, th decision.Thresholds, from, to time.Time) (decision.WhatIf, error) {
	q := url.Values{}
	setThresholds(q, th)
	setTime(q, "from", from)
	setTime(q, "to", to)
	var out decision.WhatIf
	if err := r.get(ctx, "/v1/whatif", q, &out); err != nil {
		return decision.WhatIf{}, err
	}
	return out, nil
}

// Flips asks GET /v1/flips.
func (r *Remote) Flips(ctx context.Context, th decision.Thresholds, from, to time.Time, limit int) ([]decision.Decision, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	setThresholds(q, th)
	setTime(q, "from", from)
	setTime(q, "to", to)
	var out []WireDecision
	if err := r.get(ctx, "/v1/flips", q, &out); err != nil {
		return nil, err
	}
	return fromWire(out), nil
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
