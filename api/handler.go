package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults for HandlerOptions.
const (
	DefaultQueryTimeout    = 60 * time.Second
	DefaultMaxWriteBody    = 1 << 20
	DefaultStreamHeartbeat = 15 * time.Second
	DefaultStreamBacklog   = 100_000
)

// HandlerOptions tune the handler. Zero values take the defaults above.
type HandlerOptions struct {
	// Guard guards every route: the token, the method check, the count.
	Guard Guard
	// QueryTimeout bounds each query, and each write of a stream.
	QueryTimeout time.Duration
	// MaxWriteBody bounds the JSON body of a write (413 over it).
	MaxWriteBody int64
	// StreamHeartbeat is the interval of the comments that keep an idle
	// stream alive and let a client notice a dead one.
	StreamHeartbeat time.Duration
	// StreamBacklog bounds the stored decisions one stream request replays
	// before it is live; a client further behind gets that many, then the
	// stream ends and it resumes with a new request.
	StreamBacklog int
	// Shutdown, when closed, ends every stream (a graceful shutdown would
	// otherwise wait for them).
	Shutdown <-chan struct{}
	// Logger receives failed queries. Default: slog.Default().
	Logger *slog.Logger
}

func (o *HandlerOptions) withDefaults() {
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.MaxWriteBody <= 0 {
		o.MaxWriteBody = DefaultMaxWriteBody
	}
	if o.StreamHeartbeat <= 0 {
		o.StreamHeartbeat = DefaultStreamHeartbeat
	}
	if o.StreamBacklog <= 0 {
		o.StreamBacklog = DefaultStreamBacklog
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Register adds every route of the contract (Routes) to mux, served from b
// and guarded by o.Guard, and returns them as "GET /v1/decisions" and so
// on, in order. Patterns carry no method, so that a wrong method gets the
// guard's JSON 405 rather than the mux's plain text.
//
// Every query answers 200 with the JSON of its result, or a WireError: 400
// (ErrInvalid: a bad, unknown or repeated parameter, a bad filter), 404
// with CodeNotFound (ErrNotFound), 503 (ErrUnavailable, or the query ran
// out of QueryTimeout), 500 otherwise, each with the error's text.
func Register(mux *http.ServeMux, b Backend, o HandlerOptions) []string {
	return register(mux, table, b, o)
}

// Handler serves every route of the contract from b, and a JSON 404 for
// any other path.
func Handler(b Backend, o HandlerOptions) http.Handler {
	mux := http.NewServeMux()
	served := Register(mux, b, o)
	mux.Handle("/", o.Guard.Route("other", nil, NotFoundHandler(strings.Join(served, ", "))))
	return mux
}

// NotFoundHandler answers every request with a JSON 404 saying what is
// served instead.
func NotFoundHandler(served string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s: the collector serves %s", r.Method, r.URL.Path, served))
	})
}

// register serves routes (and the stream) from backend, which must
// implement each route's interface.
func register(mux *http.ServeMux, routes []route, backend Backend, o HandlerOptions) []string {
	o.withDefaults()
	var served []string
	// Ops may share a path with different methods (GET and POST
	// /v1/labels): one guarded handler per path picks the op by method.
	byPath := map[string]map[string]http.Handler{}
	var paths []string
	names := map[string]string{}
	for _, rt := range routes {
		in := rt.info()
		if byPath[in.Path] == nil {
			byPath[in.Path] = map[string]http.Handler{}
			paths = append(paths, in.Path)
			names[in.Path] = in.Route
		}
		byPath[in.Path][in.Method] = rt.handler(backend, &o)
		served = append(served, in.Method+" "+in.Path)
	}
	for _, path := range paths {
		hs := byPath[path]
		methods := slices.Sorted(maps.Keys(hs))
		mux.Handle(path, o.Guard.Route(names[path], methods, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hs[r.Method].ServeHTTP(w, r)
		})))
	}
	st := &streamServer{b: backend, o: o, pages: make(chan struct{}, max(4, 2*runtime.GOMAXPROCS(0)))}
	mux.Handle(streamInfo.Path, o.Guard.Route(streamInfo.Route, []string{streamInfo.Method}, st))
	return append(served, streamInfo.Method+" "+streamInfo.Path)
}

