package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook POSTs each notification's Payload to a URL, one at a time in
// the order they were queued. An attempt that gets no answer within
// AttemptTimeout, a connection error, or a 408, 425, 429 or 5xx answer is
// retried with full-jitter backoff (honouring Retry-After) for RetryFor;
// any other answer outside 2xx fails it at once, and so does a redirect,
// which is not followed (a 302 would turn the POST into a GET).
type Webhook struct {
	*worker
	url     string
	client  *http.Client
	timeout time.Duration
}

// NewWebhook starts a webhook notifier for rawURL (http or https). Its
// Health and errors show the URL's scheme and host only.
func NewWebhook(rawURL string, opt NotifyOptions) (*Webhook, error) {
	t := Target{Kind: TargetWebhook, Addr: rawURL}
	if err := t.validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	wh := &Webhook{
		url: rawURL, timeout: opt.AttemptTimeout,
		client: &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	wh.worker = startWorker(t.Redacted(), wh.post, true, opt)
	return wh, nil
}

// Close implements Notifier.Close and closes idle connections.
func (wh *Webhook) Close(ctx context.Context) error {
	err := wh.worker.Close(ctx)
	wh.client.CloseIdleConnections()
	return err
}

// maxAnswer bounds how much of an answer is read (to reuse the connection).
const maxAnswer = 64 << 10

// post makes one attempt.
func (wh *Webhook) post(parent context.Context, it item) error {
	ctx, cancel := context.WithTimeout(parent, wh.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.url, bytes.NewReader(it.body))
	if err != nil {
		return permanentError{errors.New("cannot build the request")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "riskwatch-alert")
	resp, err := wh.client.Do(req)
	if err != nil {
		switch {
		case parent.Err() != nil:
			return fmt.Errorf("abandoned at close: %w", parent.Err())
		case ctx.Err() != nil:
			return fmt.Errorf("no answer within %s", wh.timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL
		}
		return fmt.Errorf("POST: %w", err)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxAnswer)
	_ = resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
		err := fmt.Errorf("HTTP %d", code)
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return retryAfterError{err, time.Duration(s) * time.Second}
		}
		return err
	case code >= 300 && code < 400:
		return permanentError{fmt.Errorf("HTTP %d: redirects are not followed", code)}
	}
	return permanentError{fmt.Errorf("HTTP %d", code)}
}
