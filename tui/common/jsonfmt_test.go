package common

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// indentRef is what PrettyJSON must print within its bounds: the standard
// library's indentation.
func indentRef(t testing.TB, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(raw), "", "  "); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestPrettyJSONMatchesIndent(t *testing.T) {
	docs := []string{
		`{"a":1,"b":[true]}`,
		`  {"type":"$login","user":{"user_id":"u1","user_ip":"10.0.0.1"},"signals":[],"o":{},"n":null} `,
		`[1, -2.5e3, "x,y:{}[]\"\\", {"k" : [ [ ] , { } ] }]`,
		`"just a string"`,
		`42`,
		`{"unicode":"日本\u00e9 ✓","esc":"\t\n"}`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		docs = append(docs, string(randomJSON(rng, 0)))
	}
	for _, doc := range docs {
		lines, ok := PrettyJSON([]byte(doc))
		if !ok {
			t.Fatalf("%s: not ok", doc)
		}
		if got, want := strings.Join(lines, "\n"), indentRef(t, []byte(doc)); got != want {
			t.Errorf("PrettyJSON(%s)\n got: %q\nwant: %q", doc, got, want)
		}
	}
}

// randomJSON makes a small document nested at most a few levels.
func randomJSON(rng *rand.Rand, depth int) []byte {
	switch k := rng.IntN(6); {
	case depth > 4 || k == 0:
		return []byte(fmt.Sprint(rng.IntN(1000) - 500))
	case k == 1:
		b, _ := json.Marshal(fmt.Sprintf("s%d, \"q\" [x]", rng.IntN(99)))
		return b
	case k == 2:
		return []byte([]string{"true", "false", "null"}[rng.IntN(3)])
	case k == 3:
		var parts []string
		for range rng.IntN(4) {
			parts = append(parts, string(randomJSON(rng, depth+1)))
		}
		return []byte("[" + strings.Join(parts, " , ") + "]")
	default:
		var parts []string
		for i := range rng.IntN(4) {
			parts = append(parts, fmt.Sprintf(`"k%d" :%s`, i, randomJSON(rng, depth+1)))
		}
		return []byte("{ " + strings.Join(parts, ",") + "}")
	}
}

func TestPrettyJSONEmptyAndInvalid(t *testing.T) {
	if lines, ok := PrettyJSON(nil); !ok || lines != nil {
		t.Errorf("empty = %q, %v", lines, ok)
	}
	if lines, ok := PrettyJSON([]byte("not json\nsecond")); ok || strings.Join(lines, "|") != "not json|second" {
		t.Errorf("invalid JSON = %q, %v", lines, ok)
	}
}

// A 20 KB event nested 10,000 deep once became 1.27 million lines and froze
// the dashboard (hardening issue, defect 9). Deep values now print on one
// line, and the output is bounded whatever the input.
func TestPrettyJSONBounded(t *testing.T) {
	deep := strings.Repeat(`{"a":[`, 5000) + "1" + strings.Repeat("]}", 5000)
	lines, ok := PrettyJSON([]byte(deep))
	if !ok {
		t.Fatal("deep document not ok")
	}
	if len(lines) > 4*MaxPrettyDepth {
		t.Errorf("deep document: %d lines, want at most %d", len(lines), 4*MaxPrettyDepth)
	}
	checkBounds(t, lines)

	var many bytes.Buffer
	many.WriteString("[")
	for i := range 3 * MaxPrettyLines {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprint(&many, i)
	}
	many.WriteString("]")
	lines, _ = PrettyJSON(many.Bytes())
	if len(lines) != MaxPrettyLines+1 || !strings.Contains(lines[MaxPrettyLines], "more lines not shown") {
		t.Errorf("long document: %d lines, last %q", len(lines), lines[len(lines)-1])
	}
	checkBounds(t, lines)

	long, _ := json.Marshal(map[string]string{"ua": strings.Repeat("é", 5000)})
	lines, _ = PrettyJSON(long)
	checkBounds(t, lines)
	if !strings.HasSuffix(lines[1], Ellipsis) {
		t.Errorf("a long line is cut with an ellipsis: %q…", lines[1][:40])
	}
}

func checkBounds(t *testing.T, lines []string) {
	t.Helper()
	if len(lines) > MaxPrettyLines+1 {
		t.Errorf("%d lines", len(lines))
	}
	for i, l := range lines {
		if len(l) > MaxPrettyLine+len(Ellipsis) {
			t.Errorf("line %d is %d bytes", i, len(l))
		}
	}
}

func FuzzPrettyJSON(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[true]}`))
	f.Add([]byte(strings.Repeat("[", 40) + strings.Repeat("]", 40)))
	f.Add([]byte(`{"a":"\u0000\"","b":{"c":[{},[]]}}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		lines, ok := PrettyJSON(raw)
		checkBounds(t, lines)
		if !ok || len(raw) > 4096 || len(bytes.TrimSpace(raw)) == 0 {
			return
		}
		want := indentRef(t, raw)
		deep := strings.Count(want, "\n"+strings.Repeat(" ", 2*MaxPrettyDepth)) > 0
		if deep || strings.Count(want, "\n") >= MaxPrettyLines || len(want) > MaxPrettyLine && maxLineLen(want) > MaxPrettyLine {
			return
		}
		if got := strings.Join(lines, "\n"); got != want {
			t.Errorf("PrettyJSON(%q)\n got: %q\nwant: %q", raw, got, want)
		}
	})
}

func maxLineLen(s string) int {
	n := 0
	for l := range strings.SplitSeq(s, "\n") {
		n = max(n, len(l))
	}
	return n
}
