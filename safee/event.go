package safee

import (
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
	var f eventFields
	if err := f.scan(b); err != nil {
		return Event{}, err
	}
	return f.event(b)
}

// eventFields holds, as the scanner found them, the members ParseEvent
// reads: for each key its last occurrence, as encoding/json would keep it.
type eventFields struct {
	typ, status, eventID, product, timestamp rawValue

	user    rawValue // its members below, when it is an object
	userID  rawValue
	email   rawValue
	ip      rawValue
	headers rawValue // its member below, when it is an object
	agent   rawValue
}

// scan checks that b is exactly one JSON object in valid UTF-8 and records
// the members ParseEvent reads.
func (f *eventFields) scan(b []byte) error {
	s, err := openObject(b)
	if err != nil {
		return err
	}
	for first := true; ; first = false {
		key, more, err := s.nextKey(first)
		if err != nil {
			return notJSON(err)
		}
		if !more {
			return s.end()
		}
		switch string(keyName(key)) {
		case "type":
			f.typ, err = s.value()
		case "status":
			f.status, err = s.value()
		case "event_id":
			f.eventID, err = s.value()
		case "product":
			f.product, err = s.value()
		case "timestamp":
			f.timestamp, err = s.value()
		case "user":
			f.userID, f.email, f.ip = rawValue{}, rawValue{}, rawValue{}
			f.user, err = s.object([]string{"user_id", "user_email", "user_ip"}, []*rawValue{&f.userID, &f.email, &f.ip})
		case "user_headers":
			f.agent = rawValue{}
			f.headers, err = s.object([]string{"user_agent"}, []*rawValue{&f.agent})
		default:
			_, err = s.value()
		}
		if err != nil {
			return notJSON(err)
		}
	}
}

// event checks the members' types, in a fixed order so that the error for
// an input does not depend on the order of its keys, and builds the Event.
func (f *eventFields) event(b []byte) (Event, error) {
	switch {
	case f.typ.absent():
		return Event{}, ErrMissingType
	case f.typ.kind != 's':
		return Event{}, fmt.Errorf("%w: type must be a string", ErrBadType)
	}
	var buf [9]string
	t := texts(buf[:0], f.typ, f.status, f.eventID, f.product, f.timestamp, f.userID, f.email, f.ip, f.agent)

	ev := Event{Type: t[0]}
	if ev.Type == "" {
		return Event{}, ErrMissingType
	}
	if _, err := EventName(ev.Type); err != nil {
		return Event{}, err
	}
	if err := checkString(f.status, "status"); err != nil {
		return Event{}, err
	}
	if err := checkID(f.eventID, "event_id"); err != nil {
		return Event{}, err
	}
	if err := checkString(f.product, "product"); err != nil {
		return Event{}, err
	}
	ts, err := parseTimestamp(f.timestamp, t[4])
	if err != nil {
		return Event{}, err
	}
	if err := checkObject(f.user, "user"); err != nil {
		return Event{}, err
	}
	if err := checkID(f.userID, "user.user_id"); err != nil {
		return Event{}, err
	}
	if err := checkString(f.email, "user.user_email"); err != nil {
		return Event{}, err
	}
	if err := checkString(f.ip, "user.user_ip"); err != nil {
		return Event{}, err
	}
	if err := checkObject(f.headers, "user_headers"); err != nil {
		return Event{}, err
	}
	if err := checkString(f.agent, "user_headers.user_agent"); err != nil {
		return Event{}, err
	}
	ev.Status, ev.EventID, ev.Product, ev.Timestamp = t[1], t[2], t[3], ts
	ev.UserID, ev.Email, ev.IP, ev.UserAgent = t[5], t[6], t[7], t[8]
	ev.Raw = append([]byte(nil), b...)
	return ev, nil
}

// parseTimestamp reads the optional timestamp member v, whose decoded text
// is text.
func parseTimestamp(v rawValue, text string) (time.Time, error) {
	if v.absent() {
		return time.Time{}, nil
	}
	if v.kind != 's' {
		return time.Time{}, fmt.Errorf("%w: must be an RFC 3339 string", ErrBadTimestamp)
	}
	ts, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q is not RFC 3339", ErrBadTimestamp, snippet([]byte(text), ""))
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
