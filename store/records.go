package store

import (
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Record format versions.
const (
	decisionV   = 1
	inboxV      = 1
	rejectedV   = 1
	checkpointV = 1
	summaryV    = 1
)

// maxRejectedHead bounds Rejected.Head as stored.
const maxRejectedHead = 256

// encodeDecision appends d's stored form (everything but ID and Time, which
// live in the key) to b. The user ID comes first, so that peekUser reads it
// with one varint, and the raw request and response come last, so that a
// scan can decode a decision without them.
func encodeDecision(b []byte, d *decision.Decision) []byte {
	e := encoder{b}
	e.byte1(decisionV)
	e.str(d.UserID)
	e.str(d.EventID)
	e.time(d.ReceivedAt)
	e.time(d.EventTime)
	e.str(d.Source)
	e.str(d.Type)
	e.str(d.Status)
	e.str(d.Email)
	e.str(d.IP)
	e.str(d.UserAgent)
	e.str(d.Country)
	e.f64(d.Risk)
	e.f64(d.AccountAbuse)
	e.f64(d.AccountTakeover)
	e.f64(d.Bot)
	e.uvarint(uint64(len(d.Signals)))
	for _, s := range d.Signals {
		e.str(s)
	}
	e.str(d.Policy)
	e.byte1(byte(d.Action.Index()))
	e.str(d.Error)
	e.varint(int64(d.HTTPStatus))
	e.varint(int64(d.Latency))
	e.varint(int64(d.Attempts))
	e.bytes(d.Request)
	e.bytes(d.Response)
	return e.b
}

// decodeDecision fills d from a stored key and value. With raw false the
// request and response bytes are left nil (cheaper, for scans that filter
// first). d shares nothing with val.
func decodeDecision(key, val []byte, d *decision.Decision, raw bool) error {
	if len(key) != len(decKey{}) {
		return fmt.Errorf("decision key %x: %w", key, errRecord)
	}
	k := decKey(key)
	r := decoder{b: val}
	r.version(decisionV)
	*d = decision.Decision{ID: k.id(), Time: k.time()}
	d.UserID = r.str()
	d.EventID = r.str()
	d.ReceivedAt = r.time()
	d.EventTime, d.ClockSkew = decision.EventTimeOf(r.time(), d.ReceivedAt)
	d.Source = r.str()
	d.Type = r.str()
	d.Status = r.str()
	d.Email = r.str()
	d.IP = r.str()
	d.UserAgent = r.str()
	d.Country = r.str()
	d.Risk = r.f64()
	d.AccountAbuse = r.f64()
	d.AccountTakeover = r.f64()
	d.Bot = r.f64()
	if n := r.uvarint(); n > 0 {
		if n > uint64(len(r.b)) {
			r.fail()
		} else {
			d.Signals = make([]string, n)
			for i := range d.Signals {
				d.Signals[i] = r.str()
			}
		}
	}
	d.Policy = r.str()
	if a := int(r.byte1()); a < decision.NumActions {
		d.Action = decision.Actions[a]
	} else {
		r.fail()
	}
	d.Error = r.str()
	d.HTTPStatus = int(r.varint())
	d.Latency = time.Duration(r.varint())
	d.Attempts = int(r.varint())
	if raw {
		d.Request = r.bytes()
		d.Response = r.bytes()
		if r.err == nil && len(r.b) != 0 {
			r.fail()
		}
	}
	if r.err != nil {
		return fmt.Errorf("decision %s: %w", k.id(), r.err)
	}
	return nil
}

// InboxEvent is an accepted event waiting to be scored.
type InboxEvent struct {
	// EventID identifies the event; Enqueue skips IDs already queued or
	// decided. It must not be empty.
	EventID string
	// Source names the input: "file:/var/log/app.ndjson", "http", ...
	Source string
	// ReceivedAt is when the collector accepted the event.
	ReceivedAt time.Time
	// Body is the raw event JSON object, exactly as accepted.
	Body []byte
}

// InboxItem is an inbox event with its queue position.
type InboxItem struct {
	// Seq is the event's position in the inbox; it increases with every
	// enqueued event and is never reused.
	Seq uint64
	InboxEvent
}

func encodeInbox(b []byte, ev *InboxEvent) []byte {
	e := encoder{b}
	e.byte1(inboxV)
	e.str(ev.EventID)
	e.str(ev.Source)
	e.time(ev.ReceivedAt)
	e.bytes(ev.Body)
	return e.b
}

func decodeInbox(val []byte, ev *InboxEvent) error {
	r := decoder{b: val}
	r.version(inboxV)
	ev.EventID = r.str()
	ev.Source = r.str()
	ev.ReceivedAt = r.time()
	ev.Body = r.bytes()
	return r.err
}

// inboxEventID reads only the event ID of an inbox record.
func inboxEventID(val []byte) (string, error) {
	r := decoder{b: val}
	r.version(inboxV)
	id := r.str()
	return id, r.err
}

// Rejected is input that could not be used, kept so that nothing is
// silently dropped.
type Rejected struct {
	Time   time.Time
	Source string
	// Position locates the input in its source: "offset 1234", "line 17",
	// "item 3".
	Position string
	Reason   string
	// Head holds the first bytes of the input; the store keeps at most 256.
	Head []byte
}

func encodeRejected(b []byte, rj *Rejected) []byte {
	head := rj.Head
	if len(head) > maxRejectedHead {
		head = head[:maxRejectedHead]
	}
	e := encoder{b}
	e.byte1(rejectedV)
	e.time(rj.Time)
	e.str(rj.Source)
	e.str(rj.Position)
	e.str(rj.Reason)
	e.bytes(head)
	return e.b
}

func decodeRejected(val []byte, rj *Rejected) error {
	r := decoder{b: val}
	r.version(rejectedV)
	rj.Time = r.time()
	rj.Source = r.str()
	rj.Position = r.str()
	rj.Reason = r.str()
	rj.Head = r.bytes()
	return r.err
}

// Checkpoint is how far a file source has been read: every complete line
// before Offset is in the inbox, decided, or rejected.
type Checkpoint struct {
	// Source is the same as InboxEvent.Source.
	Source string
	// FileID is an opaque identity of the file (device, inode, fingerprint).
	FileID string
	// Offset is the byte offset after the last complete line.
	Offset int64
}

func encodeCheckpoint(b []byte, cp *Checkpoint) []byte {
	e := encoder{b}
	e.byte1(checkpointV)
	e.str(cp.FileID)
	e.varint(cp.Offset)
	return e.b
}

func decodeCheckpoint(source string, val []byte) (Checkpoint, error) {
	r := decoder{b: val}
	r.version(checkpointV)
	cp := Checkpoint{Source: source, FileID: r.str(), Offset: r.varint()}
	if r.err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint %q: %w", source, r.err)
	}
	return cp, nil
}

func encodeSummary(b []byte, s *decision.UserSummary) []byte {
	e := encoder{b}
	e.byte1(summaryV)
	e.str(s.Email)
	e.str(s.LastIP)
	e.str(s.LastCountry)
	e.varint(clampNanos(s.FirstSeen))
	e.varint(clampNanos(s.LastSeen))
	e.uvarint(s.Count)
	e.uvarint(s.Denies)
	e.uvarint(s.Challenges)
	e.f64(s.MaxRisk)
	return e.b
}

func decodeSummary(user string, val []byte, s *decision.UserSummary) error {
	r := decoder{b: val}
	r.version(summaryV)
	s.UserID = user
	s.Email = r.str()
	s.LastIP = r.str()
	s.LastCountry = r.str()
	s.FirstSeen = time.Unix(0, r.varint()).UTC()
	s.LastSeen = time.Unix(0, r.varint()).UTC()
	s.Count = r.uvarint()
	s.Denies = r.uvarint()
	s.Challenges = r.uvarint()
	s.MaxRisk = r.f64()
	if r.err != nil {
		return fmt.Errorf("user summary %q: %w", user, r.err)
	}
	return nil
}
