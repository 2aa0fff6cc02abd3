package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"time"
)

// SchemaVersion is the layout version this riskwatch writes. Open migrates a
// file with an older version in place (see migrate.go) and refuses one with
// a newer version with ErrSchema.
//
// Version 1 (round 1) keyed every window, journey and rollup by the time a
// decision was stored. Version 2 keys them by event time: it adds by_time
// and by_dim, keys by_user by event time, rolls up and summarises by event
// time, and writes decision records of version 2. Version 3 adds the
// dimension rollups (dimrollup.go), built from the stored decisions.
// Version 4 moves the user index from by_user into by_dim's sorted runs
// (userindex.go). Version 5 adds raw_dicts and writes decision records of
// version 3, whose raw bodies may be compressed with a dictionary from
// raw_dicts (records of versions 1 and 2 stay as they are). Version 6 adds
// the string table (strtab.go) and writes decision records of version 4,
// which name repeating strings by their ID in it (older records stay as
// they are).
const SchemaVersion = 6

// Bucket names. Every bucket is flat (no nested buckets). Open creates any
// bucket a file lacks, so adding one needs no migration.
var (
	// bktMeta holds the schema version, the counters and marks (metaKey*)
	// and, while a migration runs, its progress.
	bktMeta = []byte("meta")
	// bktInbox: 8-byte big-endian sequence -> inbox event.
	bktInbox = []byte("inbox")
	// bktEvents: event key -> 8-byte inbox sequence while the event is
	// queued, 16-byte decision key once it is decided. One entry per event
	// ID is what makes Enqueue and Complete idempotent.
	bktEvents = []byte("events")
	// bktDecisions: 16-byte decision key -> decision. Keys follow arrival
	// order (see decKey).
	bktDecisions = []byte("decisions")
	// bktByTime: event key (24 bytes: event-time nanoseconds and decision
	// key, see evKey) -> empty. Every decision has one entry, written with
	// the decision; it orders decisions by event time.
	bktByTime = []byte("by_time")
	// bktByUser (schema 2 and earlier): lp(user) + event key -> empty,
	// for decisions up to the index mark. Schema 3 keeps these entries in
	// by_dim (kind kindUser, see userindex.go); only migrations use it.
	bktByUser = []byte("by_user")
	// bktByIP: lp(ip) + lp(user) -> 4-byte big-endian unix day of the
	// event time of the pair's newest decision, for decisions up to the
	// index mark. It is a set of (IP, user) pairs, rewritten only when the
	// day grows.
	bktByIP = []byte("by_ip")
	// bktByDim holds the entries kind byte + lp(value) + event key ->
	// lp(user) of the decisions up to the index mark (the decisions
	// sharing an IP, /24, email, email domain or device, in event-time
	// order; see dims.go), and the user index's entries kindUser +
	// lp(user) + event key -> empty (userindex.go), as sorted runs: 8-byte run ID + first entry key
	// of a block -> the block's entries (see dimruns.go).
	bktByDim = []byte("by_dim")
	// bktUsers: user -> user summary of the decisions up to the index mark.
	bktUsers = []byte("users")
	// bktMinutes and bktHours: 8-byte big-endian unix seconds of the minute
	// or hour start -> rollup record of the decisions whose event time lies
	// in it.
	bktMinutes = []byte("rollup_min")
	bktHours   = []byte("rollup_hour")
	// bktDimMinutes and bktDimHours: 8-byte big-endian unix seconds of the
	// minute or hour start and an action's index -> dimension rollup record
	// of the decisions with that action whose event time lies in it (see
	// dimrollup.go).
	bktDimMinutes = []byte("dimroll_min")
	bktDimHours   = []byte("dimroll_hour")
	// bktRejected: 8-byte big-endian sequence -> rejected record.
	bktRejected = []byte("rejected")
	// bktCheckpoints: source -> checkpoint.
	bktCheckpoints = []byte("checkpoints")
	// bktAlerts holds the alert rules' state (alertState + name -> the
	// state as the evaluator encodes it) and their history (alertHistory
	// + 8-byte big-endian sequence -> one transition), see alerts.go.
	bktAlerts = []byte("alerts")
	// bktLabels is the labels ledger: 8-byte big-endian sequence (the
	// bucket's own, so entries sort in the order they were recorded) ->
	// JSON of the decision.LabelEntry. Append-only (see labels.go).
	bktLabels = []byte("labels")
	// bktLabelSubjects: kind + 0 + lp(subject) + 8-byte sequence -> empty,
	// a subject's ledger entries in order.
	bktLabelSubjects = []byte("label_subjects")
	// bktRawDicts: 4-byte big-endian dictionary ID -> a zstd dictionary
	// for raw bodies with what it was trained on (see rawcodec.go). Never
	// deleted from: records name their dictionary.
	bktRawDicts = []byte("raw_dicts")
	// bktStrings: 4-byte big-endian string ID -> the string (see
	// strtab.go). Append-only: records name their strings.
	bktStrings = []byte("strings")
)

