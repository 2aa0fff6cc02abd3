package api

import (
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadSSEEdges(t *testing.T) {
	type ev struct{ id, data string }
	cases := []struct {
		name, in string
		want     []ev
		err      string
	}{
		{"CRLF and LF", "data: a\r\ndata:b\n\r\n", []ev{{"", "a\nb"}}, ""},
		{"id alone", "id: 7\n\n", []ev{{"7", ""}}, ""},
		{"comment and retry ignored", ": hb\nretry: 5\nevent: x\n\n", nil, ""},
		{"id with NUL ignored", "id: a\x00b\ndata: x\n\n", []ev{{"", "x"}}, ""},
		{"field without colon", "data\n\n", []ev{{"", ""}}, ""},
		{"unfinished event dropped", "data: a\n\ndata: b\n", []ev{{"", "a"}}, ""},
		{"unterminated last line dropped", "data: a\n", nil, ""},
		{"CR at the end is no blank line", "data: a\n\r", nil, ""},
		{"line at the limit", "data: " + strings.Repeat("x", 10) + "\r\n\n", []ev{{"", strings.Repeat("x", 10)}}, ""},
		{"line over the limit", "data: " + strings.Repeat("x", 11) + "\r\n\n", nil, "stream line longer than 16 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []ev
			lines := 0
			err := readSSE(iotest.OneByteReader(strings.NewReader(tc.in)), 16, func() { lines++ },
				func(e sseEvent) bool {
					got = append(got, ev{e.id, string(e.data)})
					return true
				})
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("event %d: %q, want %q", i, got[i], tc.want[i])
				}
			}
			if tc.err == "" && lines != strings.Count(tc.in, "\n") {
				t.Errorf("seen %d lines, want %d", lines, strings.Count(tc.in, "\n"))
			}
		})
	}
}

func TestReadSSEStopsWhenEmitSaysSo(t *testing.T) {
	n := 0
	err := readSSE(strings.NewReader("data: 1\n\ndata: 2\n\n"), 64, func() {},
		func(sseEvent) bool { n++; return false })
	if err != nil || n != 1 {
		t.Errorf("emit called %d times, err %v; want once, nil", n, err)
	}
}
