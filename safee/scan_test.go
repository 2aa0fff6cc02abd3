package safee

import (
	"bytes"
	"testing"
)

// TestSkipPlainFindsEveryStop puts each byte value at each offset of a
// buffer longer than one eight-byte word and checks that skipPlain stops
// exactly at the quotes, backslashes and control characters.
func TestSkipPlainFindsEveryStop(t *testing.T) {
	for at := range 20 {
		for c := range 256 {
			buf := bytes.Repeat([]byte("a\xc3\xa9~\x7f\xff"), 4)[:19]
			buf[at%len(buf)] = byte(c)
			want := len(buf)
			if c < 0x20 || c == '"' || c == '\\' {
				want = at % len(buf)
			}
			for from := 0; from <= at%len(buf); from++ {
				if got := skipPlain(buf, from); got != want {
					t.Fatalf("skipPlain(%q, %d) = %d, want %d", buf, from, got, want)
				}
			}
		}
	}
}

func TestQuoteChar(t *testing.T) {
	for c, want := range map[byte]string{
		'x': `'x'`, '\'': `'\''`, '"': `'"'`, '\\': `'\\'`, '\n': `'\n'`, 0: `'\x00'`, 0xc3: `'Ã'`, 0x7f: `'\x7f'`,
	} {
		if got := quoteChar(c); got != want {
			t.Errorf("quoteChar(%#x) = %s, want %s", c, got, want)
		}
	}
}
