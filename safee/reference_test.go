package safee

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file keeps the encoding/json based parsers ParseEvent and
// ParseResponse replaced, unchanged but for their names (ref*), as the
// reference the differential tests hold the scanner-based ones to.

// knownResponseFields are the members Response models; the others go to
// Extra.
var knownResponseFields = map[string]bool{
	"risk": true, "account_abuse": true, "account_takeover": true, "bot": true,
	"signals": true, "policy": true,
}

func refDecodeObject(b []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w at byte %d", ErrInvalidUTF8, refInvalidUTF8At(b))
	}
	start := bytes.TrimLeft(b, " \t\r\n")
	if len(start) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotJSON)
	}
	if start[0] != '{' {
		if json.Valid(b) {
			return nil, fmt.Errorf("%w: got %s", ErrNotObject, refJSONKind(start[0]))
		}
		return nil, fmt.Errorf("%w: %s", ErrNotJSON, refSyntaxDetail(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotJSON, refDecodeDetail(err))
	}
	off := dec.InputOffset()
	if rest := bytes.TrimLeft(b[off:], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("%w at byte %d", ErrTrailingData, int64(len(b)-len(rest)))
	}
	return m, nil
}

func refInvalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func refJSONKind(first byte) string {
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

func refSyntaxDetail(b []byte) string {
	var v json.RawMessage
	return refDecodeDetail(json.Unmarshal(b, &v))
}

func refDecodeDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

func refRawKind(v json.RawMessage) byte {
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

func refOptString(m map[string]json.RawMessage, key, path string) (string, error) {
	v, ok := m[key]
	if !ok || refRawKind(v) == 'n' {
		return "", nil
	}
	if refRawKind(v) != 's' {
		return "", fmt.Errorf("%w: %s must be a string", ErrBadField, path)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrBadField, path, err)
	}
	return s, nil
}

func refOptID(m map[string]json.RawMessage, key, path string) (string, error) {
	if v, ok := m[key]; ok && refRawKind(v) == 'd' {
		return string(v), nil
	}
	s, err := refOptString(m, key, path)
	if err != nil {
		return "", fmt.Errorf("%w: %s must be a string or a number", ErrBadField, path)
	}
	return s, nil
}

func refOptObject(m map[string]json.RawMessage, key string) (map[string]json.RawMessage, error) {
	v, ok := m[key]
	if !ok || refRawKind(v) == 'n' {
		return nil, nil
	}
	if refRawKind(v) != 'o' {
		return nil, fmt.Errorf("%w: %s must be an object", ErrBadField, key)
	}
	var o map[string]json.RawMessage
	if err := json.Unmarshal(v, &o); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadField, key, err)
	}
	return o, nil
}

func refParseEvent(b []byte) (Event, error) {
	m, err := refDecodeObject(b)
	if err != nil {
		return Event{}, err
	}
	var ev Event
	switch t, ok := m["type"]; {
	case !ok || refRawKind(t) == 'n':
		return Event{}, ErrMissingType
	case refRawKind(t) != 's':
		return Event{}, fmt.Errorf("%w: type must be a string", ErrBadType)
	}
	if ev.Type, err = refOptString(m, "type", "type"); err != nil {
		return Event{}, err
	}
	if ev.Type == "" {
		return Event{}, ErrMissingType
	}
	if _, err := EventName(ev.Type); err != nil {
		return Event{}, err
	}
	if ev.Status, err = refOptString(m, "status", "status"); err != nil {
		return Event{}, err
	}
	if ev.EventID, err = refOptID(m, "event_id", "event_id"); err != nil {
		return Event{}, err
	}
	if ev.Product, err = refOptString(m, "product", "product"); err != nil {
		return Event{}, err
	}
	if ev.Timestamp, err = refParseTimestamp(m); err != nil {
		return Event{}, err
	}
	user, err := refOptObject(m, "user")
	if err != nil {
		return Event{}, err
	}
	if ev.UserID, err = refOptID(user, "user_id", "user.user_id"); err != nil {
		return Event{}, err
	}
	if ev.Email, err = refOptString(user, "user_email", "user.user_email"); err != nil {
		return Event{}, err
	}
	if ev.IP, err = refOptString(user, "user_ip", "user.user_ip"); err != nil {
		return Event{}, err
	}
	headers, err := refOptObject(m, "user_headers")
	if err != nil {
		return Event{}, err
	}
	if ev.UserAgent, err = refOptString(headers, "user_agent", "user_headers.user_agent"); err != nil {
		return Event{}, err
	}
	ev.Raw = append([]byte(nil), b...)
	return ev, nil
}

