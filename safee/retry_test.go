package safee

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"9223372036", 9223372036 * time.Second, true},
		{"9223372037", time.Duration(math.MaxInt64), true},
		{"99999999999999999999999999", time.Duration(math.MaxInt64), true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Sunday, 01-Mar-26 12:00:30 GMT", 30 * time.Second, true},
		{"Sun Mar  1 12:01:00 2026", time.Minute, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"12abc", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	for code, want := range map[int]bool{
		200: false, 400: false, 401: false, 403: false, 404: false, 408: true, 422: false,
		429: true, 500: true, 502: true, 503: true, 504: true, 599: true, 600: false,
	} {
		if got := retryableStatus(code); got != want {
			t.Errorf("retryableStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	cause := errors.New("dial tcp: refused")
	err := fmt.Errorf("scoring: %w", &Error{Kind: KindRetryable, Msg: "safee: boom", Err: cause})
	var e *Error
	if !errors.As(err, &e) || KindOf(err) != KindRetryable || !errors.Is(err, cause) {
		t.Fatalf("wrapped *Error not found: %v", err)
	}
	if KindOf(errors.New("other")) != 0 || KindOf(nil) != 0 {
		t.Error("KindOf of a foreign error is not 0")
	}
	reasons := []struct {
		e    Error
		want string
	}{
		{Error{Kind: KindRetryable, Timeout: true}, "timeout"},
		{Error{Kind: KindRetryable}, "network"},
		{Error{Kind: KindRetryable, Status: 503}, "retryable"},
		{Error{Kind: KindUnauthorized, Status: 401}, "unauthorized"},
		{Error{Kind: KindBadEvent, Status: 422}, "bad_event"},
		{Error{Kind: KindBadResponse, Status: 200}, "bad_response"},
		{Error{Kind: KindCanceled}, "canceled"},
		{Error{Kind: 99}, "kind(99)"},
	}
	for _, r := range reasons {
		if got := r.e.Reason(); got != r.want {
			t.Errorf("Reason of %+v = %q, want %q", r.e, got, r.want)
		}
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct {
		in, key, want string
	}{
		{`{"error":"bad"}`, "", `{"error":"bad"}`},
		{"line1\n\tline2\r\n", "", "line1 line2"},
		{"key=SECRET!", "SECRET", "key=[REDACTED]!"},
		{"\xff\xfeok", "", "\uFFFDok"},
		{strings.Repeat("a", 300), "", strings.Repeat("a", 200) + "…"},
		{strings.Repeat("a", 195) + "SECRETSECRET", "SECRET", strings.Repeat("a", 195) + "[REDA…"},
	}
	for _, tt := range tests {
		if got := snippet([]byte(tt.in), tt.key); got != tt.want {
			t.Errorf("snippet(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
