package collector

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/riskwatch/riskwatch/safee"
)

// FuzzIngestBody checks the body parser on any input: it never panics,
// every item is either accepted or rejected exactly once in order, an
// accepted event is valid and keeps its bytes, IDs are set and bounded, and
// an array body yields exactly the array's elements.
func FuzzIngestBody(f *testing.F) {
	for _, seed := range []struct {
		body   string
		ndjson bool
	}{
		{srvEvent("a"), false},
		{"[" + srvEvent("a") + "," + srvEvent("") + "]", false},
		{srvEvent("a") + "\n" + srvEvent("b") + "\n", false},
		{srvEvent("a") + "\r\n\r\n" + srvEvent("a") + "\n", true},
		{`[{"type":"$a"},"x",1,null,[],{"type":"$b","event_id":7}]`, false},
		{`[{"type":"$a","s":"],[{\"\\"},{"type":"$b"}]`, false},
		{"{\"type\":\"$login\",\"x\":\"\xff\"}\n\x00\n{", false},
		{"\xef\xbb\xbf" + srvEvent("bom"), false},
		{strings.Repeat("[", 200) + strings.Repeat("]", 200), false},
		{"[" + strings.Repeat(`{"type":"$a"},`, 30) + `{"type":"$a"}]`, false},
		{"", false},
		{"[]", true},
		{"{\n \"type\": \"$pretty\"\n}", false},
		{"{\n \"type\": \"$pretty\"\n}", true},
	} {
		f.Add([]byte(seed.body), seed.ndjson)
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		const maxItems = 20
		n := 0
		newID := func() string { n++; return "gen-" + strconv.Itoa(n) }
		b, err := parseIngestBody(body, ndjson, maxItems, newID)
		if err != nil {
			if !errors.Is(err, errEmptyBody) && !errors.Is(err, errEmptyArray) && !errors.Is(err, errTooManyItems) {
				t.Fatalf("unexpected body error %v", err)
			}
			return
		}
		if b.Items < 1 || b.Items > maxItems || len(b.Accepted)+len(b.Rejected) != b.Items {
			t.Fatalf("items %d, accepted %d, rejected %d", b.Items, len(b.Accepted), len(b.Rejected))
		}
		seen := make([]bool, b.Items)
		for i, a := range b.Accepted {
			if i > 0 && a.Index <= b.Accepted[i-1].Index {
				t.Fatalf("accepted items out of order")
			}
			seen[a.Index] = true
			if a.ID == "" || len(a.ID) > maxEventIDLen {
				t.Fatalf("accepted item %d has ID %q", a.Index, a.ID)
			}
			ev, err := safee.ParseEvent(a.Event.Raw)
			if err != nil {
				t.Fatalf("accepted item %d does not parse: %v", a.Index, err)
			}
			if ev.EventID != "" && ev.EventID != a.ID {
				t.Fatalf("item %d has event_id %q but ID %q", a.Index, ev.EventID, a.ID)
			}
		}
		for i, r := range b.Rejected {
			if i > 0 && r.Index <= b.Rejected[i-1].Index {
				t.Fatalf("rejected items out of order")
			}
			if seen[r.Index] {
				t.Fatalf("item %d both accepted and rejected", r.Index)
			}
			seen[r.Index] = true
			if r.Err == nil || len(r.Head) > rejectHeadLen ||
				!strings.HasPrefix(r.Position, "item ") && !strings.HasPrefix(r.Position, "line ") {
				t.Fatalf("reject %+v", r)
			}
		}
		for i, ok := range seen {
			if !ok {
				t.Fatalf("item %d neither accepted nor rejected", i)
			}
		}
		var arr []json.RawMessage
		if trimmed := strings.Trim(strings.TrimPrefix(string(body), "\xef\xbb\xbf"), " \t\r\n"); !ndjson &&
			strings.HasPrefix(trimmed, "[") && json.Unmarshal([]byte(trimmed), &arr) == nil && len(arr) != b.Items {
			t.Fatalf("array of %d elements gave %d items", len(arr), b.Items)
		}
	})
}
