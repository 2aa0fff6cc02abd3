package safee

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// maxDepth is the deepest nesting of objects and arrays a scanner accepts,
// the limit encoding/json applies.
const maxDepth = 10000

// errUnexpectedEnd reports input that stops inside the JSON value.
var errUnexpectedEnd = errors.New("unexpected end of input")

// syntaxError is a byte that cannot continue the JSON text. Its message is
// worded as encoding/json words it, so rejection reasons read the same
// whichever parser produced them.
type syntaxError struct {
	msg string
	off int // bytes read up to and including the offending one
}

func (e *syntaxError) Error() string {
	return e.msg + " (at byte " + strconv.Itoa(e.off) + ")"
}

// rawValue is one JSON value as the scanner found it.
type rawValue struct {
	// b is the value's exact bytes, its capacity clipped to them; nil when
	// the member is absent.
	b []byte
	// kind is 'n' null, 's' string, 'd' number, 'o' object, 'a' array,
	// 'b' boolean; 0 when the member is absent.
	kind byte
	// esc reports a string holding a backslash escape.
	esc bool
}

// absent reports a member that is missing or null.
func (v rawValue) absent() bool { return v.kind == 0 || v.kind == 'n' }

// scanner reads one JSON text in a single pass, accepting exactly what
// encoding/json accepts (RFC 8259, nesting up to maxDepth) and failing with
// an errUnexpectedEnd or a *syntaxError at the first byte encoding/json
// would reject. Callers walk the objects and arrays they care about with
// enter, nextKey and nextElement and read every other value whole with value.
type scanner struct {
	data  []byte
	pos   int // the next byte to read
	depth int // objects and arrays entered and not yet left
}

// fail reports the byte at i as one that cannot appear in context.
func (s *scanner) fail(i int, context string) error {
	return &syntaxError{msg: "invalid character " + quoteChar(s.data[i]) + " " + context, off: i + 1}
}

// quoteChar formats c as encoding/json does in its syntax errors.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

// nonSpace skips whitespace and returns the byte it stops at, unread.
func (s *scanner) nonSpace() (byte, error) {
	for ; s.pos < len(s.data); s.pos++ {
		switch c := s.data[s.pos]; c {
		case ' ', '\t', '\r', '\n':
		default:
			return c, nil
		}
	}
	return 0, errUnexpectedEnd
}

// enter consumes the '{' or '[' at s.pos.
func (s *scanner) enter() error {
	if s.depth >= maxDepth {
		return s.fail(s.pos, "exceeded max depth")
	}
	s.depth++
	s.pos++
	return nil
}

// nextKey moves to the next member of the object being read, consuming the
// separator before it and the colon after its key, and returns the key. At
// the closing brace it consumes it and reports more == false. first is true
// for the call right after enter.
func (s *scanner) nextKey(first bool) (key rawValue, more bool, err error) {
	c, err := s.nonSpace()
	if err != nil {
		return rawValue{}, false, err
	}
	if c == '}' {
		s.pos++
		s.depth--
		return rawValue{}, false, nil
	}
	if !first {
		if c != ',' {
			return rawValue{}, false, s.fail(s.pos, "after object key:value pair")
		}
		s.pos++
		if c, err = s.nonSpace(); err != nil {
			return rawValue{}, false, err
		}
	}
	if c != '"' {
		return rawValue{}, false, s.fail(s.pos, "looking for beginning of object key string")
	}
	start := s.pos
	esc, err := s.str()
	if err != nil {
		return rawValue{}, false, err
	}
	key = rawValue{b: s.data[start:s.pos:s.pos], kind: 's', esc: esc}
	if c, err = s.nonSpace(); err != nil {
		return rawValue{}, false, err
	}
	if c != ':' {
		return rawValue{}, false, s.fail(s.pos, "after object key")
	}
	s.pos++
	return key, true, nil
}

// nextElement moves to the next element of the array being read, consuming
// the comma before it; value then reads the element. At the closing bracket
// it consumes it and reports false. first is true for the call right after
// enter.
func (s *scanner) nextElement(first bool) (bool, error) {
	c, err := s.nonSpace()
	if err != nil {
		return false, err
	}
	switch {
	case c == ']':
		s.pos++
		s.depth--
		return false, nil
	case first:
		return true, nil
	case c == ',':
		s.pos++
		return true, nil
	}
	return false, s.fail(s.pos, "after array element")
}

// value reads the next value whole, after any whitespace.
func (s *scanner) value() (rawValue, error) {
	c, err := s.nonSpace()
	if err != nil {
		return rawValue{}, err
	}
	start := s.pos
	v := rawValue{kind: kindOf(c)}
	if c == '{' || c == '[' {
		err = s.skipContainer()
	} else {
		v.esc, err = s.scalar(c)
	}
	if err != nil {
		return rawValue{}, err
	}
	v.b = s.data[start:s.pos:s.pos]
	return v, nil
}

