// Package redact keeps secrets out of what riskwatch shows and stores: the
// Safe-e API key and the credentials of a URL, wherever text that came from
// outside (a Safe-e answer, an error, a configured URL) may carry them.
package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// Mark is what replaces a secret.
const Mark = "[REDACTED]"

// MinSecret is the shortest secret a Redactor looks for: a shorter one
// would match ordinary text and cut up every body.
const MinSecret = 4

// URL returns u without its user information (user name and password),
// for display and logs. A string that does not parse as a URL is returned
// with anything before an "@" in its authority cut off, so a malformed URL
// cannot show a password either.
func URL(u string) string {
	p, err := url.Parse(u)
	if err == nil {
		if p.User == nil {
			return u
		}
		p.User = nil
		return p.String()
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	auth, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(auth, "@"); i >= 0 {
		auth = auth[i+1:]
	}
	if path != "" || strings.Contains(rest, "/") {
		return scheme + "://" + auth + "/" + path
	}
	return scheme + "://" + auth
}

// URLSecrets returns the secrets in u's user information: the password
// and "user:password" as they appear in the URL and decoded. None when u
// has no password.
func URLSecrets(u string) []string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return nil
	}
	pw, ok := p.User.Password()
	if !ok || pw == "" {
		return nil
	}
	out := []string{pw, p.User.Username() + ":" + pw}
	if raw := p.User.String(); raw != out[1] {
		out = append(out, raw)
		if _, rawPW, ok := strings.Cut(raw, ":"); ok {
			out = append(out, rawPW)
		}
	}
	return out
}

// Redactor replaces known secrets with Mark. The zero value and a nil
// *Redactor replace nothing. It is safe for concurrent use.
type Redactor struct {
	// secrets, longest first, each as given and as it may look inside a
	// JSON string when that differs.
	secrets [][]byte
}

// New returns a Redactor of secrets; empty ones and those shorter than
// MinSecret are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) >= MinSecret && !seen[s] {
			seen[s] = true
			r.secrets = append(r.secrets, []byte(s))
		}
	}
	for _, s := range secrets {
		add(s)
		if q, err := json.Marshal(s); err == nil {
			inner := string(q[1 : len(q)-1])
			add(inner)
			// Other encoders also escape the solidus.
			add(strings.ReplaceAll(inner, "/", `\/`))
		}
	}
	// Longest first: a secret that contains another is replaced whole.
	slices.SortStableFunc(r.secrets, func(a, b []byte) int { return len(b) - len(a) })
	return r
}

// Bytes returns b with every secret replaced by Mark, and how many were
// replaced. When there is none it returns b itself; otherwise a new slice,
// leaving b unchanged.
func (r *Redactor) Bytes(b []byte) ([]byte, int) {
	if r == nil {
		return b, 0
	}
	n := 0
	for _, s := range r.secrets {
		c := bytes.Count(b, s)
		if c == 0 {
			continue
		}
		n += c
		b = bytes.ReplaceAll(b, s, []byte(Mark))
	}
	return b, n
}

// String is Bytes for a string.
func (r *Redactor) String(s string) (string, int) {
	if r == nil {
		return s, 0
	}
	n := 0
	for _, sec := range r.secrets {
		c := strings.Count(s, string(sec))
		if c == 0 {
			continue
		}
		n += c
		s = strings.ReplaceAll(s, string(sec), Mark)
	}
	return s, n
}