// handler serves o from backend: it reads the query, bounds it, asks with
// a context bounded by QueryTimeout, and answers the result or the error.
func (o *op[B, Q, R]) handler(backend any, opts *HandlerOptions) http.Handler {
	b, ok := backend.(B)
	if !ok {
		panic(fmt.Sprintf("api: %T cannot serve %s %s: it does not implement %s", backend, o.method, o.path, reflect.TypeFor[B]()))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q Q
		if err := o.read(w, r, &q, max(opts.MaxWriteBody, o.maxBody)); err != nil {
			opts.answerError(w, r, err)
			return
		}
		if o.bound != nil {
			o.bound(&q)
		}
		ctx, cancel := context.WithTimeout(r.Context(), opts.QueryTimeout)
		defer cancel()
		res, err := o.call(b, ctx, q)
		if err != nil {
			opts.answerError(w, r, err)
			return
		}
		writeAnswer(w, r, o.wire.enc(res))
	})
}

// gzipAbove is the size from which an answer is compressed for a client
// that accepts gzip: below it the header costs more than it saves.
const gzipAbove = 8 << 10

// writeAnswer writes v as WriteJSON does, gzipped (fastest level) when it
// is large and the request accepts gzip: a journey or a page of decisions
// is mostly repeated keys and shrinks about tenfold.
func writeAnswer(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil || len(b) < gzipAbove || !acceptsGzip(r) {
		writeJSON(w, http.StatusOK, b, err)
		return
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_, _ = zw.Write([]byte{'\n'})
	if err := zw.Close(); err != nil {
		writeJSON(w, http.StatusOK, b, nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Encoding", "gzip")
	h.Add("Vary", "Accept-Encoding")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// acceptsGzip reports whether r's Accept-Encoding takes gzip (with a
// non-zero quality).
func acceptsGzip(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(h, ",") {
			params := strings.Split(part, ";")
			if !strings.EqualFold(strings.TrimSpace(params[0]), "gzip") {
				continue
			}
			for _, p := range params[1:] {
				if q, ok := strings.CutPrefix(strings.ReplaceAll(p, " ", ""), "q="); ok {
					f, err := strconv.ParseFloat(q, 64)
					return err == nil && f > 0
				}
			}
			return true
		}
	}
	return false
}

// read reads q from r: a GET's query parameters, a POST's JSON body (no
// parameters then), and the path values either way.
func (o *op[B, Q, R]) read(w http.ResponseWriter, r *http.Request, q *Q, maxBody int64) error {
	v := reflect.ValueOf(q).Elem()
	if o.method == http.MethodGet {
		return o.codec.decode(r, v)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &statusError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body larger than %d bytes", maxBody)}
	case err != nil:
		return Invalid(fmt.Errorf("body: reading failed: %v", err))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(q); err != nil {
		return Invalid(fmt.Errorf("body: %v", err))
	}
	if dec.More() {
		return Invalid(errors.New("body: more than one JSON value"))
	}
	// The body's fields are set; a path value or parameter the op does not
	// take is refused as for a GET.
	return o.codec.decode(r, v)
}

// statusError is a failure with its own status code.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// answerError answers err with its status (see Register).
func (o *HandlerOptions) answerError(w http.ResponseWriter, r *http.Request, err error) {
	var se *statusError
	switch {
	case errors.As(err, &se):
		WriteError(w, se.code, se.msg)
	case errors.Is(err, ErrInvalid):
		WriteError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNotFound):
		WriteJSON(w, http.StatusNotFound, WireError{Error: err.Error(), Code: CodeNotFound})
	case errors.Is(err, ErrUnavailable):
		WriteError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		WriteError(w, http.StatusServiceUnavailable, fmt.Sprintf("%s: the query took longer than %s", r.URL.Path, o.QueryTimeout))
	default:
		if r.Context().Err() == nil {
			o.Logger.Error("collector server: query failed", "path", r.URL.Path, "err", err)
		}
		WriteError(w, http.StatusInternalServerError, err.Error())
	}
}
