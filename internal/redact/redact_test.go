package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://api.safe-e.com/api/v1", "https://api.safe-e.com/api/v1"},
		{"https://user:hunter2@api.example/api/v1", "https://api.example/api/v1"},
		{"http://hunter2@127.0.0.1:7677/api/v1", "http://127.0.0.1:7677/api/v1"},
		{"http://u:p%40ss@h/x", "http://h/x"},
		{"http://u:hunter2@[::1/api", "http://[::1/api"},
		{"http://u:hunter2@host", "http://host"},
		{"not a url", "not a url"},
	}
	for _, tc := range cases {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestURLSecrets(t *testing.T) {
	got := URLSecrets("http://u:p%40ss@h/x")
	want := []string{"p@ss", "u:p@ss", "u:p%40ss", "p%40ss"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("URLSecrets = %q, want %q", got, want)
	}
	if s := URLSecrets("http://user@h/x"); s != nil {
		t.Errorf("no password: %q", s)
	}
}

func TestRedactor(t *testing.T) {
	r := New("sk_live_abc/def", "", "abc", "sk_live_abc/def")
	in := []byte(`{"echo":"sk_live_abc\/def","again":"sk_live_abc/def x sk_live_abc/def","abc":1}`)
	out, n := r.Bytes(in)
	if n != 3 {
		t.Errorf("redacted %d, want 3", n)
	}
	if want := `{"echo":"[REDACTED]","again":"[REDACTED] x [REDACTED]","abc":1}`; string(out) != want {
		t.Errorf("Bytes = %s, want %s", out, want)
	}
	if strings.Contains(string(in), Mark) {
		t.Error("Bytes changed its input")
	}
	clean := []byte(`{"risk":10}`)
	if out, n := r.Bytes(clean); n != 0 || &out[0] != &clean[0] {
		t.Errorf("a clean body was copied or counted: %d", n)
	}
	if s, n := r.String("key sk_live_abc/def"); n != 1 || s != "key "+Mark {
		t.Errorf("String = %q, %d", s, n)
	}
	var nilR *Redactor
	if s, n := nilR.String("x"); s != "x" || n != 0 {
		t.Error("a nil Redactor changed text")
	}
}

func FuzzRedactor(f *testing.F) {
	f.Add("secret-key", `{"k":"secret-key"}`)
	f.Add("a\"b\\c", `"a\"b\\c"`)
	f.Add("ab", "abab")
	f.Fuzz(func(t *testing.T, secret, body string) {
		r := New(secret)
		out, _ := r.Bytes([]byte(body))
		if len(secret) >= MinSecret && !strings.Contains(secret, Mark) && !strings.Contains(Mark, secret) &&
			strings.Contains(string(out), secret) {
			// A Mark next to other text can rebuild the secret only if the
			// secret overlaps the Mark's text.
			if !strings.ContainsAny(secret, "[]REDACT") {
				t.Fatalf("secret %q survives in %q", secret, out)
			}
		}
	})
}
