package decision

import (
	"net/netip"
	"strings"
	"time"
)

// Filter is a parsed expression of the filter language (SPEC section 5):
// space-separated terms that must all match. Build one with ParseFilter.
//
// A Filter is immutable once parsed and safe for concurrent use. Match does
// not allocate, except for one parse error when a decision's IP looks like
// an address but is malformed ("1.2.3.999"). A nil *Filter matches every
// decision and prints as "".
//
// Matching rules, per term:
//
//   - type:, status: compare without regard to case, ignoring a leading "$"
//     on either side (type:login and type:$LOGIN both match "$login").
//   - action:, policy:, signal:, country: compare whole values without
//     regard to case; signal: matches when any of the decision's signals does.
//   - user: is exact and case-sensitive, as user IDs are stored, so that a
//     query may answer it from the user index (see UserID).
//   - email:, source: match a substring without regard to case
//     (email:@example.com, source:file).
//   - ip: matches an address (IPv4-mapped IPv6 addresses match their IPv4
//     form) or a CIDR prefix.
//   - risk, ato, bot, abuse compare a score with < <= > >= =. Error
//     decisions carry no scores, so no comparison matches them.
//   - ua: matches when the user agent's family (see ClassifyUA) equals the
//     value or the user agent contains it, without regard to case
//     (ua:curl, ua:"Headless Chrome").
//   - domain: compares the email's domain (see EmailDomain) without regard
//     to case (domain:mailinator.com).
//   - shadow: compares the shadow policy's action, rule: its deciding rule,
//     without regard to case (shadow:deny, rule:tor).
//   - since:DUR matches decisions whose event time is at or after now-DUR;
//     until: takes a duration ago or an RFC 3339 time and matches event
//     times before it.
//   - a bare word matches when the user ID or email contains it without
//     regard to case, or when the IP equals it (an address), lies in it (a
//     CIDR prefix) or starts with it (a partial address such as "10.1.").
//   - a leading "-" negates a term.
type Filter struct {
	terms []term
}

// termKind says which part of a decision a term looks at.
type termKind uint8

const (
	kindType termKind = iota
	kindStatus
	kindAction
	kindUser
	kindIP
	kindSignal
	kindPolicy
	kindCountry
	kindEmail
	kindSource
	kindSince
	kindUntil
	kindUA
	kindDomain
	kindShadow
	kindRule
	kindScore
	kindWord
)

// cmpOp is a score comparison operator.
type cmpOp uint8

const (
	opLT cmpOp = iota
	opLE
	opGT
	opGE
	opEQ
)

var opText = [...]string{opLT: "<", opLE: "<=", opGT: ">", opGE: ">=", opEQ: "="}

// term is one parsed term. Only the fields its kind needs are set, and they
// hold normalised values, so two terms that match alike compare equal.
type term struct {
	kind termKind
	neg  bool
	// val is the normalised text value: lower case for case-insensitive
	// fields (upper case for country), as typed for user.
	val string
	// prefix is the ip: prefix, or the address or prefix a bare word parses
	// as (hasIP); single marks a bare address rather than a CIDR prefix.
	prefix netip.Prefix
	single bool
	hasIP  bool
	// score, op and num describe a comparison.
	score Score
	op    cmpOp
	num   float64
	// dur and cutoff describe since: and until:; cutoff is now-dur, or the
	// time given (abs) for until:.
	dur    time.Duration
	cutoff time.Time
	abs    bool
}

// Match reports whether d satisfies every term of f. A nil or empty filter
// matches every decision.
func (f *Filter) Match(d *Decision) bool {
	if f == nil {
		return true
	}
	for i := range f.terms {
		t := &f.terms[i]
		if t.match(d) == t.neg {
			return false
		}
	}
	return true
}

// match reports whether d satisfies t, ignoring its negation.
func (t *term) match(d *Decision) bool {
	switch t.kind {
	case kindType:
		return strings.EqualFold(strings.TrimPrefix(d.Type, "$"), t.val)
	case kindStatus:
		return strings.EqualFold(strings.TrimPrefix(d.Status, "$"), t.val)
	case kindAction:
		return strings.EqualFold(string(d.Action), t.val)
	case kindUser:
		return d.UserID == t.val
	case kindIP:
		return ipIn(d.IP, t.prefix)
	case kindSignal:
		for _, s := range d.Signals {
			if strings.EqualFold(s, t.val) {
				return true
			}
		}
		return false
	case kindPolicy:
		return strings.EqualFold(d.Policy, t.val)
	case kindCountry:
		return strings.EqualFold(d.Country, t.val)
	case kindEmail:
		return containsFold(d.Email, t.val)
	case kindSource:
		return containsFold(d.Source, t.val)
	case kindSince:
		return !d.EventTime.Before(t.cutoff)
	case kindUntil:
		return d.EventTime.Before(t.cutoff)
	case kindUA:
		return strings.EqualFold(ClassifyUA(d.UserAgent).Family, t.val) || containsFold(d.UserAgent, t.val)
	case kindDomain:
		return strings.EqualFold(EmailDomain(d.Email), t.val)
	case kindShadow:
		return strings.EqualFold(string(d.ShadowAction), t.val)
	case kindRule:
		return strings.EqualFold(d.ShadowRule, t.val)
	case kindScore:
		return d.Action != ActionError && compare(d.ScoreValue(t.score), t.op, t.num)
	case kindWord:
		return t.matchWord(d)
	}
	return false
}

