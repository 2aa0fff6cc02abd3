package safee

import (
	"testing"
	"time"

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
		ev, err := ParseEvent(body)
		if err != nil {
			tb.Fatalf("generated event %s: %v", body, err)
		}
		events = append(events, body)
		responses = append(responses, emulatorAnswer(tb, emu, ev))
	}
	return events, responses
}

// benchParse measures parse on inputs taken in turn, reporting the mean
// input size as bytes per operation.
func benchParse[T any](b *testing.B, inputs [][]byte, parse func([]byte) (T, error)) {
	size := 0
	for _, in := range inputs {
		size += len(in)
	}
	b.SetBytes(int64(size / len(inputs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := parse(inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkParseEvent(b *testing.B) {
	events, _ := benchInputs(b, 512)
	benchParse(b, events, ParseEvent)
}

func BenchmarkParseResponse(b *testing.B) {
	_, responses := benchInputs(b, 512)
	benchParse(b, responses, ParseResponse)
}
