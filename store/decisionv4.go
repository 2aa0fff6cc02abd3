package store

import (
	"encoding/binary"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Decision records of version 4 hold the fields of version 3 in the same
// order, smaller:
//
//	version byte 4, lp(user ID)
//	flags byte (flagV4*)
//	the received time: varint unix nanoseconds; as codec.go's time when
//	  flagV4RecvFull; nothing when flagV4NoRecv
//	the event time, unless flagV4NoEvent: varint(ev - base) nanoseconds,
//	  or with flagV4EventMs varint(ev/1e6 - floor(base/1e6)) milliseconds,
//	  where base is the received time's nanoseconds (0 when negative or
//	  not stored that way)
//	lp(event ID)
//	sref(source, type, status)
//	email: lp(the part before its last '@'), sref(the rest)
//	IP: uvarint 4 or 16 and the address's bytes when the string is the
//	  address's canonical form, else 0 and lp(the string)
//	sref(user agent, country)
//	the four scores (score below)
//	uvarint count and sref of each signal, sref(policy)
//	actions byte: action index | (1 + shadow action index, 0 for none) << 4
//	sref(shadow rule, error)
//	varint HTTP status, latency, attempts
//	the raw bodies as in version 3, and the tail as in version 2
//
// sref is a string reference (strtab.go): an ID in the string table or
// the string itself.
const (
	flagV4Skew     = 1 << 0
	flagV4NoRecv   = 1 << 1
	flagV4RecvFull = 1 << 2
	flagV4NoEvent  = 1 << 3
	flagV4EventMs  = 1 << 4
	flagV4All      = 1<<5 - 1
)

// Score encodings: uvarint k<<2 | mode, the score being k, k/100 or
// k/10000 exactly, or mode scoreRaw (k 0) and 8 bytes of float.
const (
	scoreRaw     = 3
	scoreMaxMant = 1 << 50
)

var scoreScale = [3]float64{1, 100, 10000}

// encodeDecision appends d's stored form (everything but ID and Time, which
// live in the key) to b, as a record of version 4. d.EventTime must be
// normalised (Complete does it); zero stands for the time the decision is
// stored. Repeating strings are named by their ID in strs, which gives
// them IDs as it goes: the record may only be stored by a transaction that
// also stores the table's first strs.size() entries (strTab.persist). raw
// may be nil (bodies stay plain).
func encodeDecision(b []byte, d *decision.Decision, raw *rawCodec, strs *strTab) []byte {
	e := encoder{b}
	e.byte1(decisionV4)
	e.str(d.UserID)
	var flags byte
	if d.ClockSkew {
		flags |= flagV4Skew
	}
	var base int64
	recv := d.ReceivedAt.UnixNano()
	switch {
	case d.ReceivedAt.IsZero():
		flags |= flagV4NoRecv
	case !time.Unix(0, recv).Equal(d.ReceivedAt):
		flags |= flagV4RecvFull
	default:
		base = max(recv, 0)
	}
	ev := clampNanos(d.EventTime)
	switch {
	case ev == 0:
		flags |= flagV4NoEvent
	case ev%1e6 == 0:
		flags |= flagV4EventMs
	}
	e.byte1(flags)
	switch {
	case flags&flagV4NoRecv != 0:
	case flags&flagV4RecvFull != 0:
		e.time(d.ReceivedAt)
	default:
		e.varint(recv)
	}
	switch {
	case flags&flagV4NoEvent != 0:
	case flags&flagV4EventMs != 0:
		e.varint(ev/1e6 - base/1e6)
	default:
		e.varint(ev - base)
	}
	e.str(d.EventID)
	e.sref(d.Source, strs)
	e.sref(d.Type, strs)
	e.sref(d.Status, strs)
	local, domain := splitEmail(d.Email)
	e.str(local)
	e.sref(domain, strs)
	e.ip(d.IP)
	e.sref(d.UserAgent, strs)
	e.sref(d.Country, strs)
	for _, f := range [...]float64{d.Risk, d.AccountAbuse, d.AccountTakeover, d.Bot} {
		e.score(f)
	}
	e.uvarint(uint64(len(d.Signals)))
	for _, s := range d.Signals {
		e.sref(s, strs)
	}
	e.sref(d.Policy, strs)
	e.byte1(byte(d.Action.Index()) | byte(d.ShadowAction.Index()+1)<<4)
	e.sref(d.ShadowRule, strs)
	e.sref(d.Error, strs)
	e.varint(int64(d.HTTPStatus))
	e.varint(int64(d.Latency))
	e.varint(int64(d.Attempts))
	if raw == nil {
		e.uvarint(rawPlain)
		e.bytes(d.Request)
		e.bytes(d.Response)
		return e.b
	}
	return raw.appendRaw(e.b, d.Request, d.Response)
}

// decodeV4 reads the rest of a version-4 record after its version byte.
func decodeV4(r *decoder, d *decision.Decision, c recCodec) {
	d.UserID = r.str()
	flags := r.byte1()
	d.ClockSkew = flags&flagV4Skew != 0
	if ev := readTimesV4(r, flags, &d.ReceivedAt); ev > 0 {
		d.EventTime = time.Unix(0, ev).UTC()
	} else {
		d.EventTime = d.Time
	}
	d.EventID = r.str()
	d.Source = r.sref(c)
	d.Type = r.sref(c)
	d.Status = r.sref(c)
	local := r.view()
	domain := r.sref(c)
	if len(local) == 0 {
		d.Email = domain
	} else {
		d.Email = string(local) + domain
	}
	d.IP = r.ip()
	d.UserAgent = r.sref(c)
	d.Country = r.sref(c)
	d.Risk = r.score()
	d.AccountAbuse = r.score()
	d.AccountTakeover = r.score()
	d.Bot = r.score()
	d.Signals = r.list(func() string { return r.sref(c) })
	d.Policy = r.sref(c)
	acts := r.byte1()
	if a := int(acts & 0xf); a < decision.NumActions {
		d.Action = decision.Actions[a]
	} else {
		r.fail()
	}
	switch a := int(acts >> 4); {
	case a == 0:
	case a <= decision.NumActions:
		d.ShadowAction = decision.Actions[a-1]
	default:
		r.fail()
	}
	d.ShadowRule = r.sref(c)
	d.Error = r.sref(c)
	d.HTTPStatus = int(r.varint())
	d.Latency = time.Duration(r.varint())
	d.Attempts = int(r.varint())
	if c.raw != nil {
		d.Request, d.Response = c.raw.readRaw(r)
		skipTail(r)
		if r.err == nil && len(r.b) != 0 {
			r.fail()
		}
	}
}

// readTimesV4 reads the flags' time fields, setting *recv, and returns the
// event time's nanoseconds (0 or less: none).
func readTimesV4(r *decoder, flags byte, recv *time.Time) int64 {
	if flags&^flagV4All != 0 || flags&flagV4NoRecv != 0 && flags&flagV4RecvFull != 0 ||
		flags&flagV4NoEvent != 0 && flags&flagV4EventMs != 0 {
		r.fail()
		return 0
	}
	var base int64
	switch {
	case flags&flagV4NoRecv != 0:
	case flags&flagV4RecvFull != 0:
		*recv = r.time()
	default:
		ns := r.varint()
		*recv = time.Unix(0, ns).UTC()
		base = max(ns, 0)
	}
	switch {
	case flags&flagV4NoEvent != 0:
		return 0
	case flags&flagV4EventMs != 0:
		return (r.varint() + base/1e6) * 1e6
	default:
		return r.varint() + base
	}
}

// peekEventV4 reads a version-4 record from after its user ID to its
// event time and returns that (0 or less: none).
func peekEventV4(r *decoder) int64 {
	var recv time.Time
	return readTimesV4(r, r.byte1(), &recv)
}

// splitEmail cuts an email before its last '@' (local is all of it when
// there is none).
func splitEmail(email string) (local, domain string) {
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		return email[:i], email[i:]
	}
	return email, ""
}

