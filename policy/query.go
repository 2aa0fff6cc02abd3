package policy

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Key is what velocity groups decisions by: the decisions of one user, one
// address, one /24, one email address, one email domain or one device.
type Key uint8

// The keys. KeyNone is the zero value: no key (the Of of a count).
const (
	KeyNone Key = iota
	KeyUser
	KeyIP
	KeyIP24
	KeyEmail
	KeyEmailDomain
	KeyDevice
	numKeys
)

var keyNames = [numKeys]string{
	KeyNone: "", KeyUser: "user", KeyIP: "ip", KeyIP24: "ip24", KeyEmail: "email",
	KeyEmailDomain: "email_domain", KeyDevice: "device",
}

// String returns the key's name as policies write it ("ip24").
func (k Key) String() string {
	if k >= numKeys {
		return fmt.Sprintf("key(%d)", int(k))
	}
	return keyNames[k]
}

// ParseKey reads a key name: user, ip, ip24, email, email_domain or device.
func ParseKey(s string) (Key, error) {
	for k := KeyUser; k < numKeys; k++ {
		if keyNames[k] == s {
			return k, nil
		}
	}
	return KeyNone, fmt.Errorf("unknown key %q (want %s)", s, strings.Join(keyNames[KeyUser:], ", "))
}

// Value returns d's value for k, the string velocity groups d under, or ""
// when d has none (velocity then counts nothing for d, and d is counted
// under no value of k):
//
//	user          the user ID as stored
//	ip            the address in canonical form (IPv4-mapped IPv6 as IPv4), "" if not an address
//	ip24          decision.IP24: the /24 (IPv4) or /48 (IPv6) as CIDR text
//	email         lower case, surrounding space trimmed
//	email_domain  decision.EmailDomain
//	device        decision.DeviceKey of the user agent
//
// A live implementation of Velocity must group by these same values.
func (k Key) Value(d *decision.Decision) string {
	switch k {
	case KeyUser:
		return d.UserID
	case KeyIP:
		return canonicalIP(d.IP)
	case KeyIP24:
		return decision.IP24(d.IP)
	case KeyEmail:
		return strings.ToLower(strings.TrimSpace(d.Email))
	case KeyEmailDomain:
		return decision.EmailDomain(d.Email)
	case KeyDevice:
		return decision.DeviceKey(d.UserAgent)
	}
	return ""
}

// canonicalIP returns ip in canonical form, or "" when it is not an
// address (or has a zone). A valid dotted quad is already canonical, so it
// is returned as it is, without allocating.
func canonicalIP(ip string) string {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil || a.Zone() != "":
		return ""
	case a.Is4():
		return ip
	}
	return a.Unmap().String()
}

// Query is one velocity question a policy asks about each decision d at
// event time t, over the decisions whose event time lies in
// [t-Window, t) (strictly before d: never d itself, nor anything at or
// after t) and whose Key value equals d's:
//
//	count(Key, Window)         Of is KeyNone: how many there are
//	distinct(Key, Of, Window)  how many distinct non-empty Of values they have
//
// Both are 0 when d has no value for Key. Query is comparable: use it as a
// map key.
type Query struct {
	Key    Key
	Of     Key
	Window time.Duration
}

// Distinct reports whether q is a distinct query (else a count).
func (q Query) Distinct() bool { return q.Of != KeyNone }

// String writes q as a policy calls it: count("ip", "10m") or
// distinct("ip", "user", "10m"). ParseQuery reads it back.
func (q Query) String() string {
	if q.Distinct() {
		return fmt.Sprintf("distinct(%q, %q, %q)", q.Key, q.Of, formatWindow(q.Window))
	}
	return fmt.Sprintf("count(%q, %q)", q.Key, formatWindow(q.Window))
}

// Limits of velocity windows.
const (
	MinWindow = time.Second
	MaxWindow = 7 * 24 * time.Hour
)

// parseWindow reads a window (see parseDuration) between MinWindow and
// MaxWindow.
func parseWindow(s string) (time.Duration, error) {
	w, err := parseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("window: %w", err)
	case w < MinWindow:
		return 0, fmt.Errorf("window %q is shorter than %s", s, formatWindow(MinWindow))
	case w > MaxWindow:
		return 0, fmt.Errorf("window %q is longer than %s", s, formatWindow(MaxWindow))
	}
	return w, nil
}

// parseDuration reads a positive duration: Go's syntax ("90s", "10m",
// "1h30m") with an optional leading whole day count ("1d", "7d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration such as \"10m\", \"1h\" or \"7d\"", s)
	rest, days := s, time.Duration(0)
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, bad
		}
		days, rest = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	var d time.Duration
	if rest != "" {
		if rest[0] == '+' || rest[0] == '-' {
			return 0, bad
		}
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, bad
		}
	}
	if s == "" || d > math.MaxInt64-days || d+days <= 0 {
		return 0, bad
	}
	return d + days, nil
}

// formatWindow writes a window so that parseWindow reads it back: days
// first, then Go's syntax without zero minutes and seconds ("7d", "1d12h",
// "1h30m", "10m", "90ms").
func formatWindow(d time.Duration) string {
	const day = 24 * time.Hour
	var s string
	if d >= day {
		s = strconv.FormatInt(int64(d/day), 10) + "d"
		if d %= day; d == 0 {
			return s
		}
	}
	rest := d.String()
	if strings.HasSuffix(rest, "m0s") {
		rest = rest[:len(rest)-2]
	}
	if strings.HasSuffix(rest, "h0m") {
		rest = rest[:len(rest)-2]
	}
	return s + rest
}

// ParseQuery reads a query written as a policy calls it, such as
// count("ip", "10m") or distinct("ip", "user", "1h"): the keys of the
// velocity facts of a test case.
func ParseQuery(s string) (Query, error) {
	name, args, ok := strings.Cut(strings.TrimSpace(s), "(")
	if !ok || !strings.HasSuffix(args, ")") {
		return Query{}, fmt.Errorf("%q is not a call such as count(\"ip\", \"10m\")", s)
	}
	var vals []string
	for a := range strings.SplitSeq(strings.TrimSuffix(args, ")"), ",") {
		v, err := strconv.Unquote(strings.TrimSpace(a))
		if err != nil {
			return Query{}, fmt.Errorf("%q: arguments must be quoted strings", s)
		}
		vals = append(vals, v)
	}
	q, _, err := makeQuery(strings.TrimSpace(name), vals)
	if err != nil {
		return Query{}, fmt.Errorf("%q: %w", s, err)
	}
	return q, nil
}

// makeQuery builds the query of a call to count or distinct with args.
// On error, bad is the index of the offending argument (-1: the call).
func makeQuery(fn string, args []string) (q Query, bad int, err error) {
	want := 2
	switch fn {
	case "count":
	case "distinct":
		want = 3
	default:
		return Query{}, -1, fmt.Errorf("unknown velocity function %q (want count or distinct)", fn)
	}
	if len(args) != want {
		return Query{}, -1, fmt.Errorf("%s takes %d arguments, not %d", fn, want, len(args))
	}
	if q.Key, err = ParseKey(args[0]); err != nil {
		return Query{}, 0, err
	}
	if fn == "distinct" {
		if q.Of, err = ParseKey(args[1]); err != nil {
			return Query{}, 1, err
		}
		if q.Of == q.Key {
			return Query{}, 1, errors.New("distinct counts values of another key than the one it groups by")
		}
	}
	if q.Window, err = parseWindow(args[want-1]); err != nil {
		return Query{}, want - 1, err
	}
	return q, 0, nil
}
