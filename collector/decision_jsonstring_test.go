package collector

import (
	"encoding/json"
	"testing"
)

// FuzzJSONString: jsonString reads every value as encoding/json does.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"US"`, `""`, `"a\"b"`, `"\u0041"`, "\"\xff\"", "\"a\tb\"", `"`, `"a"b"`, `12`, `null`, `"é"`, `["x"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want string
		wantErr := json.Unmarshal(raw, &want)
		got, ok := jsonString(raw)
		if ok != (wantErr == nil) || ok && got != want {
			t.Fatalf("jsonString(%q) = %q, %v; encoding/json: %q, %v", raw, got, ok, want, wantErr)
		}
	})
}
