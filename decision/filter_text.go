package decision

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// String returns the canonical form of f: one space between terms, field
// names and case-insensitive values in lower case (country in upper case),
// type and status with their "$", scores by their short names, since:
// durations in days, hours, minutes and seconds, and quotes only where a
// value needs them. Parsed again with the same now, it yields an equal
// filter. A nil filter prints as "".
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	var b strings.Builder
	for i := range f.terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		f.terms[i].appendTo(&b)
	}
	return b.String()
}

// appendTo writes the canonical form of t.
func (t *term) appendTo(b *strings.Builder) {
	if t.neg {
		b.WriteByte('-')
	}
	switch t.kind {
	case kindScore:
		b.WriteString(t.score.String())
		b.WriteString(opText[t.op])
		b.WriteString(strconv.FormatFloat(t.num, 'f', -1, 64))
		return
	case kindWord:
		if needsQuote(t.val) || strings.HasPrefix(t.val, "-") || (!t.hasIP && strings.ContainsAny(t.val, ":<>=")) {
			writeQuoted(b, t.val)
		} else {
			b.WriteString(t.val)
		}
		return
	}
	b.WriteString(fieldNames[t.kind])
	b.WriteByte(':')
	switch t.kind {
	case kindType, kindStatus:
		writeValue(b, "$"+t.val)
	case kindIP:
		if t.single {
			b.WriteString(t.prefix.Addr().String())
		} else {
			b.WriteString(t.prefix.String())
		}
	case kindSince:
		b.WriteString(formatDays(t.dur))
	case kindUntil:
		if t.abs {
			b.WriteString(t.cutoff.Format(time.RFC3339Nano))
		} else {
			b.WriteString(formatDays(t.dur))
		}
	default:
		writeValue(b, t.val)
	}
}

// writeValue writes a field value, quoted if it needs to be.
func writeValue(b *strings.Builder, s string) {
	if needsQuote(s) {
		writeQuoted(b, s)
	} else {
		b.WriteString(s)
	}
}

// needsQuote reports whether s would not survive tokenizing unquoted.
func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == '"' || unicode.IsSpace(r) {
			return true
		}
	}
	return false
}

// writeQuoted writes s in double quotes, escaping " and \ as tokenize expects.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// formatDays formats a positive duration so that parseSince reads it back
// exactly: a day count first, then Go's duration syntax without trailing
// zero minutes and seconds ("2d", "1d12h", "1h30m", "90ms").
func formatDays(d time.Duration) string {
	const day = 24 * time.Hour
	var s string
	if d >= day {
		s = strconv.FormatInt(int64(d/day), 10) + "d"
		d %= day
		if d == 0 {
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

// hasPrefixFold reports whether s starts with prefix under simple Unicode
// case folding (the equivalence strings.EqualFold uses), without allocating.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		if c, p := s[0], prefix[0]; c < utf8.RuneSelf && p < utf8.RuneSelf {
			if c != p && lowerASCII(c) != lowerASCII(p) {
				return false
			}
			s, prefix = s[1:], prefix[1:]
			continue
		}
		r, n := utf8.DecodeRuneInString(s)
		q, m := utf8.DecodeRuneInString(prefix)
		if !equalRuneFold(r, q) {
			return false
		}
		s, prefix = s[n:], prefix[m:]
	}
	return true
}

// containsFold reports whether substr occurs in s under simple Unicode case
// folding, without allocating.
func containsFold(s, substr string) bool {
	for {
		if hasPrefixFold(s, substr) {
			return true
		}
		if s == "" {
			return false
		}
		_, n := utf8.DecodeRuneInString(s)
		s = s[n:]
	}
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalRuneFold reports whether r and q are equal under simple folding.
func equalRuneFold(r, q rune) bool {
	if r == q {
		return true
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f == q {
			return true
		}
	}
	return false
}
