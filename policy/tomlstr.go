package policy

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeString reads the TOML string (any of the four kinds) whose opening
// quote is at src[at], as the TOML decoder does. It returns the string's
// value and the offset just past its closing delimiter. When want is set,
// offs holds, for each rune of the value, the offset in src of the
// character or escape sequence it came from, plus one last entry: the
// offset of the closing delimiter. ok is false when src[at:] does not
// start with a well-formed string.
func decodeString(src string, at int, want bool) (val string, offs []int, end int, ok bool) {
	if at < 0 || at >= len(src) || (src[at] != '"' && src[at] != '\'') {
		return "", nil, 0, false
	}
	quote := src[at]
	delim := strings.Repeat(string(quote), 3)
	multi := strings.HasPrefix(src[at:], delim)
	i := at + 1
	if multi {
		i = at + 3
		// A newline right after the opening delimiter is not part of it.
		switch {
		case strings.HasPrefix(src[i:], "\n"):
			i++
		case strings.HasPrefix(src[i:], "\r\n"):
			i += 2
		}
	}
	var b strings.Builder
	emit := func(r rune, from int) {
		b.WriteRune(r)
		if want {
			offs = append(offs, from)
		}
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == quote && !multi:
			if want {
				offs = append(offs, i)
			}
			return b.String(), offs, i + 1, true
		case c == quote:
			n := 1
			for i+n < len(src) && src[i+n] == quote {
				n++
			}
			if n < 3 {
				for k := range n {
					emit(rune(quote), i+k)
				}
				i += n
				continue
			}
			if n > 5 {
				return "", nil, 0, false
			}
			// Up to two quotes before the closing delimiter belong to
			// the string.
			for k := range n - 3 {
				emit(rune(quote), i+k)
			}
			if want {
				offs = append(offs, i+n-3)
			}
			return b.String(), offs, i + n, true
		case c == '\\' && quote == '"':
			r, next, ok := unescape(src, i, multi)
			if !ok {
				return "", nil, 0, false
			}
			if r >= 0 {
				emit(r, i)
			}
			i = next
		case c == '\n' && !multi:
			return "", nil, 0, false
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			emit(r, i)
			i += size
		}
	}
	return "", nil, 0, false
}

// unescape reads the escape sequence at src[i] (a backslash) of a basic
// string. It returns the rune it stands for, or -1 for a line-ending
// backslash of a multi-line string (which stands for nothing and swallows
// the whitespace and newlines after it), and the offset after it.
func unescape(src string, i int, multi bool) (r rune, next int, ok bool) {
	if i+1 >= len(src) {
		return 0, 0, false
	}
	hex := 0
	switch e := src[i+1]; e {
	case 'b':
		return '\b', i + 2, true
	case 't':
		return '\t', i + 2, true
	case 'n':
		return '\n', i + 2, true
	case 'f':
		return '\f', i + 2, true
	case 'r':
		return '\r', i + 2, true
	case 'e':
		return 0x1b, i + 2, true
	case '"', '\\':
		return rune(e), i + 2, true
	case 'x':
		hex = 2
	case 'u':
		hex = 4
	case 'U':
		hex = 8
	case ' ', '\t', '\r', '\n':
		if !multi {
			return 0, 0, false
		}
		j := i + 1
		for j < len(src) && strings.IndexByte(" \t\r\n", src[j]) >= 0 {
			j++
		}
		if !strings.Contains(src[i+1:j], "\n") {
			return 0, 0, false
		}
		return -1, j, true
	default:
		return 0, 0, false
	}
	if i+2+hex > len(src) {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(src[i+2:i+2+hex], 16, 32)
	if err != nil || !utf8.ValidRune(rune(n)) {
		return 0, 0, false
	}
	return rune(n), i + 2 + hex, true
}
