package safee_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/safee"
	"github.com/riskwatch/riskwatch/safee/emulator"
)

// benchInputs returns n events from the mixed generator and the emulator's
// answers to them, so the parsers are measured on realistic bytes.
func benchInputs(tb testing.TB, n int) (events, responses [][]byte) {
	tb.Helper()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return start }
	gen, err := emulator.NewGenerator("mixed", 1, clock)
	if err != nil {
		tb.Fatalf("generator: %v", err)
	}
	emu := emulator.New(emulator.Options{Seed: 1, Now: clock})
	for range n {
		body := gen.Next()
		ev, err := safee.ParseEvent(body)
		if err != nil {
			tb.Fatalf("generated event %s: %v", body, err)
		}
		req := httptest.NewRequest(http.MethodPost, "/"+string(ev.Route())+"/"+ev.Name(), bytes.NewReader(body))
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, req)
		res := rec.Result()
		answer, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			tb.Fatalf("emulator answered %d %s (%v) to %s", res.StatusCode, answer, err, body)
		}
		events = append(events, body)
		responses = append(responses, answer)
	}
	return events, responses
}

func BenchmarkParseEvent(b *testing.B) {
	events, _ := benchInputs(b, 512)
	size := 0
	for _, e := range events {
		size += len(e)
	}
	b.SetBytes(int64(size / len(events)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := safee.ParseEvent(events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkParseResponse(b *testing.B) {
	_, responses := benchInputs(b, 512)
	size := 0
	for _, r := range responses {
		size += len(r)
	}
	b.SetBytes(int64(size / len(responses)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := safee.ParseResponse(responses[i%len(responses)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
