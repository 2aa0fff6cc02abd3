package policy

import (
	"strconv"
	"strings"
)

// BurntSushi/toml decodes a document but does not say where its keys and
// values are, so a small scanner finds them: it walks the same grammar and
// records, for each entry, where its key and its value start. Parse runs
// it first (it also refuses deep nesting, on which the decoder is slow)
// and uses its positions only after the decoder accepted the file.

// maxNesting bounds how deep arrays and inline tables may nest. The TOML
// decoder takes time superlinear in the depth; a policy needs three levels.
const maxNesting = 16

// spot is where an entry starts: key is the offset of its key (of its
// header for a table, of the value itself for an array element) and val
// that of its value.
type spot struct{ key, val int }

// Entry paths: the keys from the root, each behind a NUL, and array
// indices behind a \x01 ("\x00rule\x011\x00when" is rule[1].when).
func child(parent, key string) string  { return parent + "\x00" + key }
func elem(parent string, i int) string { return parent + "\x01" + strconv.Itoa(i) }

// locator scans a TOML document. It reads what the decoder accepts; on
// anything else it stops, keeping what it found so far.
type locator struct {
	src   string
	i     int
	at    map[string]spot
	aot   map[string]int // array of tables path → index of its last element
	table string         // path of the current table
	depth int
	deep  int // offset where nesting went over maxNesting, or -1
	stop  bool
}

// locate scans src and returns the spots of its entries by path, and the
// offset at which arrays and inline tables nest deeper than maxNesting
// (-1 if they do not).
func locate(src string) (at map[string]spot, deep int) {
	l := &locator{src: src, at: make(map[string]spot), aot: make(map[string]int), deep: -1}
	for !l.stop {
		l.skipBlank()
		if l.i >= len(src) {
			break
		}
		if src[l.i] == '[' {
			l.header()
		} else {
			l.keyval(l.table)
		}
		l.endLine()
	}
	return l.at, l.deep
}

func (l *locator) peek() byte {
	if l.i < len(l.src) {
		return l.src[l.i]
	}
	return 0
}

// skipSpace skips blanks within a line.
func (l *locator) skipSpace() {
	for l.i < len(l.src) && (l.src[l.i] == ' ' || l.src[l.i] == '\t') {
		l.i++
	}
}

// skipBlank skips blanks, newlines and comments.
func (l *locator) skipBlank() {
	for l.i < len(l.src) {
		switch l.src[l.i] {
		case ' ', '\t', '\r', '\n':
			l.i++
		case '#':
			l.skipComment()
		default:
			return
		}
	}
}

func (l *locator) skipComment() {
	if j := strings.IndexByte(l.src[l.i:], '\n'); j >= 0 {
		l.i += j
	} else {
		l.i = len(l.src)
	}
}

// endLine expects the rest of a line to be blank or a comment.
func (l *locator) endLine() {
	l.skipSpace()
	if l.peek() == '#' {
		l.skipComment()
	}
	switch l.peek() {
	case '\r', '\n', 0:
	default:
		l.stop = true
	}
}

// header reads [table] or [[array.of.tables]].
func (l *locator) header() {
	start := l.i
	array := strings.HasPrefix(l.src[l.i:], "[[")
	l.i++
	if array {
		l.i++
	}
	keys := l.keys()
	close := "]"
	if array {
		close = "]]"
	}
	if l.stop || !strings.HasPrefix(l.src[l.i:], close) {
		l.stop = true
		return
	}
	l.i += len(close)
	p := ""
	for j, k := range keys {
		p = child(p, k)
		l.note(p, spot{start, start})
		if j == len(keys)-1 && array {
			n := 0
			if last, ok := l.aot[p]; ok {
				n = last + 1
			}
			l.aot[p] = n
			p = elem(p, n)
			l.note(p, spot{start, start})
		} else if n, ok := l.aot[p]; ok {
			p = elem(p, n)
		}
	}
	l.table = p
}

