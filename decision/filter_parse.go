package decision

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// fieldList names every field and score a term may use, for error messages.
const fieldList = "type, status, action, user, ip, signal, policy, country, email, domain, ua, source, shadow, rule, since, until, risk, ato, bot, abuse"

// FilterError reports a term ParseFilter could not read. Term and Pos let a
// UI underline the term: Term is the term exactly as typed (quotes
// included) and Pos its byte offset in the expression.
type FilterError struct {
	Term string
	Pos  int
	// Msg says what is wrong and what was expected.
	Msg string
	// Index is the 1-based number of the term, or 0 when the expression has
	// a single term.
	Index int
}

// maxShownTerm bounds how much of a term Error quotes.
const maxShownTerm = 60

// Error returns `TERM: MSG` for a one-term expression and
// `term N "TERM": MSG` otherwise.
func (e *FilterError) Error() string {
	shown := e.Term
	if len(shown) > maxShownTerm {
		cut := maxShownTerm
		for cut > 0 && !utf8.RuneStart(shown[cut]) {
			cut--
		}
		shown = shown[:cut] + "…"
	}
	if e.Index > 0 {
		return fmt.Sprintf("term %d %q: %s", e.Index, shown, e.Msg)
	}
	if !isPrintable(shown) {
		shown = strconv.Quote(shown)
	}
	return shown + ": " + e.Msg
}

// ParseFilter parses expr (SPEC section 5; see Filter for the rules).
// since: terms are taken relative to now. An expression of only spaces
// yields an empty filter. Errors are *FilterError.
func ParseFilter(expr string, now time.Time) (*Filter, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return nil, err
	}
	f := &Filter{terms: make([]term, 0, len(toks))}
	for i, tok := range toks {
		t, err := parseTerm(tok, now)
		if err != nil {
			idx := 0
			if len(toks) > 1 {
				idx = i + 1
			}
			return nil, &FilterError{Term: tok.text, Pos: tok.pos, Msg: err.Error(), Index: idx}
		}
		f.terms = append(f.terms, t)
	}
	return f, nil
}

// token is one whitespace-separated term of an expression.
type token struct {
	text string // as typed
	pos  int    // byte offset of text in the expression
	lit  string // the part of text before its first quote: field names, operators and "-" are read here only
	val  string // text with quotes removed and \" \\ unescaped inside them
}

