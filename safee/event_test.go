package safee

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// specLogin is Safe-e's own example request body (SPEC section 1).
const specLogin = `{"type":"$login","status":"$succeeded",` +
	`"user_headers":{"user_agent":"Mozilla/5.0 (X11; Linux x86_64)","host":"shop.example","accept_language":"en-US","accept_encoding":"gzip","accept":"text/html"},` +
	`"product":"web","user":{"user_id":"u-42","user_email":"ada@example.com","user_ip":"203.0.113.7"}}`

func TestParseEventFields(t *testing.T) {
	ev, err := ParseEvent([]byte(specLogin))
	if err != nil {
		t.Fatalf("ParseEvent: %v", err)
	}
	want := Event{
		Type: "$login", Status: "$succeeded", UserID: "u-42", Email: "ada@example.com",
		IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Product: "web",
	}
	got := ev
	got.Raw = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields:\n got %+v\nwant %+v", got, want)
	}
	if string(ev.Raw) != specLogin {
		t.Errorf("Raw changed: %s", ev.Raw)
	}
	if ev.Name() != "login" || ev.Route() != RouteRisk {
		t.Errorf("Name, Route = %q, %q; want login, risk", ev.Name(), ev.Route())
	}
}

func TestParseEventKeepsRawExactlyAndDoesNotAlias(t *testing.T) {
	in := []byte(" \t{ \"type\" : \"$custom\", \"x\": [1, 2.50, {\"y\": null}], \"big\": 1e999 }\r\n")
	orig := append([]byte(nil), in...)
	ev, err := ParseEvent(in)
	if err != nil {
		t.Fatalf("ParseEvent: %v", err)
	}
	if !bytes.Equal(ev.Raw, orig) {
		t.Fatalf("Raw = %q, want %q", ev.Raw, orig)
	}
	in[3] = 'X'
	if !bytes.Equal(ev.Raw, orig) {
		t.Fatal("Raw aliases the input buffer")
	}
}

