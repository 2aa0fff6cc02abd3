package store

import (
	"fmt"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Record format versions: each decoder reads every version up to the one
// its encoder writes.
const (
	// decisionV1 (round 1): no flags, shadow fields or tail; the event
	// time field held the event's own timestamp (or nothing), not the
	// normalised event time.
	decisionV1 = 1
	decisionV2 = 2
	// decisionV3 keeps the raw bodies compressed (see rawcodec.go).
	decisionV3 = 3
	// decisionV4 names repeating strings by their ID in the string table
	// and packs numbers and times (see decisionv4.go).
	decisionV4 = 4

	inboxV      = 1
	rejectedV   = 1
	checkpointV = 1
	// summaryV1 (round 1) had no times for the latest values.
	summaryV1 = 1
	summaryV2 = 2
)

// Decision flags (version 2).
const flagClockSkew = 1 << 0

// maxRejectedHead bounds Rejected.Head as stored.
const maxRejectedHead = 256

// decodeDecision fills d from a stored key and value of any version. With
// c.raw nil the request and response bytes are left nil (cheaper, for scans
// that filter first); otherwise they are the bytes as received, inflated
// with c.raw's dictionaries where the record keeps them compressed. d shares
// nothing with val. d.EventTime is always set: a record without one (or
// with one before 1970) gets the stored time, and a version-1 record's raw
// timestamp goes through decision.EventTimeOf as the collector does today.
// A string ID that c.strs lacks is an error wrapping ErrCorrupt.
func decodeDecision(key, val []byte, d *decision.Decision, c recCodec) error {
	return decodeDecisionWith(key, val, d, c, nil)
}

// decodeDecisionWith is decodeDecision taking the strings that repeat
// (source, type, status, user agent, country, signals, policy, shadow
// rule) from in, when not nil: a scan then allocates them once.
func decodeDecisionWith(key, val []byte, d *decision.Decision, c recCodec, in *interner) error {
	if len(key) != len(decKey{}) {
		return fmt.Errorf("decision key %x: %w", key, errRecord)
	}
	k := decKey(key)
	r := decoder{b: val, in: in}
	v := r.version(decisionV4)
	*d = decision.Decision{ID: k.id(), Time: k.time()}
	if v == decisionV4 {
		decodeV4(&r, d, c)
	} else {
		decodeV1to3(&r, v, d, c.raw)
	}
	if r.err != nil {
		return fmt.Errorf("decision %s: %w", k.id(), r.err)
	}
	return nil
}

// decodeV1to3 reads the rest of a record of version 1, 2 or 3 after its
// version byte.
//
// Version 2 layout: the version byte, lp(user ID) (first, so that peekUser
// reads it with one varint), the event time as varint unix nanoseconds
// (0: the stored time), a flags byte, lp(event ID), the received time,
// lp(source, type, status, email, IP, user agent, country), the four
// scores as 8-byte floats, uvarint count and lp of each signal, lp(policy),
// the action byte (index in decision.Actions), the shadow action byte (0 for
// none, else 1 + index), lp(shadow rule), lp(error), varint HTTP status,
// latency and attempts, the raw request and response (last, so that a
// scan can decode a decision without them), and a tail of tagged fields,
// each a tag byte and a length-prefixed value, for fields added later
// without a new version (none yet; decoders skip tags they do not know).
//
// Version 3 is version 2 with the raw bodies as rawCodec.appendRaw writes them:
// a uvarint encoding tag, then lp(request), lp(response) for the tag
// rawPlain (version 2 has only these two), or the lengths and one zstd
// frame of both for the ID of the dictionary it was made with.
func decodeV1to3(r *decoder, v byte, d *decision.Decision, raw *rawCodec) {
	d.UserID = r.str()
	switch v {
	case decisionV1:
		d.EventID = r.str()
		d.ReceivedAt = r.time()
		d.EventTime, d.ClockSkew = decision.EventTimeOf(r.time(), d.ReceivedAt)
		if ev := clampNanos(d.EventTime); ev != 0 {
			d.EventTime = time.Unix(0, ev).UTC()
		}
	default:
		if ev := r.varint(); ev > 0 {
			d.EventTime = time.Unix(0, ev).UTC()
		}
		d.ClockSkew = r.byte1()&flagClockSkew != 0
		d.EventID = r.str()
		d.ReceivedAt = r.time()
	}
	if clampNanos(d.EventTime) == 0 {
		d.EventTime = d.Time
	}
	d.Source = r.istr()
	d.Type = r.istr()
	d.Status = r.istr()
	d.Email = r.str()
	d.IP = r.str()
	d.UserAgent = r.istr()
	d.Country = r.istr()
	d.Risk = r.f64()
	d.AccountAbuse = r.f64()
	d.AccountTakeover = r.f64()
	d.Bot = r.f64()
	d.Signals = r.list(r.istr)
	d.Policy = r.istr()
	if a := int(r.byte1()); a < decision.NumActions {
		d.Action = decision.Actions[a]
	} else {
		r.fail()
	}
	if v >= decisionV2 {
		switch a := int(r.byte1()); {
		case a == 0:
		case a <= decision.NumActions:
			d.ShadowAction = decision.Actions[a-1]
		default:
			r.fail()
		}
		d.ShadowRule = r.istr()
	}
	d.Error = r.str()
	d.HTTPStatus = int(r.varint())
	d.Latency = time.Duration(r.varint())
	d.Attempts = int(r.varint())
	if raw != nil {
		if v >= decisionV3 {
			d.Request, d.Response = raw.readRaw(r)
		} else {
			d.Request, d.Response = r.bytes(), r.bytes()
		}
		if v >= decisionV2 {
			skipTail(r)
		}
		if r.err == nil && len(r.b) != 0 {
			r.fail()
		}
	}
}

// skipTail reads a record's tail: no tags are known yet, so every one is
// skipped.
func skipTail(r *decoder) {
	for len(r.b) > 0 && r.err == nil {
		r.byte1()
		r.view()
	}
}

// peekUser returns the user ID field of a stored decision without copying
// or decoding the rest; nil when it does not decode. Every version starts
// with it.
func peekUser(val []byte) []byte {
	r := decoder{b: val}
	r.version(decisionV4)
	u := r.view()
	if r.err != nil {
		return nil
	}
	return u
}

// peekEvent returns the user ID field (not copied) and the event-time
// nanoseconds of a stored decision, reading as little as its version
// allows; ev is what clampNanos(d.EventTime) is after decodeDecision.
func peekEvent(key decKey, val []byte) (user []byte, ev int64, err error) {
	r := decoder{b: val}
	v := r.version(decisionV4)
	user = r.view()
	switch v {
	case decisionV1:
		r.view()
		received := r.time()
		t, _ := decision.EventTimeOf(r.time(), received)
		ev = clampNanos(t)
	case decisionV4:
		ev = max(peekEventV4(&r), 0)
	default:
		ev = max(r.varint(), 0)
	}
	if r.err != nil {
		return nil, 0, fmt.Errorf("decision %s: %w", key.id(), r.err)
	}
	if ev == 0 {
		ev = clampNanos(key.time())
	}
	return user, ev, nil
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

// summary is a user summary as the store keeps it: the fields of
// decision.UserSummary, times in unix nanoseconds, and for each "latest"
// value the event time of the decision it came from, so that decisions
// folded in out of event-time order still leave the value of the latest
// one.
type summary struct {
	email, ip, country       string
	emailAt, ipAt, countryAt int64
	// first and last are the smallest and largest event time.
	first, last               int64
	count, denies, challenges uint64
	maxRisk                   float64
}

// add folds in one decision with event time ev and fields f. A decision
// folded in later wins a tie of event times, so decisions must come in an
// order that puts the later stored one last among equal event times
// (arrival order, or the user index's order).
func (s *summary) add(ev int64, f *userFields) {
	if s.count == 0 || ev < s.first {
		s.first = ev
	}
	if s.count == 0 || ev > s.last {
		s.last = ev
	}
	s.count++
	switch f.action {
	case decision.ActionDeny:
		s.denies++
	case decision.ActionChallenge:
		s.challenges++
	}
	if f.action != decision.ActionError {
		s.maxRisk = max(s.maxRisk, f.risk)
	}
	latest(&s.email, &s.emailAt, f.email, ev)
	latest(&s.ip, &s.ipAt, f.ip, ev)
	latest(&s.country, &s.countryAt, f.country, ev)
}

// latest replaces *v (from event time *at) by a non-empty nv from event
// time ev unless *v is newer.
func latest(v *string, at *int64, nv string, ev int64) {
	if nv != "" && (*v == "" || ev >= *at) {
		*v, *at = nv, ev
	}
}

// merge folds o, a summary of decisions stored after those in s, into s.
func (s *summary) merge(o *summary) {
	if o.count == 0 {
		return
	}
	if s.count == 0 {
		*s = *o
		return
	}
	s.first = min(s.first, o.first)
	s.last = max(s.last, o.last)
	s.count += o.count
	s.denies += o.denies
	s.challenges += o.challenges
	s.maxRisk = max(s.maxRisk, o.maxRisk)
	latest(&s.email, &s.emailAt, o.email, o.emailAt)
	latest(&s.ip, &s.ipAt, o.ip, o.ipAt)
	latest(&s.country, &s.countryAt, o.country, o.countryAt)
}

// public returns s as the user summary of user.
func (s *summary) public(user string) decision.UserSummary {
	return decision.UserSummary{
		UserID: user, Email: s.email, LastIP: s.ip, LastCountry: s.country,
		FirstSeen: time.Unix(0, s.first).UTC(), LastSeen: time.Unix(0, s.last).UTC(),
		Count: s.count, Denies: s.denies, Challenges: s.challenges, MaxRisk: s.maxRisk,
	}
}

// encodeSummary appends the stored form of s (version 2: the version-1
// fields, then varint event times of the latest email, IP and country).
func encodeSummary(b []byte, s *summary) []byte {
	e := encoder{b}
	e.byte1(summaryV2)
	e.str(s.email)
	e.str(s.ip)
	e.str(s.country)
	e.varint(s.first)
	e.varint(s.last)
	e.uvarint(s.count)
	e.uvarint(s.denies)
	e.uvarint(s.challenges)
	e.f64(s.maxRisk)
	e.varint(s.emailAt)
	e.varint(s.ipAt)
	e.varint(s.countryAt)
	return e.b
}

// decodeSummary reads a stored summary of any version; a version-1 one
// takes its last-seen time as the time of its latest values.
func decodeSummary(user string, val []byte, s *summary) error {
	r := decoder{b: val}
	v := r.version(summaryV2)
	s.email = r.str()
	s.ip = r.str()
	s.country = r.str()
	s.first = r.varint()
	s.last = r.varint()
	s.count = r.uvarint()
	s.denies = r.uvarint()
	s.challenges = r.uvarint()
	s.maxRisk = r.f64()
	s.emailAt, s.ipAt, s.countryAt = s.last, s.last, s.last
	if v >= summaryV2 {
		s.emailAt = r.varint()
		s.ipAt = r.varint()
		s.countryAt = r.varint()
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	if r.err != nil {
		return fmt.Errorf("user summary %q: %w", user, r.err)
	}
	return nil
}
