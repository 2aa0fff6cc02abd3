package collector

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseWellFormed checks that the one-pass parse of well-formed bodies
// answers exactly as the general way does whenever it answers: the same
// items, accepted in order with the same IDs and bytes, none rejected.
func FuzzParseWellFormed(f *testing.F) {
	for _, seed := range []string{
		srvEvent("a"),
		"[" + srvEvent("a") + "," + srvEvent("") + "]",
		" \r\n[ " + srvEvent("a") + " ,\n" + srvEvent("b") + "\t]\n",
		"\xef\xbb\xbf" + srvEvent("bom"),
		"[" + srvEvent("a") + ",]",
		"[," + srvEvent("a") + "]",
		"[" + srvEvent("a") + ",," + srvEvent("b") + "]",
		"[" + srvEvent("a") + " " + srvEvent("b") + "]",
		"[" + srvEvent("a") + "]]",
		"[[" + srvEvent("a") + "]",
		"[\f" + srvEvent("a") + "]",
		"[" + srvEvent("a") + "\u00a0]",
		srvEvent("a") + "\n" + srvEvent("b"),
		`[{"type":"$a","s":"],[{\"\\"},{"type":"$b"}]`,
		"{\n \"type\": \"$pretty\"\n}",
		`{"type":"$a"} x`,
		"[" + strings.Repeat(`{"type":"$a"},`, 30) + `{"type":"$a"}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const maxItems = 20
		ids := func() func() string {
			n := 0
			return func() string { n++; return "gen-" + strconv.Itoa(n) }
		}
		got, ok := parseWellFormed(body, false, maxItems, ids())
		if !ok {
			return
		}
		want, err := parseItems(body, false, maxItems, ids())
		if err != nil {
			t.Fatalf("one pass accepted %d items, the general way refused the body: %v", got.Items, err)
		}
		if len(want.Rejected) > 0 || got.Items != want.Items || len(got.Accepted) != len(want.Accepted) {
			t.Fatalf("one pass: %d items, %d accepted; general: %d items, %d accepted, %d rejected",
				got.Items, len(got.Accepted), want.Items, len(want.Accepted), len(want.Rejected))
		}
		for i, g := range got.Accepted {
			w := want.Accepted[i]
			if g.Index != w.Index || g.ID != w.ID || !bytes.Equal(g.Event.Raw, w.Event.Raw) {
				t.Fatalf("item %d: one pass (%d, %q, %s), general (%d, %q, %s)", i, g.Index, g.ID, g.Event.Raw, w.Index, w.ID, w.Event.Raw)
			}
		}
	})
}

// TestParseWellFormedDeclines: bodies that are not a valid object or array
// of valid events are left to the general way.
func TestParseWellFormedDeclines(t *testing.T) {
	for _, body := range []string{
		"",
		"[]",
		"[" + srvEvent("a") + ",]",
		"[," + srvEvent("a") + "]",
		"[" + srvEvent("a") + " " + srvEvent("b") + "]",
		"[" + srvEvent("a") + "]]",
		"[\f" + srvEvent("a") + "]",
		"[" + srvEvent("a") + `,{"no_type":1}]`,
		srvEvent("a") + "\n" + srvEvent("b"),
		`"just a string"`,
	} {
		if b, ok := parseWellFormed([]byte(body), false, 20, func() string { return "gen" }); ok {
			t.Errorf("%q: accepted %d items", body, b.Items)
		}
	}
	if _, ok := parseWellFormed([]byte(srvEvent("a")), true, 20, func() string { return "gen" }); ok {
		t.Error("an NDJSON body took the one-pass way")
	}
	arr := "[ " + srvEvent("a") + " ,\n" + srvEvent("") + "\t]"
	b, ok := parseWellFormed([]byte(arr), false, 20, func() string { return "gen" })
	if !ok || b.Items != 2 || b.Accepted[0].ID != "a" || b.Accepted[1].ID != "gen" || string(b.Accepted[1].Event.Raw) != srvEvent("") {
		t.Fatalf("array of two events: ok %v, %+v", ok, b)
	}
}

// BenchmarkParseIngestBody parses a posted array of 100 generated events:
// "general" is the json.Valid-then-parse way, "once" what ingest does.
func BenchmarkParseIngestBody(b *testing.B) {
	events := benchEvents(b, 100)
	body := append(append([]byte{'['}, bytes.Join(events, []byte{','})...), ']')
	newID := func() string { return "gen" }
	for _, c := range []struct {
		name  string
		parse func([]byte, bool, int, func() string) (ingestBatch, error)
	}{{"general", parseItems}, {"once", parseIngestBody}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if got, err := c.parse(body, false, 1000, newID); err != nil || len(got.Accepted) != 100 {
					b.Fatal(len(got.Accepted), err)
				}
			}
		})
	}
}
