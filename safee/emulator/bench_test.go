package emulator

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkEmulatorServeHTTP scores mixed traffic in-process (no network).
func BenchmarkEmulatorServeHTTP(b *testing.B) {
	g, _ := NewGenerator("mixed", 1, fixedClock)
	lines := make([][]byte, 4096)
	paths := make([]string, len(lines))
	for i := range lines {
		lines[i] = g.Next()
		paths[i] = pathFor(b, lines[i])
	}
	e := New(Options{Seed: 1})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := i % len(lines)
		req := httptest.NewRequest(http.MethodPost, paths[k], bytes.NewReader(lines[k]))
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkGeneratorNext makes mixed events.
func BenchmarkGeneratorNext(b *testing.B) {
	g, _ := NewGenerator("mixed", 1, fixedClock)
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}
