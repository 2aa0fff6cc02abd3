package common

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/riskwatch/riskwatch/decision"
)

// DecisionJSON returns d as one line of JSON, the form `y` copies. Raw
// request or response bytes that are not valid JSON are kept as strings.
func DecisionJSON(d *decision.Decision) (string, error) {
	b, err := json.Marshal(d)
	if err == nil {
		return string(b), nil
	}
	c := *d
	c.Request = rawOrString(d.Request)
	c.Response = rawOrString(d.Response)
	b, err = json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encode decision %s: %w", d.ID, err)
	}
	return string(b), nil
}

func rawOrString(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || json.Valid(raw) {
		return raw
	}
	return json.RawMessage(strconv.Quote(string(raw)))
}

// Bounds of PrettyJSON: whatever an event holds, the detail view shows at
// most MaxPrettyLines lines of at most MaxPrettyLine bytes, and values nested
// deeper than MaxPrettyDepth are shown on one line. (A 20 KB event nested
// 10,000 deep once indented to 1.27 million lines and froze the dashboard.)
const (
	MaxPrettyDepth = 16
	MaxPrettyLines = 2000
	MaxPrettyLine  = 1000
)

// PrettyJSON indents raw JSON by two spaces and returns its lines, within
// the bounds above: a value nested deeper than MaxPrettyDepth is written
// compactly on its own line, a line longer than MaxPrettyLine is cut with an
// ellipsis, and after MaxPrettyLines lines one more line says how many were
// left out. ok is false when raw is not valid JSON; the lines are then raw
// itself, split at newlines, within the same bounds. The work is linear in
// len(raw). Lines may hold any characters of the input: sanitize them before
// they reach the terminal.
func PrettyJSON(raw []byte) (lines []string, ok bool) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, true
	}
	if !json.Valid(raw) {
		var out lineSink
		for l := range strings.SplitSeq(string(raw), "\n") {
			out.add(l)
		}
		return out.done(), false
	}
	p := prettyPrinter{src: raw}
	p.value(0, "")
	return p.out.done(), true
}

// lineSink collects bounded lines and counts those past the bound.
type lineSink struct {
	lines   []string
	dropped int
}

func (s *lineSink) add(l string) {
	if len(s.lines) >= MaxPrettyLines {
		s.dropped++
		return
	}
	if len(l) > MaxPrettyLine {
		cut := MaxPrettyLine
		for cut > 0 && !isRuneStart(l[cut]) {
			cut--
		}
		l = l[:cut] + Ellipsis
	}
	s.lines = append(s.lines, l)
}

func (s *lineSink) done() []string {
	if s.dropped > 0 {
		s.lines = append(s.lines, fmt.Sprintf("… %s more lines not shown (y copies the whole decision)", Count(uint64(s.dropped))))
	}
	return s.lines
}

func isRuneStart(b byte) bool { return b&0xc0 != 0x80 }

// prettyPrinter writes valid JSON one value per line. It reads src once,
// left to right; pos is the next byte to read.
type prettyPrinter struct {
	src []byte
	pos int
	out lineSink
}

func (p *prettyPrinter) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value writes the value at pos, its first line starting with prefix (the
// indentation and, in an object, the member's name), and consumes it.
func (p *prettyPrinter) value(depth int, prefix string) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return
	}
	c := p.src[p.pos]
	if (c != '{' && c != '[') || depth >= MaxPrettyDepth {
		p.out.add(prefix + p.compact())
		return
	}
	closer := byte('}')
	if c == '[' {
		closer = ']'
	}
	indent := strings.Repeat("  ", depth)
	p.pos++
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == closer {
		p.pos++
		p.out.add(prefix + string(c) + string(closer))
		return
	}
	p.out.add(prefix + string(c))
	inner := indent + "  "
	for {
		p.skipSpace()
		head := inner
		if c == '{' {
			head += p.compact() // the member's name
			p.skipSpace()
			p.pos++ // ':'
			head += ": "
		}
		start := len(p.out.lines)
		p.value(depth+1, head)
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			p.appendComma(start)
			continue
		}
		p.pos++ // the closer
		p.out.add(indent + string(closer))
		return
	}
}

// appendComma ends the last line written since start with a comma.
func (p *prettyPrinter) appendComma(start int) {
	if n := len(p.out.lines); n > start && p.out.dropped == 0 {
		p.out.lines[n-1] += ","
	}
}

// compact consumes the value at pos and returns it without white space
// outside strings.
func (p *prettyPrinter) compact() string {
	var b strings.Builder
	depth := 0
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case ' ', '\t', '\n', '\r':
			p.pos++
			continue
		case '"':
			end := p.stringEnd()
			if b.Len() < MaxPrettyLine {
				b.Write(p.src[p.pos:end])
			}
			p.pos = end
		case '{', '[':
			depth++
			b.WriteByte(c)
			p.pos++
		case '}', ']':
			if depth == 0 {
				return b.String()
			}
			depth--
			b.WriteByte(c)
			p.pos++
		case ',', ':':
			if depth == 0 {
				return b.String()
			}
			b.WriteByte(c)
			p.pos++
		default:
			b.WriteByte(c)
			p.pos++
		}
		if depth == 0 && c != ',' && c != ':' && p.atValueEnd() {
			return b.String()
		}
	}
	return b.String()
}

// atValueEnd reports whether the next non-space byte ends a value (or the
// input ends).
func (p *prettyPrinter) atValueEnd() bool {
	i := p.pos
	for i < len(p.src) {
		switch p.src[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		case ',', '}', ']', ':':
			return true
		}
		return false
	}
	return true
}

// stringEnd returns the index after the string starting at pos.
func (p *prettyPrinter) stringEnd() int {
	for i := p.pos + 1; i < len(p.src); i++ {
		switch p.src[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(p.src)
}
