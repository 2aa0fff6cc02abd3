package safee

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// decodeObject checks that b is exactly one JSON object (surrounding
// whitespace allowed) in valid UTF-8 and returns its members. With duplicate
// keys the last one wins, as in encoding/json.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w at byte %d", ErrInvalidUTF8, invalidUTF8At(b))
	}
	start := bytes.TrimLeft(b, " \t\r\n")
	if len(start) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotJSON)
	}
	if start[0] != '{' {
		if json.Valid(b) {
			return nil, fmt.Errorf("%w: got %s", ErrNotObject, jsonKind(start[0]))
		}
		return nil, fmt.Errorf("%w: %s", ErrNotJSON, syntaxDetail(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotJSON, decodeDetail(err))
	}
	off := dec.InputOffset()
	if rest := bytes.TrimLeft(b[off:], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("%w at byte %d", ErrTrailingData, int64(len(b)-len(rest)))
	}
	return m, nil
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

// syntaxDetail returns encoding/json's description of why b is not JSON.
func syntaxDetail(b []byte) string {
	var v json.RawMessage
	return decodeDetail(json.Unmarshal(b, &v))
}

func decodeDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

// rawKind reports what a raw JSON value is: 'n' null, 's' string, 'd' number,
// 'o' object, 'a' array, 'b' boolean.
func rawKind(v json.RawMessage) byte {
	switch v[0] {
	case 'n':
		return 'n'
	case '"':
		return 's'
	case '{':
		return 'o'
	case '[':
		return 'a'
	case 't', 'f':
		return 'b'
	}
	return 'd'
}

// optString reads an optional string member: absent or null gives "".
func optString(m map[string]json.RawMessage, key, path string) (string, error) {
	v, ok := m[key]
	if !ok || rawKind(v) == 'n' {
		return "", nil
	}
	if rawKind(v) != 's' {
		return "", fmt.Errorf("%w: %s must be a string", ErrBadField, path)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrBadField, path, err)
	}
	return s, nil
}

// optID reads an optional identifier that may be a string or a number (apps
// send numeric user IDs); a number keeps its literal JSON text.
func optID(m map[string]json.RawMessage, key, path string) (string, error) {
	if v, ok := m[key]; ok && rawKind(v) == 'd' {
		return string(v), nil
	}
	s, err := optString(m, key, path)
	if err != nil {
		return "", fmt.Errorf("%w: %s must be a string or a number", ErrBadField, path)
	}
	return s, nil
}

// optObject reads an optional nested object: absent or null gives nil.
func optObject(m map[string]json.RawMessage, key string) (map[string]json.RawMessage, error) {
	v, ok := m[key]
	if !ok || rawKind(v) == 'n' {
		return nil, nil
	}
	if rawKind(v) != 'o' {
		return nil, fmt.Errorf("%w: %s must be an object", ErrBadField, key)
	}
	var o map[string]json.RawMessage
	if err := json.Unmarshal(v, &o); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadField, key, err)
	}
	return o, nil
}
