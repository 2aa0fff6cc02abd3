package collector

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// The read API serves every api.Reader method as GET /v1/... with JSON
// answers in the wire format of package api (api.WireDecision and friends),
// which api.Remote reads. Parameters are validated here, with a 400 that
// names the parameter; a Reader error is a 404 (api.CodeNotFound) for an
// unknown decision, a 503 when the store is closing or the query ran out of
// time, and a 500 otherwise, each with the Reader's message.

// maxList caps the decisions or users one answer carries. A Range page is
// capped too and says where to go on; Latest, Journey, Flips and Users
// answer at most this many (the dashboard asks for far fewer).
const maxList = 10_000

// badRequest is a parameter error: a 400 with its message.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badParam(format string, args ...any) error {
	return &badRequest{msg: fmt.Sprintf(format, args...)}
}

// params reads a read route's query: every parameter at most once, none the
// route does not take. Getters keep the first error, which err returns.
type params struct {
	v   url.Values
	now time.Time
	err error
}

func readParams(r *http.Request, now time.Time, allowed []string) (*params, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badParam("bad query string: %v", err)
	}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			takes := "no parameters"
			if len(allowed) > 0 {
				takes = strings.Join(allowed, ", ")
			}
			return nil, badParam("unknown parameter %q (%s takes %s)", name, r.URL.Path, takes)
		}
		if n := len(v[name]); n > 1 {
			return nil, badParam("parameter %q given %d times", name, n)
		}
	}
	return &params{v: v, now: now}, nil
}

func (p *params) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *params) str(name string) string { return p.v.Get(name) }

// time reads an RFC 3339 time; absent is the zero time (unbounded).
func (p *params) time(name string) time.Time {
	s := p.v.Get(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		p.fail(badParam("%s: want an RFC 3339 time such as 2026-11-25T10:00:00Z, got %q", name, s))
	}
	return t
}

// count reads a whole number, def when absent.
func (p *params) count(name string, def int) int {
	s := p.v.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		p.fail(badParam("%s: want a whole number, got %q", name, s))
	}
	return n
}

// limit reads a list size and caps it at maxList; absent, zero or negative
// mean "as many as allowed" when all is true, else they pass through.
func (p *params) limit(name string, all bool) int {
	n := p.count(name, 0)
	if n > maxList || (all && n <= 0) {
		return maxList
	}
	return n
}

func (p *params) boolean(name string) bool {
	s := p.v.Get(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.fail(badParam("%s: want true or false, got %q", name, s))
	}
	return b
}

// filter checks the filter expression and returns its text: the Reader
// parses it again, with the same clock.
func (p *params) filter() string {
	s := p.v.Get("filter")
	if s != "" {
		if _, err := decision.ParseFilter(s, p.now); err != nil {
			p.fail(badParam("filter: %v", err))
		}
	}
	return s
}

func (p *params) score() decision.Score {
	s := p.v.Get("score")
	if s == "" {
		p.fail(badParam("score: required (risk, ato, bot or abuse)"))
		return 0
	}
	sc, err := decision.ParseScore(s)
	if err != nil {
		p.fail(badParam("score: %v", err))
	}
	return sc
}

// thresholds reads challenge= and deny=, both required and finite.
func (p *params) thresholds() decision.Thresholds {
	read := func(name string) float64 {
		s := p.v.Get(name)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			p.fail(badParam("%s: want a score threshold such as 70, got %q", name, s))
		}
		return v
	}
	return decision.Thresholds{Score: p.score(), Challenge: read("challenge"), Deny: read("deny")}
}

// decisionID reads a decision ID parameter (a cursor, a resume position).
func (p *params) decisionID(name string) string { return p.checkID(name, p.v.Get(name)) }

// checkID returns s, failing unless it is empty or a decision ID; name
// says where s came from.
func (p *params) checkID(name, s string) string {
	if s != "" && !isDecisionID(s) {
		p.fail(badParam("%s: want a decision ID (32 hex digits), got %q", name, s))
	}
	return s
}

