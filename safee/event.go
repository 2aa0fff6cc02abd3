package safee

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event is the parsed view of one Safe-e event. Raw holds the event's exact
// bytes, which are what Client sends; the other fields are read from it for
// routing, identity and display. An Event returned by ParseEvent always has a
// Type whose Name is valid.
type Event struct {
	// Type is the event type as sent ("$login").
	Type string
	// Status is the event status ("$succeeded", "$failed"), "" if absent.
	Status string
	// EventID is the optional top-level event_id, "" if absent.
	EventID string
	// Timestamp is the optional top-level timestamp, zero if absent.
	Timestamp time.Time

	UserID    string // user.user_id (a number keeps its JSON text)
	Email     string // user.user_email
	IP        string // user.user_ip
	UserAgent string // user_headers.user_agent
	Product   string // product

	// Raw is a copy of the bytes ParseEvent was given, unchanged.
	Raw []byte
}

// ParseEvent reads an event: exactly one JSON object in valid UTF-8 with a
// non-empty string type whose name is valid (see EventName). Optional fields
// must have their documented types when present (null counts as absent):
// status, user.user_email, user.user_ip, user_headers.user_agent and product
// are strings; event_id and user.user_id are strings or numbers; user and
// user_headers are objects; timestamp is an RFC 3339 string. Any other member
// is kept in Raw untouched. The error wraps one of the Err* reasons and names
// the offending field. ParseEvent never panics and does not retain b.
func ParseEvent(b []byte) (Event, error) {
	m, err := decodeObject(b)
	if err != nil {
		return Event{}, err
	}
	var ev Event
	switch t, ok := m["type"]; {
	case !ok || rawKind(t) == 'n':
		return Event{}, ErrMissingType
	case rawKind(t) != 's':
		return Event{}, fmt.Errorf("%w: type must be a string", ErrBadType)
	}
	if ev.Type, err = optString(m, "type", "type"); err != nil {
		return Event{}, err
	}
	if ev.Type == "" {
		return Event{}, ErrMissingType
	}
	if _, err := EventName(ev.Type); err != nil {
		return Event{}, err
	}
	if ev.Status, err = optString(m, "status", "status"); err != nil {
		return Event{}, err
	}
	if ev.EventID, err = optID(m, "event_id", "event_id"); err != nil {
		return Event{}, err
	}
	if ev.Product, err = optString(m, "product", "product"); err != nil {
		return Event{}, err
	}
	if ev.Timestamp, err = parseTimestamp(m); err != nil {
		return Event{}, err
	}
	user, err := optObject(m, "user")
	if err != nil {
		return Event{}, err
	}
	if ev.UserID, err = optID(user, "user_id", "user.user_id"); err != nil {
		return Event{}, err
	}
	if ev.Email, err = optString(user, "user_email", "user.user_email"); err != nil {
		return Event{}, err
	}
	if ev.IP, err = optString(user, "user_ip", "user.user_ip"); err != nil {
		return Event{}, err
	}
	headers, err := optObject(m, "user_headers")
	if err != nil {
		return Event{}, err
	}
	if ev.UserAgent, err = optString(headers, "user_agent", "user_headers.user_agent"); err != nil {
		return Event{}, err
	}
	ev.Raw = append([]byte(nil), b...)
	return ev, nil
}

func parseTimestamp(m map[string]json.RawMessage) (time.Time, error) {
	v, ok := m["timestamp"]
	if !ok || rawKind(v) == 'n' {
		return time.Time{}, nil
	}
	if rawKind(v) != 's' {
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

// Name returns the event name used in the URL path ("login" for "$login"),
// or "" if Type is not a valid name.
func (e Event) Name() string {
	name, err := EventName(e.Type)
	if err != nil {
		return ""
	}
	return name
}

// Route returns the Safe-e route that scores the event: RouteFilter for the
// pre-authentication statuses $attempted and $failed (compared without
// regard to case), RouteRisk otherwise.
func (e Event) Route() Route { return RouteFor(e.Status) }