// note records s for path p unless p was seen before.
func (l *locator) note(p string, s spot) {
	if _, ok := l.at[p]; !ok {
		l.at[p] = s
	}
}

// keys reads a dotted key.
func (l *locator) keys() []string {
	var keys []string
	for {
		l.skipSpace()
		k, ok := l.simpleKey()
		if !ok {
			l.stop = true
			return nil
		}
		keys = append(keys, k)
		l.skipSpace()
		if l.peek() != '.' {
			return keys
		}
		l.i++
	}
}

func (l *locator) simpleKey() (string, bool) {
	switch c := l.peek(); c {
	case '"', '\'':
		if strings.HasPrefix(l.src[l.i:], strings.Repeat(string(c), 3)) {
			return "", false
		}
		v, _, end, ok := decodeString(l.src, l.i, false)
		l.i = end
		return v, ok
	}
	start := l.i
	for l.i < len(l.src) && !strings.ContainsRune(" \t\r\n=.[]#,{}\"'", rune(l.src[l.i])) {
		l.i++
	}
	return l.src[start:l.i], l.i > start
}

// keyval reads key = value in the table at path base.
func (l *locator) keyval(base string) {
	start := l.i
	keys := l.keys()
	if l.stop || l.peek() != '=' {
		l.stop = true
		return
	}
	l.i++
	l.skipSpace()
	p := base
	for j, k := range keys {
		p = child(p, k)
		if j < len(keys)-1 {
			l.note(p, spot{start, start})
		}
	}
	l.note(p, spot{start, l.i})
	l.value(p)
}

// value reads the value at path p.
func (l *locator) value(p string) {
	switch l.peek() {
	case '"', '\'':
		_, _, end, ok := decodeString(l.src, l.i, false)
		if !ok {
			l.stop = true
			return
		}
		l.i = end
	case '[':
		l.nested(func() {
			for n := 0; !l.stop; n++ {
				l.skipBlank()
				if l.peek() == ']' {
					break
				}
				l.note(elem(p, n), spot{l.i, l.i})
				l.value(elem(p, n))
				if !l.next(']') {
					return
				}
			}
		})
	case '{':
		l.nested(func() {
			for !l.stop {
				l.skipBlank()
				if l.peek() == '}' {
					break
				}
				l.keyval(p)
				if !l.next('}') {
					return
				}
			}
		})
	default:
		l.scalar()
	}
}

// nested reads an array or inline table with body, from its opening
// bracket to its closing one.
func (l *locator) nested(body func()) {
	open := l.src[l.i]
	if l.depth++; l.depth > maxNesting {
		l.deep = l.i
		l.stop = true
		return
	}
	l.i++
	body()
	l.depth--
	if l.stop {
		return
	}
	if (open == '[' && l.peek() != ']') || (open == '{' && l.peek() != '}') {
		l.stop = true
		return
	}
	l.i++
}

// next skips to the separator after an element: it consumes a comma and
// reports true, or reports false at the closing bracket.
func (l *locator) next(closing byte) bool {
	l.skipBlank()
	switch l.peek() {
	case ',':
		l.i++
		return true
	case closing:
		return false
	}
	l.stop = true
	return false
}

// scalar skips a number, boolean or date-time (whose date and time may be
// separated by a space).
func (l *locator) scalar() {
	start := l.i
	for l.i < len(l.src) {
		if !strings.ContainsRune(" \t\r\n,]}#", rune(l.src[l.i])) {
			l.i++
			continue
		}
		if l.src[l.i] == ' ' && isDate(l.src[start:l.i]) && l.i+1 < len(l.src) && isDigit(l.src[l.i+1]) {
			l.i++
			continue
		}
		break
	}
	if l.i == start {
		l.stop = true
	}
}

// isDate reports whether s is a date as TOML writes it, 1979-05-27.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i := range len(s) {
		if i != 4 && i != 7 && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
