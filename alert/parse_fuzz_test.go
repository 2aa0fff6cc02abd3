package alert

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseFile checks that ParseFile never panics; that each line of an
// error names the file or an alert; and that what it accepts is valid,
// parses the same twice, and can be evaluated into states that marshal
// to JSON. The seed corpus is testdata/fuzz/FuzzParseFile and the example
// alerts file.
func FuzzParseFile(f *testing.F) {
	example, err := os.ReadFile("testdata/alerts.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(example))
	src := &series{matched: flat(3000, 1), total: flat(3000, 2), hist: make([][101]uint64, 3000)}
	f.Fuzz(func(t *testing.T, text string) {
		rules, err := ParseFile("f.toml", []byte(text))
		if err != nil {
			for i, line := range strings.Split(err.Error(), "\n") {
				if (i == 0 && !strings.HasPrefix(line, "alerts f.toml: ")) || (i > 0 && !strings.HasPrefix(line, "alert ")) {
					t.Fatalf("error line %d %q names neither the file nor an alert:\n%v", i+1, line, err)
				}
			}
			return
		}
		again, err := ParseFile("f.toml", []byte(text))
		if err != nil || !reflect.DeepEqual(rules, again) {
			t.Fatalf("a second parse differs: %v", err)
		}
		for i := range rules {
			r := &rules[i]
			if err := r.Validate(); err != nil {
				t.Fatalf("accepted an invalid rule: %v", err)
			}
			var st State
			for _, k := range []int{2000, 2001, 2002} {
				o, err := Observe(t.Context(), src, r, minute(k))
				if err != nil {
					t.Fatalf("%s: %v", r.Name, err)
				}
				st.Step(r, o)
			}
			if _, err := json.Marshal(st); err != nil {
				t.Fatalf("%s: state does not marshal: %v", r.Name, err)
			}
		}
	})
}
