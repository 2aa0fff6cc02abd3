package decision

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// LinkKind is what two accounts share that links them (SPEC section 14).
type LinkKind int

// The kinds of link, in the order an answer lists them.
const (
	// LinkIP is the same IP address (canonical form).
	LinkIP LinkKind = iota
	// LinkIP24 is the same network (IP24: a /24, or a /48 for IPv6).
	LinkIP24
	// LinkEmailDomain is the same email domain (EmailDomain).
	LinkEmailDomain
	// LinkUA is the same device: an identical user agent (DeviceKey).
	LinkUA
	// NumLinkKinds counts the kinds.
	NumLinkKinds
)

// LinkKinds lists every kind, in answer order.
var LinkKinds = [NumLinkKinds]LinkKind{LinkIP, LinkIP24, LinkEmailDomain, LinkUA}

var linkKindNames = [NumLinkKinds]string{"ip", "ip24", "email_domain", "ua"}

// String returns the kind's name as SPEC section 14 spells it.
func (k LinkKind) String() string {
	if k < 0 || k >= NumLinkKinds {
		return fmt.Sprintf("link(%d)", int(k))
	}
	return linkKindNames[k]
}

// ParseLinkKind reads a kind's name.
func ParseLinkKind(s string) (LinkKind, error) {
	for i, n := range linkKindNames {
		if n == s {
			return LinkKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown link kind %q (want %s)", s, strings.Join(linkKindNames[:], ", "))
}

// MarshalText writes the kind's name.
func (k LinkKind) MarshalText() ([]byte, error) {
	if k < 0 || k >= NumLinkKinds {
		return nil, fmt.Errorf("unknown link kind %d", int(k))
	}
	return []byte(linkKindNames[k]), nil
}

// UnmarshalText reads a name as ParseLinkKind does.
func (k *LinkKind) UnmarshalText(b []byte) error {
	v, err := ParseLinkKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Value returns the value d has for k ("" when it has none).
func (k LinkKind) Value(d *Decision) string {
	switch k {
	case LinkIP:
		return canonicalIP(d.IP)
	case LinkIP24:
		return IP24(d.IP)
	case LinkEmailDomain:
		return EmailDomain(d.Email)
	case LinkUA:
		return DeviceKey(d.UserAgent)
	}
	return ""
}

// DefaultLinkCap is the most users a shared value lists before it is a
// supernode (carrier NAT, an office, a free-mail domain).
const DefaultLinkCap = 50

// MaxLinkCap bounds the cap a query may ask for.
const MaxLinkCap = 1000

// DefaultLinkWindow is how far back links look unless told.
const DefaultLinkWindow = LinkWindow(30 * 24 * time.Hour)

// Links is the answer to "who shares something with this user".
type Links struct {
	User string `json:"user"`
	// Links are grouped by what is shared: depth-1 links (shared with User)
	// first, by kind then value, then depth-2 links (shared with a linked
	// user, Via) in the same order.
	Links []Link `json:"links"`
}

// Link is one shared value and the other users that have it.
type Link struct {
	Kind  LinkKind `json:"kind"`
	Value string   `json:"value"`
	// Supernode is set when more users than the cap share the value: Users
	// is then empty and Count says how many there are.
	Supernode bool `json:"supernode"`
	// Count is the number of other users that have the value (not User,
	// nor Via).
	Count int `json:"count"`
	// CountAtLeast is set on a supernode whose users were too many to
	// count them all in time: Count is then a lower bound.
	CountAtLeast bool         `json:"count_at_least,omitempty"`
	Users        []LinkedUser `json:"users"`
	// Via is, for a depth-2 link, the linked user whose value this is; ""
	// for a value shared with User itself.
	Via string `json:"via,omitempty"`
}

// LinkedUser is one linked account and what it did with the shared value.
type LinkedUser struct {
	UserID string `json:"user_id"`
	// Events, MaxRisk and Denies are over the user's decisions in the
	// window that have the shared value (so that collectors add up).
	Events  int     `json:"events"`
	MaxRisk float64 `json:"max_risk"`
	Denies  int     `json:"denies"`
	// Label is the user's current label (SPEC section 12), "" when none.
	Label string `json:"label"`
}

// LinkSource answers what an expansion asks of the decisions of one window.
type LinkSource interface {
	// Values returns the distinct values of kind among user's decisions,
	// sorted.
	Values(user string, kind LinkKind) ([]string, error)
	// Holders returns the distinct non-empty users with a decision whose
	// value of kind is value, each with the events, max risk and denies of
	// those decisions, in ID order, when there are at most max of them.
	// When there are more it returns no list, only their count, which is
	// a lower bound when atLeast is set (a source may stop counting a
	// value held by very many).
	Holders(kind LinkKind, value string, max int) (users []LinkedUser, count int, atLeast bool, err error)
}

// LinkValue is one value of one kind.
type LinkValue struct {
	Kind  LinkKind
	Value string
}

// LinkValuesOf returns the distinct values of every kind among ds, in kind
// then value order.
func LinkValuesOf(ds []Decision) []LinkValue {
	seen := map[LinkValue]bool{}
	var out []LinkValue
	for i := range ds {
		for _, k := range LinkKinds {
			if v := (LinkValue{k, k.Value(&ds[i])}); v.Value != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	slices.SortFunc(out, func(a, b LinkValue) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), strings.Compare(a.Value, b.Value))
	})
	return out
}

// FormatLinkValues writes values as ParseLinkValues reads them:
// kind:value pairs, comma-separated, each value query-escaped.
func FormatLinkValues(vs []LinkValue) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(v.Kind.String())
		b.WriteByte(':')
		b.WriteString(url.QueryEscape(v.Value))
	}
	return b.String()
}

