package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/riskwatch/riskwatch/decision"
)

// FuzzParse feeds Parse arbitrary files (seeds in testdata/fuzz/FuzzParse).
// Parse must not panic; its errors must point into the file; a policy it
// accepts must evaluate; and wherever the TOML decoder accepts the file,
// the locator must find every key and string value the decoder found, and
// read each string value where it says it is.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 64<<10 {
			return
		}
		p, err := Parse("f.toml", src)
		lines := strings.Count(string(src), "\n") + 1
		var es Errors
		switch {
		case err == nil:
			d := &decision.Decision{Type: "$login", UserID: "u", IP: "10.0.0.1", Action: decision.ActionAllow}
			if _, err := p.NewEvaluator(NewWindow(p.Queries()...)).Evaluate(d); err != nil {
				t.Errorf("a parsed policy fails to evaluate: %v", err)
			}
		case !errors.As(err, &es) || len(es) == 0:
			t.Fatalf("error is not Errors: %v", err)
		default:
			for _, e := range es {
				if e.File != "f.toml" || e.Line < 1 || e.Line > lines || e.Col < 1 || e.Msg == "" {
					t.Errorf("error outside the file (%d lines): %v", lines, e)
				}
			}
		}
		checkLocator(t, string(src))
	})
}

// checkLocator compares the locator with the decoder on src.
func checkLocator(t *testing.T, src string) {
	at, deep := locate(src)
	if deep >= 0 {
		return
	}
	var raw map[string]any
	if _, err := toml.Decode(src, &raw); err != nil {
		return
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if _, ok := at[child(path, k)]; !ok {
					t.Errorf("locator did not find key %q", child(path, k))
				}
				walk(child(path, k), x)
			}
		case []map[string]any:
			for i, x := range v {
				walk(elem(path, i), x)
			}
		case []any:
			for i, x := range v {
				walk(elem(path, i), x)
			}
		case string:
			s, ok := at[path]
			if !ok {
				t.Errorf("locator did not find string %q", path)
				return
			}
			if got, _, _, ok := decodeString(src, s.val, true); !ok || got != v {
				t.Errorf("at %q the locator reads %q (ok %v), the decoder %q", path, got, ok, v)
			}
		}
	}
	walk("", raw)
}
