package collector

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// httpError is a failure with the status code to answer.
type httpError struct {
	code int
	msg  string
}

// readBody reads the request body, decompressing gzip, and never holds more
// than MaxBody decompressed bytes (plus the read buffer's slack): a larger
// body, or a small gzip stream that inflates past the limit, stops the read
// and answers 413. An encoding other than gzip or identity answers 415.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *httpError) {
	limit := s.opts.MaxBody
	gz, herr := gzipEncoded(r.Header.Values("Content-Encoding"))
	if herr != nil {
		return nil, herr
	}
	tooLarge := &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit)}
	if gz {
		tooLarge.msg += " after gzip decompression"
	} else if r.ContentLength > limit {
		return nil, tooLarge
	}
	// A gzip stream of incompressible data is slightly larger than its
	// content; allow for that in the compressed size.
	wire := limit
	if gz {
		wire = limit + limit/64 + 1024
	}
	body := newRateReader(w, r.Body, s.opts.MinBodyRate, s.opts.MinBodyRateGrace, s.opts.ReadTimeout)
	defer body.done()
	var src io.Reader = http.MaxBytesReader(w, body, wire)
	if gz {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, bodyReadError(err, tooLarge, "gzip header")
		}
		defer zr.Close()
		src = zr
	}
	buf := make([]byte, 0, initialBodyCap(r.ContentLength, gz, limit))
	buf, err := readUpTo(buf, src, int(limit)+1)
	if err != nil {
		if body.slow {
			w.Header().Set("Connection", "close")
			return nil, &httpError{http.StatusRequestTimeout, fmt.Sprintf(
				"body arrived slower than %d bytes/s after %v (%d bytes in %v): send it faster",
				s.opts.MinBodyRate, s.opts.MinBodyRateGrace, body.n, time.Since(body.start).Round(time.Millisecond))}
		}
		return nil, bodyReadError(err, tooLarge, "body")
	}
	if int64(len(buf)) > limit {
		return nil, tooLarge
	}
	return buf, nil
}

// gzipEncoded reads the Content-Encoding values: identity (or none) gives
// false, gzip alone true, anything else 415.
func gzipEncoded(values []string) (bool, *httpError) {
	gz := 0
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			switch strings.ToLower(strings.TrimSpace(c)) {
			case "", "identity":
			case "gzip", "x-gzip":
				gz++
			default:
				return false, &httpError{http.StatusUnsupportedMediaType, fmt.Sprintf(
					"unsupported Content-Encoding %q: send the body plain or gzip-compressed", strings.TrimSpace(c))}
			}
		}
	}
	if gz > 1 {
		return false, &httpError{http.StatusUnsupportedMediaType,
			"Content-Encoding names gzip more than once: compress the body once"}
	}
	return gz == 1, nil
}

// initialBodyCap sizes the first allocation: the declared length of a plain
// body, a modest guess for gzip (the stream decides), never above the limit.
func initialBodyCap(contentLength int64, gz bool, limit int64) int64 {
	const guess = 64 << 10
	n := contentLength
	if gz || n <= 0 {
		n = guess
	}
	return min(n, limit+1)
}

// readUpTo appends from r to buf until EOF or until buf holds limit bytes,
// at most doubling the buffer at each step.
func readUpTo(buf []byte, r io.Reader, limit int) ([]byte, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(cap(buf), 512), limit-len(buf)))
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// bodyReadError turns a read failure into the answer: 413 when the wire
// limit was hit, 400 naming what was wrong with the stream otherwise.
func bodyReadError(err error, tooLarge *httpError, what string) *httpError {
	var mbe *http.MaxBytesError
	var corrupt flate.CorruptInputError
	switch {
	case errors.As(err, &mbe):
		return tooLarge
	case errors.Is(err, io.EOF):
		return &httpError{http.StatusBadRequest, what + ": empty gzip stream"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &httpError{http.StatusBadRequest, what + ": truncated (the stream ended early)"}
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum), errors.As(err, &corrupt):
		return &httpError{http.StatusBadRequest, fmt.Sprintf("%s: not valid gzip: %v", what, err)}
	}
	return &httpError{http.StatusBadRequest, fmt.Sprintf("%s: reading failed: %v", what, err)}
}

// rateReader reads a request body under a minimum average rate: before
// each read it sets the connection's read deadline to the moment by which
// the bytes read so far, plus one, are due at rate bytes per second (never
// before grace has passed, never after the read timeout), so a body that
// trickles in fails its read instead of holding its slot until the
// server's ReadTimeout. Where the connection takes no deadline (a test
// recorder) it reads plainly. Deadlines are wall-clock times.
type rateReader struct {
	rc      *http.ResponseController
	r       io.ReadCloser
	rate    int64
	grace   time.Duration
	timeout time.Duration
	start   time.Time
	n       int64
	// slow is set when a read failed at the rate's deadline.
	slow bool
	// set is set once a deadline was put on the connection.
	set bool
}

func newRateReader(w http.ResponseWriter, r io.ReadCloser, rate int64, grace, timeout time.Duration) *rateReader {
	return &rateReader{rc: http.NewResponseController(w), r: r, rate: rate, grace: grace, timeout: timeout, start: time.Now()}
}

func (rr *rateReader) Read(p []byte) (int, error) {
	due := rr.start.Add(min(rr.timeout, max(rr.grace, time.Duration(float64(rr.n+1)/float64(rr.rate)*float64(time.Second)))))
	if rr.rc.SetReadDeadline(due) == nil {
		rr.set = true
	}
	n, err := rr.r.Read(p)
	rr.n += int64(n)
	if err != nil && rr.set && errors.Is(err, os.ErrDeadlineExceeded) {
		rr.slow = true
	}
	return n, err
}

func (rr *rateReader) Close() error { return rr.r.Close() }

// done lifts the deadline once the body is read: the server's background
// read of the idle connection must not time out, which would cancel the
// request's context while it is still served.
func (rr *rateReader) done() {
	if rr.set {
		_ = rr.rc.SetReadDeadline(time.Time{})
	}
}