func refParseTimestamp(m map[string]json.RawMessage) (time.Time, error) {
	v, ok := m["timestamp"]
	if !ok || refRawKind(v) == 'n' {
		return time.Time{}, nil
	}
	if refRawKind(v) != 's' {
		return time.Time{}, fmt.Errorf("%w: must be an RFC 3339 string", ErrBadTimestamp)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return time.Time{}, fmt.Errorf("%w: %v", ErrBadTimestamp, err)
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q is not RFC 3339", ErrBadTimestamp, snippet([]byte(s), ""))
	}
	return ts, nil
}

func refParseAction(s string) Action {
	switch a := Action(strings.ToLower(strings.TrimSpace(s))); a {
	case ActionAllow, ActionChallenge, ActionDeny:
		return a
	}
	return ActionUnknown
}

func refParseResponse(b []byte) (Response, error) {
	m, err := refDecodeObject(b)
	if err != nil {
		return Response{}, err
	}
	var r Response
	for _, s := range []struct {
		key string
		dst *float64
	}{
		{"risk", &r.Risk},
		{"account_abuse", &r.AccountAbuse},
		{"account_takeover", &r.AccountTakeover},
		{"bot", &r.Bot},
	} {
		if *s.dst, err = refParseScore(m, s.key); err != nil {
			return Response{}, err
		}
	}
	if r.Signals, err = refParseSignals(m); err != nil {
		return Response{}, err
	}
	pol, err := refOptObject(m, "policy")
	if err != nil {
		return Response{}, err
	}
	if r.Policy.Name, err = refOptString(pol, "name", "policy.name"); err != nil {
		return Response{}, err
	}
	if r.Policy.Action, err = refOptString(pol, "action", "policy.action"); err != nil {
		return Response{}, err
	}
	r.Action = refParseAction(r.Policy.Action)
	for k, v := range m {
		if knownResponseFields[k] {
			continue
		}
		if r.Extra == nil {
			r.Extra = make(map[string]json.RawMessage)
		}
		r.Extra[k] = v
	}
	r.Raw = append([]byte(nil), b...)
	return r, nil
}

func refParseScore(m map[string]json.RawMessage, key string) (float64, error) {
	v, ok := m[key]
	if !ok || refRawKind(v) == 'n' {
		return 0, nil
	}
	text := string(v)
	switch refRawKind(v) {
	case 'd':
	case 's':
		if err := json.Unmarshal(v, &text); err != nil {
			return 0, fmt.Errorf("%w: %s: %v", ErrBadScore, key, err)
		}
		if !refIsDecimal(text) {
			return 0, fmt.Errorf("%w: %s: %q is not a number", ErrBadScore, key, snippet([]byte(text), ""))
		}
	default:
		return 0, fmt.Errorf("%w: %s must be a number", ErrBadScore, key)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
		return 0, fmt.Errorf("%w: %s = %s is outside 0-100", ErrBadScore, key, snippet([]byte(text), ""))
	}
	return f, nil
}

func refIsDecimal(s string) bool {
	return s != "" && json.Valid([]byte(s)) && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
}

func refParseSignals(m map[string]json.RawMessage) ([]string, error) {
	v, ok := m["signals"]
	if !ok || refRawKind(v) == 'n' {
		return nil, nil
	}
	if refRawKind(v) != 'a' {
		return nil, fmt.Errorf("%w: signals must be an array of strings", ErrBadField)
	}
	var sig []string
	if err := json.Unmarshal(v, &sig); err != nil {
		return nil, fmt.Errorf("%w: signals must be an array of strings", ErrBadField)
	}
	return sig, nil
}
