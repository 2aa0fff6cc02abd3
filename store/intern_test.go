package store

import (
	"fmt"
	"strings"
	"testing"
)

// TestInterner: equal strings come back as one copy, every answer equals
// its input, and hostile input (many distinct or long values) neither
// grows the table past its bound nor changes an answer.
func TestInterner(t *testing.T) {
	in := newInterner()
	a := in.get([]byte("$login"))
	b := in.get([]byte("$login"))
	if a != "$login" || b != "$login" {
		t.Fatalf("got %q, %q", a, b)
	}
	if in.get(nil) != "" || in.get([]byte{}) != "" {
		t.Fatal("empty input gives a non-empty string")
	}
	long := strings.Repeat("x", internLen+1)
	if in.get([]byte(long)) != long {
		t.Fatal("a long value changed")
	}
	for i := range 3 * internMax {
		v := fmt.Sprintf("ua-%d", i)
		buf := []byte(v)
		got := in.get(buf)
		buf[0] = '!' // the interner must not keep the caller's bytes
		if got != v {
			t.Fatalf("got %q for %q", got, v)
		}
	}
	if len(in.m) > internMax {
		t.Fatalf("%d strings held, bound %d", len(in.m), internMax)
	}
	if _, ok := in.m[long]; ok {
		t.Error("a value longer than internLen is held")
	}
	if got := in.get([]byte("ua-1")); got != "ua-1" {
		t.Errorf("got %q after the changes to the caller's bytes", got)
	}
}
