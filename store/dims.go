package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// DimKind names a property that the by_dim index groups decisions by, for
// linked accounts (SPEC section 14) and policy velocity (section 12): the
// decisions that share an IP, a network, an email, an email domain or a
// device, in event-time order, each with its user.
type DimKind uint8

// The indexed kinds. Their values are the stored kind byte: never renumber.
const (
	// KindIP is the IP address in canonical form (IPv4-mapped addresses
	// as IPv4); a value that is not an address is indexed as it is.
	KindIP DimKind = 1 + iota
	// KindIP24 is the address's network (decision.IP24: /24 or /48).
	KindIP24
	// KindEmail is the email address, trimmed and lower-cased.
	KindEmail
	// KindEmailDomain is decision.EmailDomain of the email.
	KindEmailDomain
	// KindDevice is decision.DeviceKey of the user agent.
	KindDevice
)

// DimKinds lists every indexed kind.
var DimKinds = [...]DimKind{KindIP, KindIP24, KindEmail, KindEmailDomain, KindDevice}

// numKinds is the number of indexed kinds.
const numKinds = len(DimKinds)

var kindNames = [numKinds + 1]string{"", "ip", "ip24", "email", "email_domain", "device"}

// String returns the kind's name: ip, ip24, email, email_domain, device.
func (k DimKind) String() string {
	if k == 0 || int(k) > numKinds {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// ParseDimKind reads a kind's name.
func ParseDimKind(s string) (DimKind, error) {
	for i, n := range kindNames {
		if i > 0 && n == s {
			return DimKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown kind %q (want %s)", s, strings.Join(kindNames[1:], ", "))
}

// valid reports whether k is one of the indexed kinds.
func (k DimKind) valid() bool { return k > 0 && int(k) <= numKinds }

// Value returns the value d has for k, as the index holds it ("" when d
// has none: no IP, email or user agent).
func (k DimKind) Value(d *decision.Decision) string {
	switch k {
	case KindIP:
		return k.Normalize(d.IP)
	case KindIP24:
		return decision.IP24(d.IP)
	case KindEmail:
		return k.Normalize(d.Email)
	case KindEmailDomain:
		return decision.EmailDomain(d.Email)
	case KindDevice:
		return decision.DeviceKey(d.UserAgent)
	}
	return ""
}

// Normalize returns a value as the index holds it, so that a query may be
// given an IP or an email as it appears in a decision: the canonical form
// of an address, a trimmed, lower-cased email or domain, a network in
// canonical CIDR form. Devices are keys already (decision.DeviceKey).
func (k DimKind) Normalize(v string) string {
	switch k {
	case KindIP:
		if a, err := netip.ParseAddr(v); err == nil && a.Zone() == "" {
			// Most addresses arrive canonical: keep v then, without
			// allocating another string.
			var buf [64]byte
			if c := a.Unmap().AppendTo(buf[:0]); string(c) != v {
				return string(c)
			}
		}
		return v
	case KindIP24:
		if p, err := netip.ParsePrefix(strings.TrimSpace(v)); err == nil {
			return p.Masked().String()
		}
		return v
	case KindEmail, KindEmailDomain:
		return strings.ToLower(strings.TrimSpace(v))
	}
	return v
}

// dimValues fills vals with d's value of each kind (vals[i] for
// DimKinds[i]).
func dimValues(d *decision.Decision, vals *[numKinds]string) {
	for i, k := range DimKinds {
		vals[i] = k.Value(d)
	}
}

// dimPrefix appends the by_dim key prefix of a kind's value to b.
func dimPrefix(b []byte, k DimKind, value string) []byte {
	return appendLP(append(b, byte(k)), indexPart(value))
}

// DimEntry is one decision in the by_dim index: its ID, event time and
// user ("" for a decision without one; an ID longer than 512 bytes is cut
// to its first 512).
type DimEntry struct {
	ID        string
	EventTime time.Time
	UserID    string
}

// DimensionEntries calls fn with every decision whose value of kind is
// value (see DimKind.Normalize) and whose event time is in [from, to) (zero
// values are unbounded), oldest event time first, until fn returns false.
// It reads only the index (and the decisions not folded into it yet), not
// the decisions themselves, so its cost follows the entries in the window.
// The answer is exact as of one snapshot.
func (db *DB) DimensionEntries(ctx context.Context, kind DimKind, value string, from, to time.Time, fn func(DimEntry) bool) error {
	if !kind.valid() {
		return fmt.Errorf("dimension entries: unknown kind %d", kind)
	}
	value = kind.Normalize(value)
	err := db.view(func(tx *bolt.Tx) error {
		return walkDim(ctx, tx, kind, value, evRangeOf(from, to), func(e evKey, user []byte) (bool, error) {
			return fn(DimEntry{ID: e.dec().id(), EventTime: e.time(), UserID: string(user)}), nil
		})
	})
	if err != nil {
		return fmt.Errorf("dimension entries of %s %q: %w", kind, value, err)
	}
	return nil
}

// DimCounts counts the decisions of a dimension value in a window and
// their distinct users.
type DimCounts struct {
	// Decisions counts the decisions, with or without a user.
	Decisions int
	// Users counts the distinct non-empty users among them.
	Users int
}

// DimensionCounts counts the decisions whose value of kind is value and
// whose event time is in [from, to), and their distinct users: what a
// policy's count() and distinct(..., "user", ...) ask. Like
// DimensionEntries it reads only the index.
func (db *DB) DimensionCounts(ctx context.Context, kind DimKind, value string, from, to time.Time) (DimCounts, error) {
	var c DimCounts
	users := map[string]struct{}{}
	if !kind.valid() {
		return c, fmt.Errorf("dimension counts: unknown kind %d", kind)
	}
	value = kind.Normalize(value)
	err := db.view(func(tx *bolt.Tx) error {
		return walkDim(ctx, tx, kind, value, evRangeOf(from, to), func(_ evKey, user []byte) (bool, error) {
			c.Decisions++
			if len(user) > 0 {
				if _, ok := users[string(user)]; !ok {
					users[string(user)] = struct{}{}
				}
			}
			return true, nil
		})
	})
	if err != nil {
		return DimCounts{}, fmt.Errorf("dimension counts of %s %q: %w", kind, value, err)
	}
	c.Users = len(users)
	return c, nil
}

// UserValues returns the distinct values of kind among a user's decisions
// with an event time in [from, to), sorted: what a user shares with others
// (the first step of linked accounts). It reads the user's decisions in the
// window through the user index.
func (db *DB) UserValues(ctx context.Context, user string, kind DimKind, from, to time.Time) ([]string, error) {
	if !kind.valid() {
		return nil, fmt.Errorf("values of user %q: unknown kind %d", user, kind)
	}
	if user == "" {
		return nil, nil
	}
	seen := map[string]struct{}{}
	var d decision.Decision
	err := db.view(func(tx *bolt.Tx) error {
		decisions := tx.Bucket(bktDecisions)
		return walkUser(ctx, tx, user, evRangeOf(from, to), func(e evKey) (bool, error) {
			k := e.dec()
			v := decisions.Get(k[:])
			if v == nil {
				return false, fmt.Errorf("user index names missing decision %s", k.id())
			}
			if err := decodeDecision(k[:], v, &d, db.brief()); err != nil {
				return false, err
			}
			if d.UserID == user {
				if x := kind.Value(&d); x != "" {
					seen[x] = struct{}{}
				}
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%s values of user %q: %w", kind, user, err)
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// walkDim calls fn, in event-time order, with the event key and user of
// every decision whose value of kind is value (already normalised) in r:
// the entries of the index's runs (the decisions up to the index mark)
// merged with the pending decisions after it. Values are compared by their
// first maxIndexPart bytes.
func walkDim(ctx context.Context, tx *bolt.Tx, kind DimKind, value string, r evRange, fn func(e evKey, user []byte) (bool, error)) error {
	value = indexPart(value)
	var pend []pendHit[[]byte]
	var d decision.Decision
	codec := txCodec(tx)
	err := scanPending(ctx, tx, func(k, v []byte) (bool, error) {
		if err := decodeDecision(k, v, &d, codec); err != nil {
			return false, err
		}
		if indexPart(kind.Value(&d)) != value {
			return true, nil
		}
		if e := makeEvKey(clampNanos(d.EventTime), decKey(k)); r.contains(e) {
			pend = append(pend, pendHit[[]byte]{e, []byte(indexPart(d.UserID))})
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(pend, func(a, b pendHit[[]byte]) int { return bytes.Compare(a.e[:], b.e[:]) })
	s, err := readDimState(tx)
	if err != nil {
		return err
	}
	i, more := 0, true
	// flush hands fn the pending entries before e (all when e is nil).
	flush := func(e *evKey) error {
		for more && i < len(pend) && (e == nil || bytes.Compare(pend[i].e[:], e[:]) < 0) {
			var err error
			if more, err = fn(pend[i].e, pend[i].p); err != nil {
				return err
			}
			i++
		}
		return nil
	}
	err = walkDimRuns(ctx, tx, &s, kind, value, r, func(e evKey, user []byte) (bool, error) {
		if err := flush(&e); err != nil || !more {
			return false, err
		}
		var err error
		more, err = fn(e, user)
		return more, err
	})
	if err != nil {
		return err
	}
	return flush(nil)
}

// walkDimRuns is walkDim without the pending decisions: the entries of the
// index's runs (state s) for kind and value (already cut by indexPart) in r.
func walkDimRuns(ctx context.Context, tx *bolt.Tx, s *dimState, kind DimKind, value string, r evRange, fn func(e evKey, user []byte) (bool, error)) error {
	prefix := dimPrefix(nil, kind, value)
	lo := append(slices.Clip(prefix), r.lo[:]...)
	hi := append(slices.Clip(prefix), r.hi[:]...)
	n := 0
	return mergeRuns(tx.Bucket(bktByDim), s, s.runIDs(), lo, hi, false, func(k, v []byte) (bool, error) {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		u, w := binary.Uvarint(v)
		if len(k) != len(prefix)+len(evKey{}) || w <= 0 || uint64(len(v)-w) < u {
			return false, fmt.Errorf("dimension index entry %x: %w", k, errRecord)
		}
		return fn(evKey(k[len(prefix):]), v[w:w+int(u)])
	})
}
