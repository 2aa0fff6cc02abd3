package policy

import (
	"strings"
	"testing"
)

// TestLocate checks where the locator puts keys and values in the forms
// TOML allows, and that its strings read as the decoder reads them.
func TestLocate(t *testing.T) {
	src := strings.Join([]string{
		`default = "allow" # a comment`, // 1
		`["lists"]`,                     // 2
		`"a.b" = ['x', # c`,             // 3
		`  "y"]`,                        // 4
		`c . d = """`,                   // 5
		`one \`,                         // 6
		`  two"""`,                      // 7
		`[[rule]] # first`,              // 8
		`name = 'r1'`,                   // 9
		`[[ rule ]]`,                    // 10
		`name = "r\u0032"`,              // 11
		`types = [ { t = ["$x"] } ]`,    // 12
		`when = 1979-05-27 07:32:00Z`,   // 13
		`after = "z"`,                   // 14
	}, "\r\n")
	at, deep := locate(src)
	if deep >= 0 {
		t.Fatalf("deep at %d", deep)
	}
	lines := newLineIndex(src)
	for _, tc := range []struct {
		path      string
		line, col int
		key       bool
	}{
		{child("", "default"), 1, 11, false},
		{child("", "lists"), 2, 1, true},
		{child(child("", "lists"), "a.b"), 3, 1, true},
		{elem(child(child("", "lists"), "a.b"), 1), 4, 3, false},
		{child(child(child("", "lists"), "c"), "d"), 5, 9, false},
		{elem(child("", "rule"), 0), 8, 1, true},
		{child(elem(child("", "rule"), 0), "name"), 9, 8, false},
		{elem(child("", "rule"), 1), 10, 1, true},
		{child(elem(child("", "rule"), 1), "name"), 11, 8, false},
		{elem(child(elem(child(elem(child("", "rule"), 1), "types"), 0), "t"), 0), 12, 18, false},
		{child(elem(child("", "rule"), 1), "after"), 14, 9, false},
	} {
		s, ok := at[tc.path]
		if !ok {
			t.Errorf("%q not found", tc.path)
			continue
		}
		off := s.val
		if tc.key {
			off = s.key
		}
		if l, c := lines.position(off); l != tc.line || c != tc.col {
			t.Errorf("%q at %d:%d, want %d:%d", tc.path, l, c, tc.line, tc.col)
		}
	}
	checkLocator(t, src)
	if v, _, _, _ := decodeString(src, at[child(child(child("", "lists"), "c"), "d")].val, false); v != "one two" {
		t.Errorf("multi-line string with a line-ending backslash reads %q", v)
	}
}

// TestDecodeStringOffsets checks the offset of each character of a
// decoded string, through escapes and a line-ending backslash.
func TestDecodeStringOffsets(t *testing.T) {
	src := "x = \"\"\"\na\\tb\\\n   c\\u00e9\"\"\"\n"
	v, offs, end, ok := decodeString(src, 4, true)
	if !ok || v != "a\tbcé" || end != len(src)-1 {
		t.Fatalf("got %q %v end %d", v, ok, end)
	}
	want := []int{8, 9, 11, 17, 18, 24}
	if len(offs) != len(want) {
		t.Fatalf("offsets %v, want %v", offs, want)
	}
	for i := range want {
		if offs[i] != want[i] {
			t.Errorf("offsets %v, want %v", offs, want)
			break
		}
	}
}
