package alert

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// TargetKind is the kind of a notification target.
type TargetKind string

// The kinds of target.
const (
	// TargetWebhook POSTs the JSON payload to a URL.
	TargetWebhook TargetKind = "webhook"
	// TargetExec runs a program with the JSON payload on its standard input.
	TargetExec TargetKind = "exec"
	// TargetBell rings the dashboards (BEL and a desktop notification).
	TargetBell TargetKind = "bell"
)

// Target is one entry of a rule's notify list: "webhook:URL", "exec:PATH"
// or "bell".
type Target struct {
	Kind TargetKind
	// Addr is the webhook's URL or the program's absolute path; "" for bell.
	Addr string
}

// ParseTarget reads a notify entry. The error never quotes a webhook URL,
// which may carry a secret (a Slack webhook URL is one).
func ParseTarget(s string) (Target, error) {
	var t Target
	switch kind, addr, _ := strings.Cut(s, ":"); kind {
	case "bell":
		if s != "bell" {
			return t, errors.New(`want "bell" alone`)
		}
		t.Kind = TargetBell
	case "webhook", "exec":
		t = Target{Kind: TargetKind(kind), Addr: addr}
	default:
		return t, fmt.Errorf("want webhook:URL, exec:PATH or bell, got %q", truncate(s, 40))
	}
	return t, t.validate()
}

// validate checks the address for the kind.
func (t Target) validate() error {
	switch t.Kind {
	case TargetBell:
		if t.Addr != "" {
			return errors.New("bell takes no address")
		}
	case TargetWebhook:
		u, err := url.Parse(t.Addr)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want webhook:http://HOST/PATH or webhook:https://HOST/PATH")
		}
	case TargetExec:
		if !filepath.IsAbs(t.Addr) || filepath.Clean(t.Addr) != t.Addr {
			return fmt.Errorf("want exec:/absolute/path/to/program (run without a shell), got %q", truncate(t.Addr, 60))
		}
	default:
		return fmt.Errorf("unknown target kind %q", t.Kind)
	}
	return nil
}

// String returns the target as written in a rule. It includes a webhook's
// whole URL: show Redacted instead.
func (t Target) String() string {
	if t.Kind == TargetBell {
		return string(TargetBell)
	}
	return string(t.Kind) + ":" + t.Addr
}

// Redacted returns the target safe to show and log: a webhook keeps only
// its scheme and host ("webhook:https://hooks.slack.com/…"), since its path
// or query often is the secret.
func (t Target) Redacted() string {
	if t.Kind != TargetWebhook {
		return t.String()
	}
	u, err := url.Parse(t.Addr)
	if err != nil {
		return "webhook:…"
	}
	return "webhook:" + u.Scheme + "://" + u.Host + "/…"
}

// truncate shortens s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