// tokenize splits expr at unquoted white space. Inside double quotes white
// space is kept and \" and \\ stand for " and \; everything else is
// literal. An unterminated quote is an error.
func tokenize(expr string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(expr) {
			r, n := utf8.DecodeRuneInString(expr[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += n
		}
		if i >= len(expr) {
			return toks, nil
		}
		start, firstQuote, openQuote := i, -1, -1
		var val strings.Builder
		for i < len(expr) {
			r, n := utf8.DecodeRuneInString(expr[i:])
			switch {
			case openQuote < 0 && unicode.IsSpace(r):
				n = 0
			case r == '"' && openQuote < 0:
				if firstQuote < 0 {
					firstQuote = i
					val.WriteString(expr[start:i])
				}
				openQuote = i
			case r == '"':
				openQuote = -1
			case openQuote >= 0 && r == '\\' && i+1 < len(expr) && (expr[i+1] == '"' || expr[i+1] == '\\'):
				val.WriteByte(expr[i+1])
				n = 2
			case firstQuote >= 0:
				val.WriteString(expr[i : i+n])
			}
			if n == 0 {
				break
			}
			i += n
		}
		tok := token{text: expr[start:i], pos: start, lit: expr[start:i], val: expr[start:i]}
		if openQuote >= 0 {
			idx := 0
			if len(toks) > 0 {
				idx = len(toks) + 1
			}
			return nil, &FilterError{Term: tok.text, Pos: start, Index: idx,
				Msg: fmt.Sprintf("unterminated quote (opened at offset %d)", openQuote)}
		}
		if firstQuote >= 0 {
			tok.lit = expr[start:firstQuote]
			tok.val = val.String()
		}
		toks = append(toks, tok)
	}
}

// parseTerm reads one token: [-](field:value | score OP number | word).
func parseTerm(tok token, now time.Time) (term, error) {
	lit, val := tok.lit, tok.val
	var t term
	if strings.HasPrefix(lit, "-") {
		t.neg = true
		lit, val = lit[1:], val[1:]
		if strings.HasPrefix(lit, "-") {
			return t, errors.New(`more than one "-" (negate a term with a single leading -; quote a word that starts with -)`)
		}
		if tok.text == "-" {
			return t, errors.New(`nothing after "-"`)
		}
	}
	sep := strings.IndexAny(lit, ":<>=")
	if sep < 0 || (lit == val && isIPWord(val)) {
		if val == "" {
			return t, errors.New(`empty term ("")`)
		}
		t.kind = kindWord
		t.val = strings.ToLower(val)
		t.prefix, t.single, t.hasIP = parseIP(t.val)
		return t, nil
	}
	if lit[sep] != ':' {
		return parseComparison(t, lit[:sep], lit[sep:], val[sep:])
	}
	name := strings.ToLower(lit[:sep])
	value := val[sep+1:]
	kind, ok := fieldKind(name)
	if !ok {
		if _, err := ParseScore(name); err == nil {
			return t, fmt.Errorf("%s is compared with <, <=, >, >= or =, as in %s>=60", name, name)
		}
		return t, fmt.Errorf("unknown field %q (want %s)", name, fieldList)
	}
	t.kind = kind
	if value == "" {
		return t, fmt.Errorf("missing value, as in %s", fieldExample(kind))
	}
	return t, t.setValue(value, now)
}

// setValue stores the normalised value of a field term.
func (t *term) setValue(value string, now time.Time) error {
	switch t.kind {
	case kindType, kindStatus:
		v := strings.TrimPrefix(value, "$")
		if v == "" {
			return fmt.Errorf("missing value, as in %s", fieldExample(t.kind))
		}
		t.val = strings.ToLower(v)
	case kindAction:
		a, err := ParseAction(value)
		if err != nil {
			return err
		}
		t.val = string(a)
	case kindUser:
		t.val = value
	case kindIP:
		p, single, ok := parseIP(value)
		if !ok {
			return errors.New("not an IP address or CIDR prefix")
		}
		t.prefix, t.single = p, single
	case kindCountry:
		t.val = strings.ToUpper(value)
	case kindSince:
		d, err := parseSince(value)
		if err != nil {
			return err
		}
		t.dur, t.cutoff = d, now.Add(-d)
	case kindUntil:
		if at, err := time.Parse(time.RFC3339Nano, value); err == nil {
			t.cutoff, t.abs = at.UTC(), true
			return nil
		}
		d, err := parseSince(value)
		if err != nil {
			return fmt.Errorf("%q is neither a duration ago (15m, 2h, 7d) nor an RFC 3339 time (2026-11-25T02:00:00Z)", value)
		}
		t.dur, t.cutoff = d, now.Add(-d)
	case kindDomain:
		t.val = strings.ToLower(strings.TrimPrefix(value, "@"))
		if t.val == "" {
			return fmt.Errorf("missing value, as in %s", fieldExample(t.kind))
		}
	case kindShadow:
		a, err := ParseAction(value)
		if err != nil || a == ActionError {
			return fmt.Errorf("unknown shadow action %q (want allow, challenge or deny)", value)
		}
		t.val = string(a)
	default:
		t.val = strings.ToLower(value)
	}
	return nil
}

// parseComparison reads a score comparison; rest starts at the operator
// in the literal text and value at the same place in the decoded text.
func parseComparison(t term, name, rest, value string) (term, error) {
	s, err := ParseScore(name)
	if err != nil {
		return t, fmt.Errorf("unknown score %q (want risk, ato, bot or abuse)", name)
	}
	var op cmpOp
	switch {
	case strings.HasPrefix(rest, "<="):
		op = opLE
	case strings.HasPrefix(rest, ">="):
		op = opGE
	case strings.HasPrefix(rest, "<"):
		op = opLT
	case strings.HasPrefix(rest, ">"):
		op = opGT
	default:
		op = opEQ
	}
	num := value[len(opText[op]):]
	if num == "" {
		return t, fmt.Errorf("missing number after %s", opText[op])
	}
	if !isDecimal(num) {
		return t, fmt.Errorf("%q is not a number", num)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v > 100 {
		return t, fmt.Errorf("%q is out of range (want 0 to 100)", num)
	}
	t.kind, t.score, t.op, t.num = kindScore, s, op, v
	return t, nil
}

// isDecimal reports whether s is digits with at most one decimal point and
// at least one digit: no sign, exponent, hex, NaN or Inf.
func isDecimal(s string) bool {
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// fieldKind maps a lower-case field name to its kind.
func fieldKind(name string) (termKind, bool) {
	for k, n := range fieldNames {
		if n == name {
			return termKind(k), true
		}
	}
	return 0, false
}

// fieldNames holds the name of each field kind as written in filters.
var fieldNames = [...]string{
	kindType:    "type",
	kindStatus:  "status",
	kindAction:  "action",
	kindUser:    "user",
	kindIP:      "ip",
	kindSignal:  "signal",
	kindPolicy:  "policy",
	kindCountry: "country",
	kindEmail:   "email",
	kindSource:  "source",
	kindSince:   "since",
	kindUntil:   "until",
	kindUA:      "ua",
	kindDomain:  "domain",
	kindShadow:  "shadow",
	kindRule:    "rule",
}

// fieldExample returns a valid term of kind k for error messages.
func fieldExample(k termKind) string {
	switch k {
	case kindType:
		return "type:$login"
	case kindStatus:
		return "status:$failed"
	case kindAction:
		return "action:deny"
	case kindUser:
		return "user:u123"
	case kindIP:
		return "ip:10.0.0.0/8"
	case kindSignal:
		return "signal:proxy_ip"
	case kindPolicy:
		return `policy:"high risk"`
	case kindCountry:
		return "country:DE"
	case kindEmail:
		return "email:@example.com"
	case kindSource:
		return "source:http"
	case kindSince:
		return "since:15m"
	case kindUntil:
		return "until:1h"
	case kindUA:
		return "ua:curl"
	case kindDomain:
		return "domain:example.com"
	case kindShadow:
		return "shadow:deny"
	case kindRule:
		return `rule:"stuffing ip"`
	}
	return ""
}

// parseIP reads an address (IPv4-mapped addresses become IPv4) or a CIDR
// prefix (host bits cleared). Zones are not accepted.
func parseIP(s string) (p netip.Prefix, single, ok bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false, false
		}
		return p.Masked(), false, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true, true
}

// isIPWord reports whether s is an address or prefix parseIP accepts, so a
// bare IPv6 word is not read as a field name.
func isIPWord(s string) bool {
	_, _, ok := parseIP(s)
	return ok
}

// maxDays keeps a day count within time.Duration.
const maxDays = float64(math.MaxInt64 / int64(24*time.Hour))

// parseSince reads a positive duration: Go syntax (90s, 15m, 1h30m) with an
// optional leading day count (2d, 1.5d, 1d12h).
func parseSince(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration (want e.g. 15m, 2h or 7d)", s)
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("duration must be positive")
	}
	var days time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		if !isDecimal(s[:i]) {
			return 0, bad
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n > maxDays {
			return 0, errors.New("duration too long")
		}
		days = time.Duration(n * float64(24*time.Hour))
		rest = s[i+1:]
	}
	var d time.Duration
	if rest != "" {
		if rest[0] == '+' || rest[0] == '-' {
			return 0, bad
		}
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, bad
		}
	}
	if d > math.MaxInt64-days {
		return 0, errors.New("duration too long")
	}
	if d+days <= 0 {
		return 0, errors.New("duration must be positive")
	}
	return d + days, nil
}

func isPrintable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return utf8.ValidString(s)
}
