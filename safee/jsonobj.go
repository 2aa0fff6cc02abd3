package safee

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// openObject checks that b is valid UTF-8 holding, after any whitespace, a
// JSON object, and returns a scanner positioned inside it. Its errors are
// those of a failed parse: ErrInvalidUTF8, ErrNotJSON or ErrNotObject.
func openObject(b []byte) (scanner, error) {
	if !utf8.Valid(b) {
		return scanner{}, fmt.Errorf("%w at byte %d", ErrInvalidUTF8, invalidUTF8At(b))
	}
	s := scanner{data: b}
	c, err := s.nonSpace()
	if err != nil {
		return scanner{}, fmt.Errorf("%w: empty input", ErrNotJSON)
	}
	if c != '{' {
		if json.Valid(b) {
			return scanner{}, fmt.Errorf("%w: got %s", ErrNotObject, jsonKind(c))
		}
		return scanner{}, fmt.Errorf("%w: %s", ErrNotJSON, syntaxDetail(b))
	}
	err = s.enter() // at depth 0, it cannot fail
	return s, err
}

// end checks what follows the top-level object just read: whitespace only.
func (s *scanner) end() error {
	if _, err := s.nonSpace(); err == nil {
		return fmt.Errorf("%w at byte %d", ErrTrailingData, s.pos)
	}
	return nil
}

// notJSON wraps a scanner's error as the reason a parse failed.
func notJSON(err error) error {
	return fmt.Errorf("%w: %s", ErrNotJSON, err)
}

// object reads the next value. When it is an object, its member named
// keys[i] is stored in *dst[i], the last one winning over repeated keys;
// the other members are read and dropped.
func (s *scanner) object(keys []string, dst []*rawValue) (rawValue, error) {
	c, err := s.nonSpace()
	if err != nil {
		return rawValue{}, err
	}
	if c != '{' {
		return s.value()
	}
	start := s.pos
	if err := s.enter(); err != nil {
		return rawValue{}, err
	}
	for first := true; ; first = false {
		key, more, err := s.nextKey(first)
		if err != nil {
			return rawValue{}, err
		}
		if !more {
			return rawValue{b: s.data[start:s.pos:s.pos], kind: 'o'}, nil
		}
		v, err := s.value()
		if err != nil {
			return rawValue{}, err
		}
		name := keyName(key)
		for i, k := range keys {
			if string(name) == k {
				*dst[i] = v
			}
		}
	}
}

// array reads the next value. When it is an array, its elements are
// appended to elems.
func (s *scanner) array(elems []rawValue) (rawValue, []rawValue, error) {
	c, err := s.nonSpace()
	if err != nil {
		return rawValue{}, elems, err
	}
	if c != '[' {
		v, err := s.value()
		return v, elems, err
	}
	start := s.pos
	if err := s.enter(); err != nil {
		return rawValue{}, elems, err
	}
	for first := true; ; first = false {
		more, err := s.nextElement(first)
		if err != nil {
			return rawValue{}, elems, err
		}
		if !more {
			return rawValue{b: s.data[start:s.pos:s.pos], kind: 'a'}, elems, nil
		}
		v, err := s.value()
		if err != nil {
			return rawValue{}, elems, err
		}
		elems = append(elems, v)
	}
}

// keyName returns an object key's text: its bytes when they hold no
// escape, else a decoded copy.
func keyName(key rawValue) []byte {
	if !key.esc {
		return key.b[1 : len(key.b)-1]
	}
	return []byte(textOf(key))
}

// textOf returns the text of v (see writeText).
func textOf(v rawValue) string {
	var b strings.Builder
	writeText(&b, v)
	return b.String()
}

// texts appends to dst the text of each value (see writeText); the strings
// share one allocation.
func texts(dst []string, vals ...rawValue) []string {
	size := 0
	for _, v := range vals {
		size += len(v.b) // decoding never lengthens a value
	}
	var b strings.Builder
	b.Grow(size)
	for _, v := range vals {
		start := b.Len()
		writeText(&b, v)
		// A Builder only appends, so what String returned stays valid.
		dst = append(dst, b.String()[start:])
	}
	return dst
}

// writeText writes the text of v to b: a string's contents decoded as
// encoding/json decodes them, a number's literal, nothing for other kinds.
func writeText(b *strings.Builder, v rawValue) {
	switch v.kind {
	case 'd':
		b.Write(v.b)
	case 's':
		body := v.b[1 : len(v.b)-1]
		if !v.esc {
			b.Write(body)
			return
		}
		writeUnescaped(b, body)
	}
}

// writeUnescaped decodes the body of a string the scanner accepted. As in
// encoding/json, a \u escape of a surrogate that is not part of a valid pair
// becomes U+FFFD.
func writeUnescaped(b *strings.Builder, s []byte) {
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			b.Write(s)
			return
		}
		b.Write(s[:i])
		s = s[i:]
		switch s[1] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r := hexRune(s[2:6])
			s = s[6:]
			if utf16.IsSurrogate(r) {
				pair := unicode.ReplacementChar
				if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
					pair = utf16.DecodeRune(r, hexRune(s[2:6]))
				}
				if r = pair; r != unicode.ReplacementChar {
					s = s[6:]
				}
			}
			b.WriteRune(r)
			continue
		default: // '"', '\\' or '/'
			b.WriteByte(s[1])
		}
		s = s[2:]
	}
}

// hexRune reads four hexadecimal digits the scanner accepted.
func hexRune(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// checkString accepts an optional string member: absent, null or a string.
func checkString(v rawValue, path string) error {
	if v.absent() || v.kind == 's' {
		return nil
	}
	return fmt.Errorf("%w: %s must be a string", ErrBadField, path)
}

// checkID accepts an optional identifier: absent, null, a string or a
// number (apps send numeric user IDs; a number keeps its literal text).
func checkID(v rawValue, path string) error {
	if v.absent() || v.kind == 's' || v.kind == 'd' {
		return nil
	}
	return fmt.Errorf("%w: %s must be a string or a number", ErrBadField, path)
}

// checkObject accepts an optional nested object: absent, null or an object.
func checkObject(v rawValue, key string) error {
	if v.absent() || v.kind == 'o' {
		return nil
	}
	return fmt.Errorf("%w: %s must be an object", ErrBadField, key)
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func jsonKind(first byte) string {
	switch first {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// syntaxDetail returns encoding/json's description of why b, which does not
// start an object, is not JSON.
func syntaxDetail(b []byte) string {
	err := json.Unmarshal(b, new(json.RawMessage))
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	return fmt.Sprint(err)
}
