package emulator

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Defaults of the Options fields left zero.
const (
	DefaultRetryAfter   = time.Second
	DefaultTimeoutDelay = 30 * time.Second
	DefaultMaxBody      = 64 << 10
)

// Options configure an Emulator. The zero value is a fault-free emulator
// that checks no key.
type Options struct {
	// Key is the Authorization-API value every request must carry; empty
	// turns the check off.
	Key string
	// Seed makes the injected faults and the scores' noise repeatable.
	Seed int64
	// Latency delays every answer by a seeded draw between half and one and
	// a half times this.
	Latency time.Duration
	// ErrorRate, ThrottleRate and TimeoutRate are the fractions (0 to 1) of
	// valid requests answered with a 500, 502 or 503; a 429 with
	// Retry-After; and a stall. Rates are clamped to 0-1; if they add up to
	// more than 1, timeouts win first, then throttling, then errors.
	ErrorRate    float64
	ThrottleRate float64
	TimeoutRate  float64
	// RetryAfter is what a 429 asks the client to wait (whole seconds, at
	// least 1). Default DefaultRetryAfter.
	RetryAfter time.Duration
	// TimeoutDelay is how long a stalled request waits before answering
	// 504, unless the client gives up first. Default DefaultTimeoutDelay.
	TimeoutDelay time.Duration
	// Now is the clock for events without a timestamp. Default time.Now.
	Now func() time.Time
	// MaxBody is the largest accepted request body in bytes; larger ones
	// get 413. Default DefaultMaxBody.
	MaxBody int64
	// MaxEntries bounds each state table. Default DefaultMaxEntries.
	MaxEntries int
}

// Emulator is an offline Safe-e. It is an http.Handler serving
// POST /risk/{event} and POST /filter/{event}; mount it under a prefix with
// Handler. It is safe for concurrent use; for the same Seed, the same
// sequence of requests sent one at a time gets byte-identical answers.
type Emulator struct {
	opts      Options
	keyDigest [32]byte

	faultMu   sync.Mutex
	faultRand *rand.Rand

	// mu guards the state tables.
	mu      sync.Mutex
	users   *lru[uint64, userState]
	ips     *lru[netip.Addr, ipState]
	devices *lru[uint64, deviceState]

	statsMu  sync.Mutex
	requests uint64
	byStatus map[int]uint64
}

// New returns an Emulator with opts, zero fields set to their defaults.
func New(opts Options) *Emulator {
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if opts.TimeoutDelay <= 0 {
		opts.TimeoutDelay = DefaultTimeoutDelay
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	opts.ErrorRate = clampRate(opts.ErrorRate)
	opts.ThrottleRate = clampRate(opts.ThrottleRate)
	opts.TimeoutRate = clampRate(opts.TimeoutRate)
	return &Emulator{
		opts:      opts,
		keyDigest: sha256.Sum256([]byte(opts.Key)),
		faultRand: rand.New(rand.NewPCG(uint64(opts.Seed), 0x5afe_e000_fa17)),
		users:     newLRU[uint64, userState](opts.MaxEntries),
		ips:       newLRU[netip.Addr, ipState](opts.MaxEntries),
		devices:   newLRU[uint64, deviceState](opts.MaxEntries),
		byStatus:  make(map[int]uint64),
	}
}

// Handler returns the emulator mounted under prefix, so that with prefix
// "/api/v1" a client whose base URL is http://host/api/v1 reaches it. Paths
// outside the prefix get a 404. An empty prefix returns the emulator itself.
func (e *Emulator) Handler(prefix string) http.Handler {
	prefix = "/" + strings.Trim(prefix, "/")
	if prefix == "/" {
		return e
	}
	return http.StripPrefix(prefix, e)
}

// ServeHTTP answers one Safe-e request. In order: 404 for another path, 405
// for another method, 401 without the key, 413 over MaxBody, 400 for a body
// that is not a JSON object, 422 for an object that is not an event of the
// route's type; then an injected fault, if one is drawn; else 200 with the
// scores. Refused requests and faults leave the state untouched.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.countRequest()
	route, name, ok := splitPath(r.URL.Path)
	if !ok {
		e.fail(w, http.StatusNotFound, "not_found", "no such route: want POST /risk/{event} or POST /filter/{event}")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		e.fail(w, http.StatusMethodNotAllowed, "method_not_allowed", "only POST is allowed")
		return
	}
	if !e.authorized(r.Header.Get("Authorization-API")) {
		e.fail(w, http.StatusUnauthorized, "unauthorized", "missing or wrong Authorization-API key")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.opts.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			e.fail(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("body over %d bytes", e.opts.MaxBody))
			return
		}
		e.fail(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("read body: %v", err))
		return
	}
	ev, rerr := parseEvent(route, name, body, e.opts.Now)
	if rerr != nil {
		code := "bad_request"
		if rerr.status == http.StatusUnprocessableEntity {
			code = "invalid_event"
		}
		e.fail(w, rerr.status, code, rerr.message)
		return
	}

	f := e.drawFault()
	if !sleep(r.Context(), f.latency) {
		e.record(StatusClientGone)
		return
	}
	if e.injectFault(w, r, f) {
		return
	}

	noise := requestNoise(e.opts.Seed, route, body)
	e.mu.Lock()
	v := e.assess(&ev, noise)
	e.mu.Unlock()
	e.reply(w, http.StatusOK, answer(v))
}

// splitPath reads /{route}/{event}.
func splitPath(path string) (route, name string, ok bool) {
	rest, rooted := strings.CutPrefix(path, "/")
	route, name, ok = strings.Cut(rest, "/")
	if !rooted || !ok || (route != routeRisk && route != routeFilter) || !validEventName(name) {
		return "", "", false
	}
	return route, name, true
}

// authorized compares digests in constant time, so neither the key's
// content nor its length leaks through timing.
func (e *Emulator) authorized(key string) bool {
	if e.opts.Key == "" {
		return true
	}
	got := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(got[:], e.keyDigest[:]) == 1
}

// sleep waits d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func clampRate(r float64) float64 {
	if !(r > 0) {
		return 0
	}
	return min(r, 1)
}