// ParseLinkValues reads what FormatLinkValues writes ("" is none).
func ParseLinkValues(s string) ([]LinkValue, error) {
	if s == "" {
		return nil, nil
	}
	var out []LinkValue
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("%q is not kind:value", part)
		}
		k, err := ParseLinkKind(name)
		if err != nil {
			return nil, err
		}
		v, err := url.QueryUnescape(value)
		if err != nil || v == "" {
			return nil, fmt.Errorf("%q: bad value", part)
		}
		out = append(out, LinkValue{k, v})
	}
	return out, nil
}

// LinkOptions bound an expansion.
type LinkOptions struct {
	// Extra are values of the user's held elsewhere (on other collectors
	// of a federation): they are linked as if the user's own.
	Extra []LinkValue
	// Cap is the most users a value lists (<= 0: DefaultLinkCap).
	Cap int
	// Depth is 1 (the users linked to User) or 2 (and the users linked to
	// those); 0 means 1.
	Depth int
}

// ErrLinkDepth is the error of a depth other than 1 or 2.
var ErrLinkDepth = errors.New("depth must be 1 or 2")

// ExpandLinks finds the users linked to user in src. Depth 2 follows the
// listed users of depth-1 links (not supernodes) to the values they share
// with others, each value once (the first linked user in ID order that has
// it is its Via); a value already shared with user is not repeated.
func ExpandLinks(src LinkSource, user string, o LinkOptions) (Links, error) {
	if o.Cap <= 0 {
		o.Cap = DefaultLinkCap
	}
	if o.Depth == 0 {
		o.Depth = 1
	}
	if o.Depth < 1 || o.Depth > 2 {
		return Links{}, ErrLinkDepth
	}
	x := expansion{src: src, cap: o.Cap, seen: map[linkKey]bool{}}
	out := Links{User: user, Links: []Link{}}
	x.extra = o.Extra
	first, err := x.around(user, "", user)
	if err != nil {
		return Links{}, err
	}
	out.Links = append(out.Links, first...)
	if o.Depth == 2 {
		var next []string
		for _, l := range first {
			for _, u := range l.Users {
				next = append(next, u.UserID)
			}
		}
		slices.Sort(next)
		for _, u := range slices.Compact(next) {
			more, err := x.around(u, user, u)
			if err != nil {
				return Links{}, err
			}
			out.Links = append(out.Links, more...)
		}
	}
	return out, nil
}

type linkKey struct {
	kind  LinkKind
	value string
}

