package common

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/riskwatch/riskwatch/decision"
)

// Ellipsis marks text cut to fit.
const Ellipsis = "…"

// Sanitize makes text from events safe to print: control characters
// (including ESC, so no escape sequence from an event reaches the terminal),
// tabs and newlines become spaces or U+FFFD, and invalid UTF-8 becomes
// U+FFFD. Unicode format characters (bidi overrides and isolates such as
// U+202E and U+2066, zero-width spaces and joiners, U+FEFF) become U+FFFD
// too, so that text cannot reorder or hide itself and an analyst sees that
// a user ID holds something invisible. Variation selectors and emoji skin
// tone modifiers are dropped: terminals disagree on the width of the
// sequences they form (tmux draws a toned thumbs-up 4 cells wide, where a
// width computation says 2), and a row wider than computed pushes its last
// columns off the screen. Plain printable text is returned as is, without
// allocating.
func Sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Cf, r):
			b.WriteRune(utf8.RuneError)
		case presentationOnly(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// presentationOnly reports variation selectors and emoji modifiers, which
// change how the character before them looks (and, depending on the
// terminal, how wide it is) but not what it is.
func presentationOnly(r rune) bool {
	return (r >= 0xfe00 && r <= 0xfe0f) || (r >= 0xe0100 && r <= 0xe01ef) || (r >= 0x1f3fb && r <= 0x1f3ff)
}

// Truncate cuts s to at most w cells, marking the cut with an ellipsis.
func Truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if len(s) <= w && isASCII(s) {
		return s
	}
	return ansi.Truncate(s, w, Ellipsis)
}

// Fit cuts or pads s to exactly w cells. right aligns it to the right.
func Fit(s string, w int, right bool) string {
	if w <= 0 {
		return ""
	}
	var n int
	if isASCII(s) {
		if len(s) > w {
			return s[:w-1] + Ellipsis
		}
		n = len(s)
	} else {
		s = ansi.Truncate(s, w, Ellipsis)
		n = ansi.StringWidth(s)
	}
	if n >= w {
		return s
	}
	if right {
		return strings.Repeat(" ", w-n) + s
	}
	return s + strings.Repeat(" ", w-n)
}

// Clip cuts s to at most w cells without an ellipsis (for styled lines).
func Clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if len(s) <= w && isASCII(s) {
		return s
	}
	return ansi.Truncate(s, w, "")
}

// FitBlock makes s exactly h lines, each cut to at most w cells.
func FitBlock(s string, w, h int) string {
	if h <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		lines[i] = Clip(l, w)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// Age says how long ago t was, relative to now: "just now", "2s ago",
// "5m ago", "3h ago", "2d ago"; "never" for the zero time.
func Age(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d ago"
}

// Latency formats a call duration compactly: "850µs", "45ms", "1.2s".
func Latency(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return strconv.Itoa(int(d/time.Microsecond)) + "µs"
	case d < 10*time.Second:
		if d < time.Second {
			return strconv.Itoa(int(d/time.Millisecond)) + "ms"
		}
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}

// Count formats n with thousands separators: 1,234,567.
func Count(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// Bytes formats a size in binary units: "512 B", "12.3 MiB".
func Bytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	v := float64(n)
	u := -1
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[u]
}

// ActionLabel is the action as the UI writes it, always as text next to any
// colour: ALLOW, CHALLENGE, DENY, ERROR.
func ActionLabel(a decision.Action) string {
	switch a {
	case decision.ActionAllow:
		return "ALLOW"
	case decision.ActionChallenge:
		return "CHALLENGE"
	case decision.ActionDeny:
		return "DENY"
	case decision.ActionError:
		return "ERROR"
	}
	return strings.ToUpper(Sanitize(string(a)))
}

// Score formats a 0-100 score as an integer.
func Score(v float64) string {
	if v != v {
		return "-"
	}
	return strconv.Itoa(int(v + 0.5))
}

// TypeStatus shows an event's type and status without their "$", as
// "login/failed", sanitized.
func TypeStatus(d *decision.Decision) string {
	t := strings.TrimPrefix(d.Type, "$")
	if s := strings.TrimPrefix(d.Status, "$"); s != "" {
		t += "/" + s
	}
	return Sanitize(t)
}

// Decimal writes a threshold or score with as few digits as it needs: "50",
// "42.5".
func Decimal(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Compact formats a count in at most 5 cells: 9999, 12k, 1.2M, 12M, 3G.
func Compact(n uint64) string {
	switch {
	case n < 10_000:
		return strconv.FormatUint(n, 10)
	case n < 1_000_000:
		return strconv.FormatUint(n/1000, 10) + "k"
	case n < 10_000_000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + "M"
	case n < 1_000_000_000:
		return strconv.FormatUint(n/1_000_000, 10) + "M"
	}
	return strconv.FormatUint(n/1_000_000_000, 10) + "G"
}

// Share is part of whole as a percentage with one decimal ("5.1%"), "-"
// when whole is zero.
func Share(part, whole uint64) string {
	if whole == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 1, 64) + "%"
}
