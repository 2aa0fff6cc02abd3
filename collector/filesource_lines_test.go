package collector

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// splitFrame is a frame with owned bytes, for comparisons.
type splitFrame struct {
	Start, End int64
	Line       string
	TooLong    bool
	Head       string
	Partial    bool
}

func (w splitFrame) String() string {
	return fmt.Sprintf("{%d-%d line=%q long=%v head=%q partial=%v}", w.Start, w.End, w.Line, w.TooLong, w.Head, w.Partial)
}

func ownSplitFrame(f frame) splitFrame {
	return splitFrame{Start: f.Start, End: f.End, Line: string(f.Line), TooLong: f.TooLong, Head: string(f.Head), Partial: f.Partial}
}

// referenceSplit frames data the obvious way, holding everything in memory:
// the specification lineSplitter must match whatever the chunking.
func referenceSplit(data []byte, base int64, maxLine int) []splitFrame {
	var out []splitFrame
	off := base
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		partial := i < 0
		raw, n := data, len(data)
		if !partial {
			raw, n = data[:i], i+1
		}
		f := splitFrame{Start: off, End: off + int64(n), Partial: partial}
		off += int64(n)
		data = data[n:]
		if len(raw) > maxLine {
			f.TooLong = true
			f.Head = string(raw[:min(len(raw), rejectHeadLen)])
			out = append(out, f)
			continue
		}
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(bytes.Trim(raw, " \t\r")) == 0 {
			continue
		}
		f.Line = string(raw)
		out = append(out, f)
	}
	return out
}

// splitInChunks feeds data in chunks of the given sizes (cycled) and drains
// the splitter after each, then flushes. It checks the splitter's invariants
// as it goes.
func splitInChunks(t testing.TB, data []byte, base int64, maxLine int, sizes []int) []splitFrame {
	t.Helper()
	s := newLineSplitter(maxLine, base)
	var out []splitFrame
	lastEnd := base
	drain := func() {
		for {
			f, ok := s.next()
			if !ok {
				break
			}
			if f.Start < lastEnd || f.End <= f.Start {
				t.Fatalf("frame %v out of order (previous end %d)", ownSplitFrame(f), lastEnd)
			}
			lastEnd = f.End
			out = append(out, ownSplitFrame(f))
		}
		if pending := len(s.buf) - s.r; pending > maxLine {
			t.Fatalf("splitter holds %d bytes of a partial line, limit %d", pending, maxLine)
		}
		if c := s.consumed(); c < lastEnd || c > s.end() {
			t.Fatalf("consumed %d outside [%d, %d]", c, lastEnd, s.end())
		}
	}
	fed := int64(0)
	for i := 0; len(data) > 0; i++ {
		n := 1
		if len(sizes) > 0 {
			n = max(1, sizes[i%len(sizes)])
		}
		n = min(n, len(data))
		s.feed(data[:n])
		fed += int64(n)
		data = data[n:]
		drain()
		if s.end() != base+fed {
			t.Fatalf("end %d after feeding %d bytes from %d", s.end(), fed, base)
		}
	}
	if f, ok := s.flush(); ok {
		out = append(out, ownSplitFrame(f))
	}
	if s.buffered() || s.consumed() != base+fed {
		t.Fatalf("after flush: buffered=%v consumed=%d, want %d", s.buffered(), s.consumed(), base+fed)
	}
	return out
}