// ip appends an IP field: the address's bytes when s is its canonical
// form, else the string.
func (e *encoder) ip(s string) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" && a.String() == s {
		if a.Is4() {
			e.uvarint(4)
			a4 := a.As4()
			e.b = append(e.b, a4[:]...)
			return
		}
		e.uvarint(16)
		a16 := a.As16()
		e.b = append(e.b, a16[:]...)
		return
	}
	e.uvarint(0)
	e.str(s)
}

func (d *decoder) ip() string {
	switch n := d.uvarint(); n {
	case 0:
		return d.str()
	case 4, 16:
		if uint64(len(d.b)) < n {
			d.fail()
			return ""
		}
		var a netip.Addr
		if n == 4 {
			a = netip.AddrFrom4([4]byte(d.b))
		} else {
			a = netip.AddrFrom16([16]byte(d.b))
		}
		d.b = d.b[n:]
		return a.String()
	}
	d.fail()
	return ""
}

// scoreOf is the score k with mode (not scoreRaw) stands for.
func scoreOf(k uint64, mode int) float64 { return float64(k) / scoreScale[mode] }

// score appends f in the shortest encoding that gives it back exactly.
func (e *encoder) score(f float64) {
	for mode, scale := range scoreScale {
		if !(f >= 0 && f*scale < scoreMaxMant) {
			break
		}
		if k := uint64(math.Round(f * scale)); math.Float64bits(scoreOf(k, mode)) == math.Float64bits(f) {
			e.uvarint(k<<2 | uint64(mode))
			return
		}
	}
	e.uvarint(scoreRaw)
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(f))
}

func (d *decoder) score() float64 {
	x := d.uvarint()
	switch mode := int(x & 3); {
	case mode != scoreRaw:
		return scoreOf(x>>2, mode)
	case x != scoreRaw:
		d.fail()
		return 0
	}
	return d.f64()
}