type expansion struct {
	src   LinkSource
	cap   int
	seen  map[linkKey]bool
	extra []LinkValue // the root's values held elsewhere
}

// around returns the links of center's values not seen yet, each listing
// the holders other than center and root; via names center on depth-2
// links ("" at depth 1).
func (x *expansion) around(center, root, via string) ([]Link, error) {
	if root == "" {
		via = ""
	}
	var out []Link
	for _, kind := range LinkKinds {
		own, err := x.src.Values(center, kind)
		if err != nil {
			return nil, err
		}
		values := own
		if root == "" {
			values = slices.Clone(own)
			for _, e := range x.extra {
				if e.Kind == kind {
					values = append(values, e.Value)
				}
			}
			slices.Sort(values)
			values = slices.Compact(values)
		}
		for _, v := range values {
			key := linkKey{kind, v}
			if x.seen[key] {
				continue
			}
			x.seen[key] = true
			// center holds v, and root may: they are not counted.
			holders, n, atLeast, err := x.src.Holders(kind, v, x.cap+2)
			if err != nil {
				return nil, err
			}
			if holders == nil {
				// Too many to list: center is among them if the value is
				// its own here, root is not (a value of root's is seen
				// before any of depth 2).
				if _, found := slices.BinarySearch(own, v); found {
					n--
				}
				out = append(out, Link{Kind: kind, Value: v, Supernode: true, Count: n, CountAtLeast: atLeast, Users: []LinkedUser{}, Via: via})
				continue
			}
			holders = slices.DeleteFunc(holders, func(u LinkedUser) bool { return u.UserID == center || u.UserID == root })
			if len(holders) == 0 {
				continue
			}
			l := Link{Kind: kind, Value: v, Count: len(holders), Users: holders, Via: via}
			if len(holders) > x.cap {
				l.Supernode, l.Users = true, []LinkedUser{}
				out = append(out, l)
				continue
			}
			SortLinkedUsers(l.Users)
			out = append(out, l)
		}
	}
	return out, nil
}

// SortLinkedUsers orders linked users riskiest first: by max risk, then
// denies, then events (all descending), then ID.
func SortLinkedUsers(us []LinkedUser) {
	slices.SortFunc(us, func(a, b LinkedUser) int {
		return cmp.Or(cmp.Compare(b.MaxRisk, a.MaxRisk), cmp.Compare(b.Denies, a.Denies),
			cmp.Compare(b.Events, a.Events), strings.Compare(a.UserID, b.UserID))
	})
}

// Shared sums up the users linked to a user by one kind at depth 1, as the
// journey header says it: how many distinct users, how many of them were
// denied, and whether a supernode (its count included) is among them.
type Shared struct {
	Users, Denied int
	Supernode     bool
}

// SharedBy sums up l's depth-1 links of kind.
func (l *Links) SharedBy(kind LinkKind) Shared {
	var s Shared
	users := map[string]bool{}
	for _, k := range l.Links {
		if k.Kind != kind || k.Via != "" {
			continue
		}
		if k.Supernode {
			s.Supernode = true
			s.Users += k.Count
			continue
		}
		for _, u := range k.Users {
			if !users[u.UserID] {
				users[u.UserID] = true
				if u.Denies > 0 {
					s.Denied++
				}
			}
		}
	}
	s.Users += len(users)
	return s
}

// LinkWindow is how far back a links query looks; it travels as text such
// as "30d" or "12h" (a day count, a Go duration, or both: "1d12h"). The
// zero window is DefaultLinkWindow.
type LinkWindow time.Duration

// MarshalText writes the window in days when it is a whole number of them.
func (w LinkWindow) MarshalText() ([]byte, error) {
	d := time.Duration(cmp.Or(w, DefaultLinkWindow))
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Appendf(nil, "%dd", d/(24*time.Hour)), nil
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads a positive duration ("30d", "12h", "1d12h").
func (w *LinkWindow) UnmarshalText(b []byte) error {
	d, err := parseSince(string(b))
	if err != nil {
		return fmt.Errorf("window: %w", err)
	}
	*w = LinkWindow(d)
	return nil
}
