package safee

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewDefaults(t *testing.T) {
	c, err := New(Config{APIKey: "  " + testKey + "\n"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	want := Config{
		BaseURL: DefaultBaseURL, Timeout: DefaultTimeout, Concurrency: DefaultConcurrency,
		RiskRoute: DefaultRiskRoute, FilterRoute: DefaultFilterRoute, MaxAttempts: DefaultMaxAttempts,
		BaseBackoff: DefaultBaseBackoff, MaxBackoff: DefaultMaxBackoff,
		MaxRetryAfter: DefaultMaxRetryAfter, MaxResponseBytes: DefaultMaxResponseBytes,
	}
	if fmt.Sprintf("%+v", c.cfg) != fmt.Sprintf("%+v", want) {
		t.Errorf("config\n got %+v\nwant %+v", c.cfg, want)
	}
	if c.cred.key != testKey {
		t.Errorf("key not trimmed: %q", c.cred.key)
	}
	if c.cfg.APIKey != "" {
		t.Error("the client's config copy holds the key")
	}
	if c.lim != nil || cap(c.sem) != DefaultConcurrency {
		t.Errorf("limiter %v, semaphore %d", c.lim, cap(c.sem))
	}
	if c.BaseURL() != DefaultBaseURL {
		t.Errorf("BaseURL() = %q", c.BaseURL())
	}
}

func TestNewTransportSizedForConcurrency(t *testing.T) {
	c, err := New(Config{APIKey: testKey, Concurrency: 200})
	if err != nil {
		t.Fatal(err)
	}
	tr := c.hc.Transport.(interface{ Clone() *http.Transport }).Clone()
	if tr.MaxIdleConnsPerHost != 200 || tr.MaxIdleConns < 200 {
		t.Errorf("MaxIdleConnsPerHost %d MaxIdleConns %d, want >= 200", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
	if c.hc.CheckRedirect == nil {
		t.Error("the default client follows redirects")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		detail string
	}{
		{"no key", Config{}, "API key is empty"},
		{"blank key", Config{APIKey: " \t"}, "API key is empty"},
		{"key with newline inside", Config{APIKey: "ab\ncd" + testKey}, "control"},
		{"key with space inside", Config{APIKey: testKey + " x"}, "space"},
		{"ftp url", Config{APIKey: testKey, BaseURL: "ftp://x"}, "http(s)"},
		{"no host", Config{APIKey: testKey, BaseURL: "http://"}, "http(s)"},
		{"relative url", Config{APIKey: testKey, BaseURL: "api.safe-e.com"}, "http(s)"},
		{"url with query", Config{APIKey: testKey, BaseURL: "https://x/api?k=v"}, "query"},
		{"bad url", Config{APIKey: testKey, BaseURL: "http://[::1"}, "base URL"},
		{"route without slash", Config{APIKey: testKey, RiskRoute: "risk/{event}"}, "route"},
		{"route with query", Config{APIKey: testKey, FilterRoute: "/filter/{event}?x=1"}, "route"},
		{"negative timeout", Config{APIKey: testKey, Timeout: -time.Second}, "timeout"},
		{"negative concurrency", Config{APIKey: testKey, Concurrency: -1}, "concurrency"},
		{"negative attempts", Config{APIKey: testKey, MaxAttempts: -1}, "attempts"},
		{"negative rate", Config{APIKey: testKey, RateLimit: -1}, "rate limit"},
		{"negative body limit", Config{APIKey: testKey, MaxResponseBytes: -1}, "response bytes"},
		{"max below base backoff", Config{APIKey: testKey, BaseBackoff: time.Second, MaxBackoff: time.Millisecond}, "backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.detail)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("key in error: %v", err)
			}
		})
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	cfg := Config{BaseURL: "https://user:hunter2@api.example/api/v1", APIKey: testKey, Concurrency: 4}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	type wrapper struct {
		Safee  Config
		Client *Client
	}
	values := map[string]any{
		"Config": cfg, "*Config": &cfg, "*Client": c, "Client": *c,
		"wrapper": wrapper{cfg, c}, "slice": []Config{cfg},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(s, testKey) || strings.Contains(s, "hunter2") {
				t.Errorf("%s printed with %s shows a secret: %s", name, verb, s)
			}
		}
	}
	if s := cfg.String(); !strings.Contains(s, "[set]") || !strings.Contains(s, "api.example") {
		t.Errorf("String() = %q, want the settings with the key marked set", s)
	}
	if s := cfg.GoString(); !strings.HasPrefix(s, "safee.Config{BaseURL:") {
		t.Errorf("GoString() = %q", s)
	}
	if s := fmt.Sprintf("%+v", c); !strings.Contains(s, "Concurrency:4") || !strings.Contains(s, "APIKey:[set]") {
		t.Errorf("%%+v of the client = %q", s)
	}
	if s := fmt.Sprintf("%v", Config{}); !strings.Contains(s, "[empty]") {
		t.Errorf("an empty key prints as %q", s)
	}
	b, err := json.Marshal(cfg)
	if err != nil || strings.Contains(string(b), testKey) {
		t.Errorf("JSON of the config: %s, %v", b, err)
	}
}
