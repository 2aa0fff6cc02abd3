package emulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pacer releases events at a steady rate: a ticker wakes it, and each wake
// releases the events the elapsed time has earned, so a rate above the
// tick frequency goes out in small batches instead of one timer per event.
type pacer struct {
	rate   float64
	ticker *time.Ticker
	last   time.Time
	credit float64
}

// newPacer paces rate events a second, waking at most every minTick.
// The first event is due at once.
func newPacer(rate float64, minTick time.Duration) *pacer {
	tick := max(minTick, time.Duration(float64(time.Second)/rate))
	return &pacer{rate: rate, ticker: time.NewTicker(tick), last: time.Now(), credit: 1}
}

func (p *pacer) stop() { p.ticker.Stop() }

// due waits until at least one event is due and returns how many are, or
// returns ctx's error when it ends first. A stall (a slow writer) is not
// made up with a flood: the credit is capped at one second's worth.
func (p *pacer) due(ctx context.Context) (int, error) {
	for p.credit < 1 {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case now := <-p.ticker.C:
			p.credit = min(p.credit+p.rate*now.Sub(p.last).Seconds(), max(1, p.rate))
			p.last = now
		}
	}
	n := int(p.credit)
	p.credit -= float64(n)
	return n, nil
}

// Generate writes count events of g to w as NDJSON, rate events a second
// (0: as fast as w takes them); count 0 or less means until g ends (the
// end of a span) or ctx does. It returns how many lines it wrote and, if it
// stopped early, why: ctx's error when ctx ended first, or the write
// error. Paced output is flushed after every batch, so a tailer sees it at
// once.
func Generate(ctx context.Context, w io.Writer, g *Generator, count int, rate float64) (int, error) {
	if err := checkRate(rate); err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	written, ended := 0, false
	more := func() bool { return !ended && (count <= 0 || written < count) }
	writeN := func(n int) error {
		for ; n > 0 && more(); n-- {
			line := g.Next()
			if line == nil {
				ended = true
				break
			}
			bw.Write(line)
			if err := bw.WriteByte('\n'); err != nil {
				return fmt.Errorf("write events: %w", err)
			}
			written++
		}
		return nil
	}
	finish := func(err error) (int, error) {
		if ferr := bw.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write events: %w", ferr)
		}
		return written, err
	}

	if rate <= 0 {
		for more() {
			if err := ctx.Err(); err != nil {
				return finish(err)
			}
			if err := writeN(1024); err != nil {
				return finish(err)
			}
		}
		return finish(nil)
	}
	p := newPacer(rate, 10*time.Millisecond)
	defer p.stop()
	for more() {
		n, err := p.due(ctx)
		if err != nil {
			return finish(err)
		}
		if err := writeN(n); err != nil {
			return finish(err)
		}
		if err := bw.Flush(); err != nil {
			return written, fmt.Errorf("write events: %w", err)
		}
	}
	return finish(nil)
}

// checkRate refuses a rate the pacer cannot honour.
func checkRate(rate float64) error {
	if math.IsNaN(rate) || math.IsInf(rate, 0) {
		return fmt.Errorf("rate %v: want events a second, or 0 for as fast as possible", rate)
	}
	return nil
}

// DefaultPostBatch is the batch size Post uses when given 0 or less.
const DefaultPostBatch = 100

// maxRetryAfter caps how long a 429 from the collector makes Post wait.
const maxRetryAfter = time.Minute

// Post sends count events of g (count 0 or less: until g ends or ctx
// does) to a collector's POST /v1/events as NDJSON batches of up to batch
// events, rate events a second (0: as fast as the collector takes them).
// target is the collector's base URL (http://127.0.0.1:7676) or the full
// events URL. A non-empty token is sent as a bearer token. A 429 makes Post
// wait what Retry-After asks (capped at a minute) and send the batch again;
// any other answer but 202, or a 202 that rejects events, is an error
// naming the status and the collector's message. client nil means a client
// with a 30 s timeout. It returns how many events the collector accepted.
func Post(ctx context.Context, client *http.Client, target, token string, g *Generator, count int, rate float64, batch int) (int, error) {
	if err := checkRate(rate); err != nil {
		return 0, err
	}
	s, err := newSender(client, target, token)
	if err != nil {
		return 0, err
	}
	if batch <= 0 {
		batch = DefaultPostBatch
	}
	made, ended := 0, false
	more := func() bool { return !ended && (count <= 0 || made < count) }
	// send posts n more events in batches.
	send := func(n int) error {
		for n > 0 && more() {
			k := 0
			s.buf.Reset()
			for ; k < min(n, batch) && more(); k++ {
				line := g.Next()
				if line == nil {
					ended = true
					break
				}
				s.buf.Write(line)
				s.buf.WriteByte('\n')
				made++
			}
			n -= k
			if k == 0 {
				return nil
			}
			if err := s.post(ctx, k); err != nil {
				return err
			}
		}
		return nil
	}

	if rate <= 0 {
		for more() {
			if err := ctx.Err(); err != nil {
				return s.accepted, err
			}
			if err := send(batch); err != nil {
				return s.accepted, err
			}
		}
		return s.accepted, nil
	}
	p := newPacer(rate, 100*time.Millisecond)
	defer p.stop()
	for more() {
		n, err := p.due(ctx)
		if err != nil {
			return s.accepted, err
		}
		if err := send(n); err != nil {
			return s.accepted, err
		}
	}
	return s.accepted, nil
}