func TestParseEventOptionalFields(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Event
	}{
		{"event id and timestamp",
			`{"type":"$login","event_id":"e-1","timestamp":"2026-03-01T10:20:30.123Z"}`,
			Event{Type: "$login", EventID: "e-1", Timestamp: time.Date(2026, 3, 1, 10, 20, 30, 123e6, time.UTC)}},
		{"timestamp with offset",
			`{"type":"$login","timestamp":"2026-03-01T12:20:30+02:00"}`,
			Event{Type: "$login", Timestamp: time.Date(2026, 3, 1, 10, 20, 30, 0, time.UTC)}},
		{"numeric ids keep their text",
			`{"type":"$login","event_id":12345678901234567890,"user":{"user_id":42}}`,
			Event{Type: "$login", EventID: "12345678901234567890", UserID: "42"}},
		{"nulls are absent",
			`{"type":"$login","status":null,"event_id":null,"timestamp":null,"user":null,"user_headers":null,"product":null}`,
			Event{Type: "$login"}},
		{"nested nulls are absent",
			`{"type":"$login","user":{"user_id":null,"user_email":null,"user_ip":null},"user_headers":{"user_agent":null}}`,
			Event{Type: "$login"}},
		{"type without dollar", `{"type":"login"}`, Event{Type: "login"}},
		{"duplicate key: last wins", `{"type":"$login","type":"$logout"}`, Event{Type: "$logout"}},
		{"escaped strings", `{"type":"\u0024login","user":{"user_email":"a\u00e9@x"}}`, Event{Type: "$login", Email: "aé@x"}},
		{"unknown members ignored", `{"type":"$transaction","amount":{"value":9.99},"tags":["a"]}`, Event{Type: "$transaction"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseEvent([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			ev.Raw = nil
			if !ev.Timestamp.Equal(tt.want.Timestamp) {
				t.Errorf("Timestamp = %v, want %v", ev.Timestamp, tt.want.Timestamp)
			}
			ev.Timestamp, tt.want.Timestamp = time.Time{}, time.Time{}
			if !reflect.DeepEqual(ev, tt.want) {
				t.Errorf("got %+v\nwant %+v", ev, tt.want)
			}
		})
	}
}

func TestParseEventErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   error
		detail string // must appear in the message
	}{
		{"empty", "", ErrNotJSON, "empty"},
		{"blank", " \n\t", ErrNotJSON, "empty"},
		{"invalid utf-8", "{\"type\":\"$login\",\"x\":\"\xff\"}", ErrInvalidUTF8, "byte 22"},
		{"truncated utf-8", "{\"type\":\"$lo\xe2\x82", ErrInvalidUTF8, "byte 12"},
		{"garbage", "hello", ErrNotJSON, "invalid character"},
		{"truncated object", `{"type":"$login"`, ErrNotJSON, "end of input"},
		{"bad member", `{"type":"$login",}`, ErrNotJSON, "invalid character"},
		{"raw NUL", "{\"type\":\"$login\"\x00}", ErrNotJSON, ""},
		{"NUL inside string", "{\"type\":\"$lo\x00gin\"}", ErrNotJSON, ""},
		{"array", `[{"type":"$login"}]`, ErrNotObject, "array"},
		{"string", `"$login"`, ErrNotObject, "string"},
		{"number", `42`, ErrNotObject, "number"},
		{"null", `null`, ErrNotObject, "null"},
		{"bool", `true`, ErrNotObject, "boolean"},
		{"trailing garbage", `{"type":"$login"} x`, ErrTrailingData, "byte 18"},
		{"two objects", `{"type":"$login"}{"type":"$login"}`, ErrTrailingData, "byte 17"},
		{"missing type", `{"status":"$failed"}`, ErrMissingType, ""},
		{"null type", `{"type":null}`, ErrMissingType, ""},
		{"empty type", `{"type":""}`, ErrMissingType, ""},
		{"numeric type", `{"type":7}`, ErrBadType, "string"},
		{"object type", `{"type":{"a":1}}`, ErrBadType, "string"},
		{"only dollar", `{"type":"$"}`, ErrBadType, "no name"},
		{"path traversal", `{"type":"$../../admin"}`, ErrBadType, "only letters"},
		{"slash", `{"type":"$login/x"}`, ErrBadType, ""},
		{"query", `{"type":"$login?x=1"}`, ErrBadType, ""},
		{"percent escape", `{"type":"$%2e%2e"}`, ErrBadType, ""},
		{"space", `{"type":"$log in"}`, ErrBadType, ""},
		{"unicode lookalike", `{"type":"$ｌogin"}`, ErrBadType, ""},
		{"escaped NUL", `{"type":"$login\u0000"}`, ErrBadType, ""},
		{"too long", `{"type":"$` + strings.Repeat("a", 65) + `"}`, ErrBadType, "longer"},
		{"status not string", `{"type":"$login","status":1}`, ErrBadField, "status"},
		{"event id object", `{"type":"$login","event_id":{}}`, ErrBadField, "event_id"},
		{"user not object", `{"type":"$login","user":"u1"}`, ErrBadField, "user"},
		{"user id bool", `{"type":"$login","user":{"user_id":true}}`, ErrBadField, "user.user_id"},
		{"email number", `{"type":"$login","user":{"user_email":5}}`, ErrBadField, "user.user_email"},
		{"ip array", `{"type":"$login","user":{"user_ip":["1.2.3.4"]}}`, ErrBadField, "user.user_ip"},
		{"headers not object", `{"type":"$login","user_headers":[]}`, ErrBadField, "user_headers"},
		{"user agent number", `{"type":"$login","user_headers":{"user_agent":1}}`, ErrBadField, "user_headers.user_agent"},
		{"product bool", `{"type":"$login","product":false}`, ErrBadField, "product"},
		{"timestamp number", `{"type":"$login","timestamp":1700000000}`, ErrBadTimestamp, "RFC 3339"},
		{"timestamp not rfc3339", `{"type":"$login","timestamp":"yesterday"}`, ErrBadTimestamp, "yesterday"},
		{"timestamp without zone", `{"type":"$login","timestamp":"2026-03-01T10:20:30"}`, ErrBadTimestamp, ""},
		{"deep nesting", `{"type":"$login","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, ErrNotJSON, "depth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseEvent([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("err = %q, want it to mention %q", err, tt.detail)
			}
			if ev.Raw != nil || ev.Type != "" {
				t.Errorf("failed parse returned a non-zero event: %+v", ev)
			}
		})
	}
}

func TestEventNameAndRoute(t *testing.T) {
	names := map[string]string{
		"$login": "login", "$profile_update": "profile_update", "$Login": "login",
		"LOGIN": "login", "custom_2": "custom_2", "$$login": "",
	}
	for typ, want := range names {
		got, err := EventName(typ)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("EventName(%q) = %q, %v; want %q", typ, got, err, want)
		}
	}
	routes := map[string]Route{
		"$attempted": RouteFilter, "$failed": RouteFilter, "$FAILED": RouteFilter,
		"$succeeded": RouteRisk, "": RouteRisk, "failed": RouteRisk,
	}
	for status, want := range routes {
		if got := (Event{Type: "$login", Status: status}).Route(); got != want {
			t.Errorf("Route for status %q = %q, want %q", status, got, want)
		}
	}
	if got := (Event{Type: "$../x"}).Name(); got != "" {
		t.Errorf("Name of a hostile type = %q, want empty", got)
	}
}