// isDecisionID reports whether s has the form of a decision ID.
func isDecisionID(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// readFunc answers one read route from its parameters (and path values).
type readFunc func(ctx context.Context, p *params, r *http.Request) (any, error)

// readHandler serves one read route: it reads the parameters named in
// allowed and runs fn with a context bounded by the write timeout, then
// answers fn's value as JSON or its error.
func (s *Server) readHandler(allowed []string, fn readFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := readParams(r, s.opts.Now(), allowed)
		if err != nil {
			s.readError(w, r, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.WriteTimeout)
		defer cancel()
		v, err := fn(ctx, p, r)
		if err != nil {
			s.readError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// readError answers err with its status.
func (s *Server) readError(w http.ResponseWriter, r *http.Request, err error) {
	var bad *badRequest
	switch {
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, bad.msg)
	case errors.Is(err, store.ErrBadCursor):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, api.WireError{Error: err.Error(), Code: api.CodeNotFound})
	case errors.Is(err, store.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%s: the query took longer than %s", r.URL.Path, s.opts.WriteTimeout))
	default:
		if r.Context().Err() == nil {
			s.log.Error("collector server: read query failed", "path", r.URL.Path, "err", err)
		}
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// Read route handlers, one per api.Reader method. Each reads its
// parameters, stops at the first bad one, then asks the Reader.

func (s *Server) getLatest(ctx context.Context, p *params, _ *http.Request) (any, error) {
	filter, n := p.filter(), p.count("n", 100)
	if p.err != nil {
		return nil, p.err
	}
	ds, err := s.opts.Reader.Latest(ctx, filter, min(n, maxList))
	return api.WireDecisions(ds), err
}

func (s *Server) getDecision(ctx context.Context, _ *params, r *http.Request) (any, error) {
	d, err := s.opts.Reader.Decision(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return api.ToWire(d), nil
}

func (s *Server) getRange(ctx context.Context, p *params, _ *http.Request) (any, error) {
	q := api.RangeQuery{From: p.time("from"), To: p.time("to"), Reverse: p.boolean("reverse"),
		Limit: p.limit("limit", false), Cursor: p.str("cursor"), Filter: p.filter()}
	if p.err != nil {
		return nil, p.err
	}
	page, err := s.opts.Reader.Range(ctx, q)
	if err != nil {
		return nil, err
	}
	return api.WirePage{Decisions: api.WireDecisions(page.Decisions), Next: page.Next}, nil
}

func (s *Server) getJourney(ctx context.Context, p *params, r *http.Request) (any, error) {
	limit := p.limit("limit", true)
	if p.err != nil {
		return nil, p.err
	}
	ds, err := s.opts.Reader.Journey(ctx, r.PathValue("id"), limit)
	return api.WireDecisions(ds), err
}

func (s *Server) getUsers(ctx context.Context, p *params, _ *http.Request) (any, error) {
	q := store.UsersQuery{Search: p.str("search"), IP: p.str("ip"), Limit: p.limit("limit", true)}
	if name := p.str("sort"); name != "" {
		sort, err := api.ParseUserSort(name)
		if err != nil {
			p.fail(badParam("sort: %v", err))
		}
		q.Sort = sort
	}
	if p.err != nil {
		return nil, p.err
	}
	return s.opts.Reader.Users(ctx, q)
}

func (s *Server) getRates(ctx context.Context, p *params, _ *http.Request) (any, error) {
	from, to := p.time("from"), p.time("to")
	if p.err != nil {
		return nil, p.err
	}
	return s.opts.Reader.Rates(ctx, from, to)
}

func (s *Server) getStats(ctx context.Context, p *params, _ *http.Request) (any, error) {
	q := api.StatsQuery{Since: p.time("since"), Until: p.time("until"), Filter: p.filter()}
	if p.err != nil {
		return nil, p.err
	}
	return s.opts.Reader.Stats(ctx, q)
}

func (s *Server) getHistogram(ctx context.Context, p *params, _ *http.Request) (any, error) {
	sc, from, to := p.score(), p.time("from"), p.time("to")
	if p.err != nil {
		return nil, p.err
	}
	return s.opts.Reader.Histogram(ctx, sc, from, to)
}

func (s *Server) getWhatIf(ctx context.Context, p *params, _ *http.Request) (any, error) {
	th, from, to := p.thresholds(), p.time("from"), p.time("to")
	if p.err != nil {
		return nil, p.err
	}
	return s.opts.Reader.WhatIf(ctx, th, from, to)
}

func (s *Server) getFlips(ctx context.Context, p *params, _ *http.Request) (any, error) {
	th, from, to, limit := p.thresholds(), p.time("from"), p.time("to"), p.limit("limit", false)
	if p.err != nil {
		return nil, p.err
	}
	ds, err := s.opts.Reader.Flips(ctx, th, from, to, limit)
	return api.WireDecisions(ds), err
}

func (s *Server) getHealth(ctx context.Context, _ *params, _ *http.Request) (any, error) {
	return s.opts.Reader.Health(ctx)
}