var allBuckets = [][]byte{
	bktMeta, bktInbox, bktEvents, bktDecisions, bktByTime, bktByIP,
	bktByDim, bktUsers, bktMinutes, bktHours, bktRejected, bktCheckpoints, bktAlerts,
	bktLabels, bktLabelSubjects, bktDimMinutes, bktDimHours, bktRawDicts,
	bktStrings,
}

// lateBuckets are buckets added without a schema version (alert state, the
// labels ledger): a read-only store opens a file that lacks them, and reads
// them as empty.
var lateBuckets = [][]byte{bktAlerts, bktLabels, bktLabelSubjects}

// lateBucket reports whether name is one of lateBuckets.
func lateBucket(name []byte) bool {
	return slices.ContainsFunc(lateBuckets, func(b []byte) bool { return bytes.Equal(b, name) })
}

// Keys in bktMeta.
var (
	metaSchema  = []byte("schema")
	metaLastKey = []byte("last_key")
	// metaIndexMark is the newest decision key whose user, by_ip and
	// by_dim entries and summary are written; newer decisions are
	// "pending" (see userstate.go).
	metaIndexMark = []byte("index_mark")
	metaDecisions = []byte("n_decisions")
	metaInbox     = []byte("n_inbox")
	metaRejected  = []byte("n_rejected")
	// metaMigration holds the progress of a migration that has started
	// and not finished (see migrate.go).
	metaMigration = []byte("migration")
	// metaDimState lists by_dim's runs, its merge under way and its
	// retention tombstones (see dimruns.go).
	metaDimState = []byte("dim_state")
	// metaRawTrained is the 8-byte number of decisions stored when a raw
	// body dictionary was last trained (kept or not; see rawtrain.go).
	metaRawTrained = []byte("raw_trained")
)

// maxIndexPart bounds a user ID, IP or event ID used inside an index key;
// longer values are replaced by a digest (event IDs) or cut (users, IPs,
// dimension values: queries compare the full value on the decision).
const maxIndexPart = 512

// decKey is a decision's primary key: 8-byte big-endian unix nanoseconds of
// when it was stored and an 8-byte big-endian sequence. Keys are assigned
// by the writer, strictly increasing, so the decisions bucket is
// append-only and its order is arrival order.
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

// evKey locates a decision in event-time order: 8-byte big-endian
// event-time unix nanoseconds, then the decision key. It is the key of
// by_time and the tail of the by_dim keys, and Range's cursor.
type evKey [24]byte

func makeEvKey(ev int64, k decKey) evKey {
	var e evKey
	binary.BigEndian.PutUint64(e[:8], uint64(ev))
	copy(e[8:], k[:])
	return e
}

func (e evKey) ev() int64       { return int64(binary.BigEndian.Uint64(e[:8])) }
func (e evKey) dec() decKey     { return decKey(e[8:]) }
func (e evKey) time() time.Time { return time.Unix(0, e.ev()).UTC() }

// after returns the smallest event key greater than e.
func (e evKey) after() evKey {
	for i := len(e) - 1; i >= 0; i-- {
		e[i]++
		if e[i] != 0 {
			break
		}
	}
	return e
}

// evBound returns the smallest event key at event time t; the zero time
// maps to the first key.
func evBound(t time.Time) evKey {
	return makeEvKey(clampNanos(t), decKey{})
}

// maxEvKey is above every event key.
var maxEvKey = func() evKey {
	var e evKey
	for i := range e {
		e[i] = 0xff
	}
	return e
}()

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

// ipPrefix is the by_ip key prefix of an IP.
func ipPrefix(ip string) []byte {
	return appendLP(nil, indexPart(ip))
}

// dayOf returns the unix day of a nanosecond time.
func dayOf(nanos int64) uint32 { return uint32(nanos / int64(24*time.Hour)) }

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