// kindOf returns the rawValue kind of a value starting with c.
func kindOf(c byte) byte {
	switch c {
	case 'n':
		return 'n'
	case '"':
		return 's'
	case '{':
		return 'o'
	case '[':
		return 'a'
	case 't', 'f':
		return 'b'
	}
	return 'd'
}

// skipContainer reads the object or array at s.pos to its end, without
// recursion, so hostile nesting costs no goroutine stack.
func (s *scanner) skipContainer() error {
	var buf [64]byte
	open := buf[:0] // the containers entered and not yet left: '{' or '['
	for {
		open = append(open, s.data[s.pos])
		if err := s.enter(); err != nil {
			return err
		}
		first := true
		for {
			var more bool
			var err error
			if open[len(open)-1] == '{' {
				_, more, err = s.nextKey(first)
			} else {
				more, err = s.nextElement(first)
			}
			if err != nil {
				return err
			}
			first = false
			if !more {
				if open = open[:len(open)-1]; len(open) == 0 {
					return nil
				}
				continue
			}
			c, err := s.nonSpace()
			if err != nil {
				return err
			}
			if c == '{' || c == '[' {
				break
			}
			if _, err := s.scalar(c); err != nil {
				return err
			}
		}
	}
}

// scalar reads the string, number or literal starting with c at s.pos,
// reporting whether a string holds an escape.
func (s *scanner) scalar(c byte) (esc bool, err error) {
	switch c {
	case '"':
		return s.str()
	case 't':
		return false, s.literal("true")
	case 'f':
		return false, s.literal("false")
	case 'n':
		return false, s.literal("null")
	}
	if c == '-' || '0' <= c && c <= '9' {
		return false, s.number()
	}
	return false, s.fail(s.pos, "looking for beginning of value")
}

// literal reads the literal word at s.pos, whose first byte is known.
func (s *scanner) literal(word string) error {
	for i := 1; i < len(word); i++ {
		at := s.pos + i
		if at >= len(s.data) {
			return errUnexpectedEnd
		}
		if s.data[at] != word[i] {
			return s.fail(at, "in literal "+word+" (expecting "+quoteChar(word[i])+")")
		}
	}
	s.pos += len(word)
	return nil
}

// number reads the number at s.pos: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	d, i := s.data, s.pos
	if d[i] == '-' {
		i++
		if i >= len(d) {
			return errUnexpectedEnd
		}
		if !isDigit(d[i]) {
			return s.fail(i, "in numeric literal")
		}
	}
	if d[i] == '0' {
		i++
	} else {
		i = skipDigits(d, i+1)
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) {
			return errUnexpectedEnd
		}
		if !isDigit(d[i]) {
			return s.fail(i, "after decimal point in numeric literal")
		}
		i = skipDigits(d, i+1)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) {
			return errUnexpectedEnd
		}
		if !isDigit(d[i]) {
			return s.fail(i, "in exponent of numeric literal")
		}
		i = skipDigits(d, i+1)
	}
	s.pos = i
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func skipDigits(d []byte, i int) int {
	for i < len(d) && isDigit(d[i]) {
		i++
	}
	return i
}

// str reads the string at s.pos, reporting whether it holds an escape.
func (s *scanner) str() (esc bool, err error) {
	d, i := s.data, s.pos+1
	for {
		i = skipPlain(d, i)
		if i >= len(d) {
			return false, errUnexpectedEnd
		}
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			return esc, nil
		case c < 0x20:
			return false, s.fail(i, "in string literal")
		}
		esc = true
		if i++; i >= len(d) {
			return false, errUnexpectedEnd
		}
		switch d[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			for range 4 {
				if i++; i >= len(d) {
					return false, errUnexpectedEnd
				}
				if !isHex(d[i]) {
					return false, s.fail(i, "in \\u hexadecimal character escape")
				}
			}
			i++
		default:
			return false, s.fail(i, "in string escape code")
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Masks for skipPlain, which tests eight bytes at a time.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// skipPlain returns the index of the first byte at or after i that ends a
// run of plain string content: a quote, a backslash or a control character;
// len(d) if there is none.
func skipPlain(d []byte, i int) int {
	for ; i+8 <= len(d); i += 8 {
		x := binary.LittleEndian.Uint64(d[i:])
		// A byte is special when it is below 0x20 or, xor'ed with '"' or
		// '\\', zero; each test sets the byte's high bit (and may set
		// higher bytes' too, which only sends the loop below to look).
		ctl := (x - ones*0x20) &^ x
		quote := x ^ (ones * '"')
		slash := x ^ (ones * '\\')
		if (ctl|(quote-ones)&^quote|(slash-ones)&^slash)&highs != 0 {
			break
		}
	}
	for ; i < len(d); i++ {
		if c := d[i]; c < 0x20 || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}