// matchWord applies a bare word to the user ID, email and IP.
func (t *term) matchWord(d *Decision) bool {
	if containsFold(d.UserID, t.val) || containsFold(d.Email, t.val) {
		return true
	}
	if t.hasIP {
		return ipIn(d.IP, t.prefix)
	}
	return hasPrefixFold(d.IP, t.val)
}

// ipIn reports whether the address in s lies in p. An IPv4-mapped IPv6
// address also matches as its IPv4 form; a zone is ignored.
func ipIn(s string, p netip.Prefix) bool {
	if i := strings.IndexByte(s, '%'); i >= 0 {
		s = s[:i]
	}
	if !ipChars(s) {
		return false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	return p.Contains(a) || (a.Is4In6() && p.Contains(a.Unmap()))
}

// ipChars reports whether s is made only of the characters of an IP
// address, so that text which plainly is not one is turned down without
// netip allocating a parse error.
func ipChars(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

func compare(v float64, op cmpOp, n float64) bool {
	switch op {
	case opLT:
		return v < n
	case opLE:
		return v <= n
	case opGT:
		return v > n
	case opGE:
		return v >= n
	case opEQ:
		return v == n
	}
	return false
}

// Since returns the lower bound on event time the positive since: terms
// impose (the latest of their cutoffs), or the zero time when there is
// none. A query may start its scan there; Match still checks every term.
func (f *Filter) Since() time.Time {
	var t time.Time
	if f == nil {
		return t
	}
	for i := range f.terms {
		if x := &f.terms[i]; x.kind == kindSince && !x.neg && x.cutoff.After(t) {
			t = x.cutoff
		}
	}
	return t
}

// Until returns the upper bound (exclusive) on event time the positive
// until: terms impose (the earliest of their cutoffs), or the zero time
// when there is none.
func (f *Filter) Until() time.Time {
	var t time.Time
	if f == nil {
		return t
	}
	for i := range f.terms {
		if x := &f.terms[i]; x.kind == kindUntil && !x.neg && (t.IsZero() || x.cutoff.Before(t)) {
			t = x.cutoff
		}
	}
	return t
}

// UserID returns the user named by the positive user: terms when they all
// name the same one, so a query may read only that user's decisions; it
// returns "" when there is no such term or they name different users.
func (f *Filter) UserID() string {
	if f == nil {
		return ""
	}
	user := ""
	for i := range f.terms {
		x := &f.terms[i]
		if x.kind != kindUser || x.neg {
			continue
		}
		if user != "" && user != x.val {
			return ""
		}
		user = x.val
	}
	return user
}

// Empty reports whether f has no terms and so matches everything.
func (f *Filter) Empty() bool {
	return f == nil || len(f.terms) == 0
}

// WithUntil returns a filter that is f with its until: terms (negated or
// not) replaced by one absolute until:at, the other terms kept in order:
// the same selection, ending at at. f is not changed; a nil f gives a
// filter of until:at alone.
func (f *Filter) WithUntil(at time.Time) *Filter {
	out := &Filter{}
	if f != nil {
		out.terms = make([]term, 0, len(f.terms)+1)
		for _, t := range f.terms {
			if t.kind != kindUntil {
				out.terms = append(out.terms, t)
			}
		}
	}
	out.terms = append(out.terms, term{kind: kindUntil, cutoff: at.UTC(), abs: true})
	return out
}

// Relative reports whether f has a since: or until: term given as a
// duration ago, whose cutoff was taken from the time f was parsed: what
// such a filter selects moves with the clock, and it must be parsed again
// to select as of a later time.
func (f *Filter) Relative() bool {
	if f == nil {
		return false
	}
	for i := range f.terms {
		if t := &f.terms[i]; (t.kind == kindSince || t.kind == kindUntil) && !t.abs {
			return true
		}
	}
	return false
}