// PostFunc hands a batch of events (JSON objects, without newlines) to
// where they go; it must not keep lines after it returns.
type PostFunc func(ctx context.Context, lines [][]byte) error

// Poster returns a PostFunc that sends each batch to a collector's
// POST /v1/events as one NDJSON request, as Post does: a 429 waits what
// Retry-After asks and sends again; any other answer but a 202 that
// accepts every event is an error. target, token and client are as for
// Post. The PostFunc is not safe for concurrent use.
func Poster(client *http.Client, target, token string) (PostFunc, error) {
	s, err := newSender(client, target, token)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, lines [][]byte) error {
		s.buf.Reset()
		for _, l := range lines {
			s.buf.Write(l)
			s.buf.WriteByte('\n')
		}
		return s.post(ctx, len(lines))
	}, nil
}

// eventsURL turns a collector base URL into its events URL.
func eventsURL(target string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("collector URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("collector URL %q: want http://host:port or https://host:port", u.Redacted())
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/events"
	}
	return u.String(), nil
}

// sender posts batches to one collector.
type sender struct {
	client   *http.Client
	endpoint string
	token    string
	buf      bytes.Buffer
	accepted int
}

// ingestAnswer is the part of the collector's 202 body Post reads.
type ingestAnswer struct {
	Accepted *int `json:"accepted"`
	Rejected []struct {
		Index int    `json:"index"`
		Error string `json:"error"`
	} `json:"rejected"`
}

// newSender checks target and defaults client to one with a 30 s timeout.
func newSender(client *http.Client, target, token string) (*sender, error) {
	endpoint, err := eventsURL(target)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &sender{client: client, endpoint: endpoint, token: token}, nil
}

// post sends the n events in s.buf until the collector takes them.
func (s *sender) post(ctx context.Context, n int) error {
	where := redact(s.endpoint)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(s.buf.Bytes()))
		if err != nil {
			return fmt.Errorf("post events to %s: %w", where, err)
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		if s.token != "" {
			req.Header.Set("Authorization", "Bearer "+s.token)
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return fmt.Errorf("post %d events to %s: %w", n, where, err)
		}
		body, readErr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()

		switch resp.StatusCode {
		case http.StatusAccepted:
			if readErr != nil {
				return fmt.Errorf("post events to %s: read answer: %w", where, readErr)
			}
			var a ingestAnswer
			if json.Unmarshal(body, &a) != nil || a.Accepted == nil {
				s.accepted += n
				return nil
			}
			s.accepted += *a.Accepted
			if len(a.Rejected) > 0 {
				r := a.Rejected[0]
				return fmt.Errorf("post events to %s: collector rejected %d of %d events (event %d: %s)",
					where, len(a.Rejected), n, r.Index, clip(r.Error))
			}
			return nil
		case http.StatusTooManyRequests:
			if !sleep(ctx, retryAfter(resp.Header.Get("Retry-After"), time.Now())) {
				return fmt.Errorf("post events to %s: waiting after 429: %w", where, ctx.Err())
			}
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("post events to %s: collector refused the ingest token (%s): %s", where, resp.Status, snippet(body))
		default:
			return fmt.Errorf("post events to %s: collector answered %s: %s", where, resp.Status, snippet(body))
		}
	}
}

// retryAfter reads a Retry-After value (seconds or an HTTP date) into a wait
// between 100 ms and maxRetryAfter; without a usable value it is a second.
func retryAfter(v string, now time.Time) time.Duration {
	d := time.Second
	if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		d = time.Duration(min(max(secs, 0), int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 100*time.Millisecond), maxRetryAfter)
}

// snippet is the start of an error body, on one line.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if s == "" {
		return "(empty body)"
	}
	return truncate(s, 200)
}

// redact hides any password in a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "collector"
	}
	return u.Redacted()
}
