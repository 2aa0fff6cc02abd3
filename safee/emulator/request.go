package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// The emulator's two routes.
const (
	routeRisk   = "risk"
	routeFilter = "filter"
)

// maxEventName bounds the {event} path segment, as Safe-e's client does.
const maxEventName = 64

// event is the part of a Safe-e event the emulator scores. Everything else
// in the body is accepted and ignored, as Safe-e passes unknown fields.
type event struct {
	typ    string
	status string
	// at is the event's own timestamp, or Options.Now when it has none.
	at      time.Time
	userKey uint64
	email   string
	agent   string
	// headers is false when the event has no user_headers at all, so
	// nothing can be said about its device.
	headers bool
	ip      netip.Addr // the zero Addr when the event carries none
}

// failed reports whether the event is a failed attempt.
func (e *event) failed() bool { return strings.EqualFold(e.status, "$failed") }

// succeeded reports whether the event is a success (the default status of
// the risk route).
func (e *event) succeeded() bool { return strings.EqualFold(e.status, "$succeeded") }

// is reports whether the event has the given type, without regard to case.
func (e *event) is(typ string) bool { return strings.EqualFold(e.typ, typ) }

// wireEvent is how an event is decoded. Pointers tell a missing field from
// an empty one.
type wireEvent struct {
	Type        *string         `json:"type"`
	Status      *string         `json:"status"`
	Timestamp   json.RawMessage `json:"timestamp"`
	UserHeaders *struct {
		UserAgent string `json:"user_agent"`
	} `json:"user_headers"`
	User *struct {
		ID    string `json:"user_id"`
		Email string `json:"user_email"`
		IP    string `json:"user_ip"`
	} `json:"user"`
}

// requestError is a request the emulator refuses, with its HTTP status.
type requestError struct {
	status  int
	message string
}

func (e *requestError) Error() string { return e.message }

func badRequest(format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, message: fmt.Sprintf(format, args...)}
}

func unprocessable(format string, args ...any) *requestError {
	return &requestError{status: http.StatusUnprocessableEntity, message: fmt.Sprintf(format, args...)}
}

// clip shortens a client-supplied string before it is quoted in an error.
func clip(s string) string { return truncate(s, 64) }

// truncate cuts s to at most limit bytes on a rune boundary, marking the cut.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// validEventName reports whether a route's {event} segment is 1 to 64 of
// [a-z0-9_], the names Safe-e's client produces.
func validEventName(name string) bool {
	if name == "" || len(name) > maxEventName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// parseEvent checks a request body sent to /{route}/{name}: 400 for a body
// that is not one UTF-8 JSON object, 422 for an object that is not a Safe-e
// event for this route. now supplies the time of an event without a valid
// RFC 3339 timestamp.
func parseEvent(route, name string, body []byte, now func() time.Time) (event, *requestError) {
	if !utf8.Valid(body) {
		return event{}, badRequest("body is not valid UTF-8")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return event{}, badRequest("body is not a JSON object")
	}
	// Unmarshal checks the whole body is valid JSON before decoding, so a
	// syntax error (trailing data included) is never half-decoded.
	var w wireEvent
	if err := json.Unmarshal(trimmed, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return event{}, unprocessable("field %s must be a %s, not a JSON %s", te.Field, te.Type, te.Value)
		}
		return event{}, badRequest("body is not a JSON object: %v", err)
	}

	var ev event
	if w.Type == nil || *w.Type == "" {
		return event{}, unprocessable("missing type")
	}
	ev.typ = *w.Type
	if !strings.HasPrefix(ev.typ, "$") || !strings.EqualFold(ev.typ[1:], name) {
		return event{}, unprocessable("type %q does not match the route's event %q (want %q)", clip(ev.typ), name, "$"+name)
	}

	switch {
	case w.Status == nil || *w.Status == "":
		ev.status = "$succeeded"
		if route == routeFilter {
			ev.status = "$attempted"
		}
	case strings.HasPrefix(*w.Status, "$"):
		ev.status = *w.Status
	default:
		return event{}, unprocessable("status %q must start with $", clip(*w.Status))
	}

	if w.User == nil {
		return event{}, unprocessable("missing user")
	}
	switch {
	case w.User.ID != "":
		ev.userKey = hashString("id:" + w.User.ID)
	case route == routeFilter && w.User.Email != "":
		ev.userKey = hashString("email:" + strings.ToLower(w.User.Email))
	case route == routeFilter:
		return event{}, unprocessable("missing user.user_id and user.user_email")
	default:
		return event{}, unprocessable("missing user.user_id")
	}
	ev.email = w.User.Email
	if w.User.IP != "" {
		ip, err := netip.ParseAddr(w.User.IP)
		if err != nil {
			return event{}, unprocessable("user.user_ip %q is not an IP address", clip(w.User.IP))
		}
		ev.ip = ip.Unmap().WithZone("")
	}
	if w.UserHeaders != nil {
		ev.headers = true
		ev.agent = w.UserHeaders.UserAgent
	}

	ev.at = now()
	var ts string
	if len(w.Timestamp) > 0 && json.Unmarshal(w.Timestamp, &ts) == nil {
		if t, err := time.Parse(time.RFC3339, ts); err == nil {
			ev.at = t
		}
	}
	return ev, nil
}
