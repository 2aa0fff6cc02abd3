package config

import (
	"errors"
	"strconv"
	"strings"
)

// The line scanner below reads just enough TOML to edit one table in
// place: which lines are table headers, which start a key/value pair at the
// top level of a table, and where a value and its comment begin. It follows
// strings (all four kinds, multi-line ones across lines), comments and
// brackets of arrays and inline tables across lines, so that a "[" inside
// a string or a multi-line array is never taken for a header.

// strMode is the kind of string the scanner is inside, if any.
type strMode uint8

const (
	strNone strMode = iota
	strBasic
	strLiteral
	strMLBasic
	strMLLiteral
)

// scanner carries the state from one line to the next.
type scanner struct {
	mode  strMode
	depth int // open [ and { of values
}

// atTop reports whether the next line starts outside any value.
func (s *scanner) atTop() bool { return s.mode == strNone && s.depth == 0 }

// value scans s, part of a value, and returns the offset of a comment that
// starts outside any string, or -1. Single-line strings end with the line.
func (s *scanner) value(line string) int {
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch s.mode {
		case strBasic, strMLBasic:
			switch {
			case c == '\\':
				i++
			case s.mode == strMLBasic && strings.HasPrefix(line[i:], `"""`):
				// Up to two more quotes may belong to the string.
				i += 2
				for i+1 < len(line) && line[i+1] == '"' {
					i++
				}
				s.mode = strNone
			case s.mode == strBasic && c == '"':
				s.mode = strNone
			}
		case strLiteral, strMLLiteral:
			switch {
			case s.mode == strMLLiteral && strings.HasPrefix(line[i:], `'''`):
				i += 2
				for i+1 < len(line) && line[i+1] == '\'' {
					i++
				}
				s.mode = strNone
			case s.mode == strLiteral && c == '\'':
				s.mode = strNone
			}
		default:
			switch {
			case c == '#':
				return i
			case strings.HasPrefix(line[i:], `"""`):
				s.mode = strMLBasic
				i += 2
			case strings.HasPrefix(line[i:], `'''`):
				s.mode = strMLLiteral
				i += 2
			case c == '"':
				s.mode = strBasic
			case c == '\'':
				s.mode = strLiteral
			case c == '[' || c == '{':
				s.depth++
			case c == ']' || c == '}':
				s.depth = max(s.depth-1, 0)
			}
		}
	}
	if s.mode == strBasic || s.mode == strLiteral {
		s.mode = strNone // an unterminated one-line string; the file is invalid
	}
	return -1
}

// errKey reports a key or header the scanner cannot read.
var errKey = errors.New("unreadable key")

// keyPath reads a dotted key (bare, "basic" or 'literal' parts) from the
// start of s up to one of the stop bytes, returning the parts and the rest
// of s from the stop byte on.
func keyPath(s string, stop string) (parts []string, rest string, err error) {
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return nil, "", errKey
		}
		switch c := s[i]; {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, "", errKey
			}
			part, uerr := strconv.Unquote(s[i : j+1])
			if uerr != nil {
				part = s[i+1 : j]
			}
			parts = append(parts, part)
			i = j + 1
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, "", errKey
			}
			parts = append(parts, s[i+1:i+1+j])
			i += j + 2
		default:
			j := i
			for j < len(s) && isBareKeyByte(s[j]) {
				j++
			}
			if j == i {
				return nil, "", errKey
			}
			parts = append(parts, s[i:j])
			i = j
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		switch {
		case i < len(s) && s[i] == '.':
			i++
		case i < len(s) && strings.IndexByte(stop, s[i]) >= 0:
			return parts, s[i:], nil
		default:
			return nil, "", errKey
		}
	}
}

func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// header reads a table header line ("[a.b]" or "[[a]]", with an optional
// comment); ok is false when line is not one.
func header(line string) (path []string, array bool, ok bool) {
	t := strings.TrimLeft(line, " \t")
	if !strings.HasPrefix(t, "[") {
		return nil, false, false
	}
	open := 1
	if strings.HasPrefix(t, "[[") {
		open, array = 2, true
	}
	parts, rest, err := keyPath(t[open:], "]")
	if err != nil || !strings.HasPrefix(rest, strings.Repeat("]", open)) {
		return nil, false, false
	}
	rest = strings.TrimLeft(rest[open:], " \t")
	if rest != "" && rest[0] != '#' {
		return nil, false, false
	}
	return parts, array, true
}
