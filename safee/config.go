package safee

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/internal/redact"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultBaseURL          = "https://api.safe-e.com/api/v1"
	DefaultTimeout          = 2 * time.Second
	DefaultConcurrency      = 16
	DefaultRiskRoute        = "/risk/{event}"
	DefaultFilterRoute      = "/filter/{event}"
	DefaultMaxAttempts      = 3
	DefaultBaseBackoff      = 100 * time.Millisecond
	DefaultMaxBackoff       = 5 * time.Second
	DefaultMaxRetryAfter    = 30 * time.Second
	DefaultMaxResponseBytes = 1 << 20
)

// Config configures a Client. Zero fields take the defaults above. Printing a
// Config with any fmt verb, or encoding it as JSON, never shows the API key;
// only an unexported field of another struct printed with %v escapes this,
// so keep a Config in exported fields or behind a pointer.
type Config struct {
	// BaseURL is Safe-e's API root; routes are appended to it.
	BaseURL string
	// APIKey is sent as the Authorization-API header. Required; surrounding
	// white space is removed.
	APIKey string `json:"-"`
	// Timeout bounds each attempt, from sending the request to reading the
	// whole response.
	Timeout time.Duration
	// Concurrency bounds the requests in flight at once.
	Concurrency int
	// RateLimit caps requests per second, retries included; 0 means no limit.
	RateLimit float64
	// RiskRoute and FilterRoute are the paths, relative to BaseURL, of the
	// two routes; "{event}" is replaced by the event name.
	RiskRoute   string
	FilterRoute string
	// MaxAttempts bounds the requests Score makes for one event.
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the full-jitter backoff: before retry
	// n (0-based) Score waits a random time in [0, min(MaxBackoff,
	// BaseBackoff·2ⁿ)].
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// MaxRetryAfter caps how long a Retry-After header can make Score wait.
	MaxRetryAfter time.Duration
	// MaxResponseBytes bounds a response body; a larger one is an error.
	MaxResponseBytes int64

	// HTTPClient, if set, sends the requests instead of the client New builds
	// (a transport sized for Concurrency that never follows redirects, so the
	// key is not sent to another host). Its Timeout should be 0: attempts are
	// bounded by Timeout through the request context.
	HTTPClient *http.Client `json:"-"`
	// Jitter returns a random duration in [0, ceiling]; nil uses backoff.Jitter.
	Jitter func(ceiling time.Duration) time.Duration `json:"-"`
	// Sleep waits d or until ctx ends, returning ctx.Err() then; nil uses backoff.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error `json:"-"`
}

// withDefaults returns c with defaults applied and checked.
func (c Config) withDefaults() (Config, error) {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return c, fmt.Errorf("safee: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("safee: base URL %q: want http(s)://host[/path]", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return c, fmt.Errorf("safee: base URL %q: must not have a query or fragment", u.Redacted())
	}
	c.APIKey = strings.TrimSpace(c.APIKey)
	if c.APIKey == "" {
		return c, errors.New("safee: the API key is empty")
	}
	for _, r := range c.APIKey {
		if r < 0x21 || r > 0x7e {
			return c, errors.New("safee: the API key contains a space, a control or a non-ASCII character")
		}
	}
	if c.RiskRoute == "" {
		c.RiskRoute = DefaultRiskRoute
	}
	if c.FilterRoute == "" {
		c.FilterRoute = DefaultFilterRoute
	}
	for _, r := range []string{c.RiskRoute, c.FilterRoute} {
		if !strings.HasPrefix(r, "/") || strings.ContainsAny(r, "?# \t\r\n") {
			return c, fmt.Errorf("safee: route %q: want a path starting with / and without a query", r)
		}
	}
	type positive struct {
		name string
		d    *time.Duration
		def  time.Duration
	}
	for _, p := range []positive{
		{"timeout", &c.Timeout, DefaultTimeout},
		{"base backoff", &c.BaseBackoff, DefaultBaseBackoff},
		{"max backoff", &c.MaxBackoff, DefaultMaxBackoff},
		{"max Retry-After", &c.MaxRetryAfter, DefaultMaxRetryAfter},
	} {
		if *p.d < 0 {
			return c, fmt.Errorf("safee: %s %v is negative", p.name, *p.d)
		}
		if *p.d == 0 {
			*p.d = p.def
		}
	}
	if c.MaxBackoff < c.BaseBackoff {
		return c, fmt.Errorf("safee: max backoff %v is below base backoff %v", c.MaxBackoff, c.BaseBackoff)
	}
	switch {
	case c.Concurrency < 0:
		return c, fmt.Errorf("safee: concurrency %d is negative", c.Concurrency)
	case c.Concurrency == 0:
		c.Concurrency = DefaultConcurrency
	}
	switch {
	case c.MaxAttempts < 0:
		return c, fmt.Errorf("safee: max attempts %d is negative", c.MaxAttempts)
	case c.MaxAttempts == 0:
		c.MaxAttempts = DefaultMaxAttempts
	}
	switch {
	case c.MaxResponseBytes < 0:
		return c, fmt.Errorf("safee: max response bytes %d is negative", c.MaxResponseBytes)
	case c.MaxResponseBytes == 0:
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.RateLimit < 0 || c.RateLimit != c.RateLimit {
		return c, fmt.Errorf("safee: rate limit %v must be 0 (off) or positive", c.RateLimit)
	}
	return c, nil
}

// Format prints the Config for every verb with the API key replaced by
// "[set]" or "[empty]"; %+v and %#v include field names.
func (c Config) Format(f fmt.State, verb rune) {
	formatConfig(f, verb, "safee.Config", c, c.APIKey != "")
}

// String returns the %v form, without the key.
func (c Config) String() string { return fmt.Sprintf("%v", c) }

// GoString returns the %#v form, without the key.
func (c Config) GoString() string { return fmt.Sprintf("%#v", c) }

// formatConfig prints c's settings, never its key, under typeName.
func formatConfig(f fmt.State, verb rune, typeName string, c Config, keySet bool) {
	key := "[empty]"
	if keySet {
		key = "[set]"
	}
	base := redact.URL(c.BaseURL)
	vals := []struct {
		name string
		v    any
	}{
		{"BaseURL", base}, {"APIKey", key}, {"Timeout", c.Timeout},
		{"Concurrency", c.Concurrency}, {"RateLimit", c.RateLimit},
		{"RiskRoute", c.RiskRoute}, {"FilterRoute", c.FilterRoute},
		{"MaxAttempts", c.MaxAttempts}, {"BaseBackoff", c.BaseBackoff},
		{"MaxBackoff", c.MaxBackoff}, {"MaxRetryAfter", c.MaxRetryAfter},
		{"MaxResponseBytes", c.MaxResponseBytes},
	}
	named := f.Flag('+') || f.Flag('#')
	var b strings.Builder
	if f.Flag('#') && verb == 'v' {
		b.WriteString(typeName)
	}
	b.WriteByte('{')
	for i, kv := range vals {
		if i > 0 {
			b.WriteByte(' ')
		}
		if named {
			b.WriteString(kv.name + ":")
		}
		if s, ok := kv.v.(string); ok && f.Flag('#') {
			fmt.Fprintf(&b, "%q", s)
		} else {
			fmt.Fprint(&b, kv.v)
		}
	}
	b.WriteByte('}')
	fmt.Fprint(f, b.String())
}
