package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"time"
)

// SchemaVersion is the layout version written on first open. A database with
// another version is refused with ErrSchema.
const SchemaVersion = 1

// Bucket names. Every bucket is flat (no nested buckets).
var (
	// bktMeta holds the schema version and the counters (metaKey*).
	bktMeta = []byte("meta")
	// bktInbox: 8-byte big-endian sequence -> inbox event.
	bktInbox = []byte("inbox")
	// bktEvents: event key -> 8-byte inbox sequence while the event is
	// queued, 16-byte decision key once it is decided. One entry per event
	// ID is what makes Enqueue and Complete idempotent.
	bktEvents = []byte("events")
	// bktDecisions: 16-byte decision key -> decision.
	bktDecisions = []byte("decisions")
	// bktByUser: lp(user) + decision key -> empty, for decisions up to
	// the user mark.
	bktByUser = []byte("by_user")
	// bktByIP: lp(ip) + lp(user) -> 4-byte big-endian unix day of the
	// pair's newest decision. It is a set of (IP, user) pairs, rewritten
	// only when the day changes, so most writes only read it.
	bktByIP = []byte("by_ip")
	// bktUsers: user -> user summary of the decisions up to the user mark.
	bktUsers = []byte("users")
	// bktMinutes and bktHours: 8-byte big-endian unix seconds of the minute
	// or hour start -> rollup record.
	bktMinutes = []byte("rollup_min")
	bktHours   = []byte("rollup_hour")
	// bktRejected: 8-byte big-endian sequence -> rejected record.
	bktRejected = []byte("rejected")
	// bktCheckpoints: source -> checkpoint.
	bktCheckpoints = []byte("checkpoints")
)

var allBuckets = [][]byte{
	bktMeta, bktInbox, bktEvents, bktDecisions, bktByUser, bktByIP,
	bktUsers, bktMinutes, bktHours, bktRejected, bktCheckpoints,
}

// Keys in bktMeta.
var (
	metaSchema  = []byte("schema")
	metaLastKey = []byte("last_key")
	// metaUserMark is the newest decision key whose user index entry and
	// summary are written; newer decisions are "pending" (see userstate.go).
	metaUserMark  = []byte("user_mark")
	metaDecisions = []byte("n_decisions")
	metaInbox     = []byte("n_inbox")
	metaRejected  = []byte("n_rejected")
)

// maxIndexPart bounds a user ID, IP or event ID used inside an index key;
// longer values are replaced by a digest (event IDs) or cut (users, IPs:
// queries compare the full value on the decision).
const maxIndexPart = 512

// decKey is a decision's primary key: 8-byte big-endian unix nanoseconds and
// an 8-byte big-endian sequence. Keys are assigned by the writer, strictly
// increasing, so the decisions bucket is append-only.
type decKey [16]byte

func makeDecKey(nanos int64, seq uint64) decKey {
	var k decKey
	binary.BigEndian.PutUint64(k[:8], uint64(nanos))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

func (k decKey) nanos() int64 { return int64(binary.BigEndian.Uint64(k[:8])) }
func (k decKey) seq() uint64  { return binary.BigEndian.Uint64(k[8:]) }
func (k decKey) time() time.Time {
	return time.Unix(0, k.nanos()).UTC()
}
func (k decKey) id() string { return hex.EncodeToString(k[:]) }

// parseID reads a decision ID (32 hex digits) back into its key.
func parseID(id string) (decKey, error) {
	var k decKey
	if len(id) != 32 {
		return k, fmt.Errorf("decision id %q: want 32 hex digits", id)
	}
	if _, err := hex.Decode(k[:], []byte(id)); err != nil {
		return k, fmt.Errorf("decision id %q: %w", id, err)
	}
	return k, nil
}

// timeKey returns the smallest decision key at or after t. Times before 1970
// map to the first key, times past 2262 to the last.
func timeKey(t time.Time) decKey {
	return makeDecKey(clampNanos(t), 0)
}

// clampNanos returns t in unix nanoseconds, clamped to [0, MaxInt64].
func clampNanos(t time.Time) int64 {
	switch {
	case t.IsZero() || t.Unix() < 0:
		return 0
	case t.Unix() >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// eventKey is the index key of an event ID: the ID itself, or a digest of it
// when it is too long to be a bbolt key. The slice is newly allocated, so
// it may be handed to bbolt as a key that must stay valid until the commit.
func eventKey(id string) []byte {
	if len(id) <= maxIndexPart {
		return []byte(id)
	}
	sum := sha256.Sum256([]byte(id))
	return append([]byte("#sha256:"), sum[:]...)
}

// indexPart cuts s to the length stored in index keys.
func indexPart(s string) string {
	if len(s) > maxIndexPart {
		return s[:maxIndexPart]
	}
	return s
}

// appendLP appends s with a uvarint length prefix.
func appendLP(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// userPrefix is the by_user key prefix of a user.
func userPrefix(user string) []byte {
	return appendLP(nil, indexPart(user))
}

// ipPrefix is the by_ip key prefix of an IP.
func ipPrefix(ip string) []byte {
	return appendLP(nil, indexPart(ip))
}

func u64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, v)
}

// readU64 reads an 8-byte big-endian counter; a missing value reads as 0.
func readU64(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