func TestFileLineSplitter(t *testing.T) {
	long := strings.Repeat("x", 40)
	cases := []struct {
		name string
		in   string
		max  int
		want []splitFrame
	}{
		{"empty", "", 16, nil},
		{"one line", "{\"a\":1}\n", 16, []splitFrame{{Start: 100, End: 108, Line: `{"a":1}`}}},
		{"crlf", "ab\r\ncd\r\n", 16, []splitFrame{{Start: 100, End: 104, Line: "ab"}, {Start: 104, End: 108, Line: "cd"}}},
		{"blank lines skipped", "\n\r\n \t\nab\n\n", 16, []splitFrame{{Start: 106, End: 109, Line: "ab"}}},
		{"partial flushed", "ab\ncd", 16, []splitFrame{{Start: 100, End: 103, Line: "ab"}, {Start: 103, End: 105, Line: "cd", Partial: true}}},
		{"blank partial", "ab\n  ", 16, []splitFrame{{Start: 100, End: 103, Line: "ab"}}},
		{"exactly max", "0123456789\n", 10, []splitFrame{{Start: 100, End: 111, Line: "0123456789"}}},
		{"max plus cr counts", "0123456789\r\n", 10, []splitFrame{{Start: 100, End: 112, TooLong: true, Head: "0123456789\r"}}},
		{"too long between good", "a\n" + long + "\nb\n", 10, []splitFrame{
			{Start: 100, End: 102, Line: "a"},
			{Start: 102, End: 143, TooLong: true, Head: long},
			{Start: 143, End: 145, Line: "b"},
		}},
		{"too long partial", "a\n" + long, 10, []splitFrame{
			{Start: 100, End: 102, Line: "a"},
			{Start: 102, End: 142, TooLong: true, Head: long, Partial: true},
		}},
		{"nul and binary", "\x00\xff\xfe\n", 16, []splitFrame{{Start: 100, End: 104, Line: "\x00\xff\xfe"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if ref := referenceSplit([]byte(tc.in), 100, tc.max); !slices.Equal(ref, tc.want) {
				t.Fatalf("reference disagrees with the table:\n got %v\nwant %v", ref, tc.want)
			}
			for _, sizes := range [][]int{nil, {3}, {7, 1, 2}, {1 << 20}} {
				if got := splitInChunks(t, []byte(tc.in), 100, tc.max, sizes); !slices.Equal(got, tc.want) {
					t.Fatalf("chunks %v:\n got %v\nwant %v", sizes, got, tc.want)
				}
			}
		})
	}
}

// TestFileLineSplitterLongHead checks that an over-long line keeps exactly
// its first rejectHeadLen bytes however it arrives, and that memory stays
// bounded while it streams past.
func TestFileLineSplitterLongHead(t *testing.T) {
	line := make([]byte, 5<<20)
	for i := range line {
		line[i] = byte('a' + i%26)
	}
	data := append([]byte("{}\n"), line...)
	data = append(data, "\n{}\n"...)
	for _, sizes := range [][]int{{64 << 10}, {100, 1000, 7}} {
		got := splitInChunks(t, data, 0, 1000, sizes)
		want := referenceSplit(data, 0, 1000)
		if !slices.Equal(got, want) {
			t.Fatalf("chunks %v:\n got %v\nwant %v", sizes, got, want)
		}
		if len(got) != 3 || !got[1].TooLong || got[1].Head != string(line[:rejectHeadLen]) {
			t.Fatalf("chunks %v: want the long line rejected with its head, got %v", sizes, got)
		}
	}
}

func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("{\"type\":\"$login\"}\n{\"type\":\"$login\"}\r\n"), uint8(8), []byte{1, 2, 3})
	f.Add([]byte("\n\n\r\n  \nabc"), uint8(2), []byte{0})
	f.Add([]byte("0123456789abcdef\nxy\n0123456789"), uint8(4), []byte{5, 1})
	f.Add([]byte("\xff\xfe\x00\n\r\r\n"), uint8(0), []byte{2})
	f.Add(bytes.Repeat([]byte("z"), 600), uint8(255), []byte{200, 3})
	f.Fuzz(func(t *testing.T, data []byte, maxLine uint8, chunks []byte) {
		sizes := make([]int, len(chunks))
		for i, c := range chunks {
			sizes[i] = int(c)
		}
		maxL := int(maxLine)
		got := splitInChunks(t, data, 7, maxL, sizes)
		want := referenceSplit(data, 7, maxL)
		if !slices.Equal(got, want) {
			t.Fatalf("max %d chunks %v:\n got %v\nwant %v", maxL, sizes, got, want)
		}
	})
}
