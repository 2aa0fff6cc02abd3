package store

import (
	"strconv"
	"testing"

	"github.com/riskwatch/riskwatch/decision"
)

// FuzzDecodeDimRec feeds the dimension rollup decoder hostile records: it
// must fail cleanly or return a record whose counts are possible, and
// which encodes (truncated to the top values) to a record that decodes
// with the same occurrences per dimension.
//
//	go test ./store/ -run '^$' -fuzz FuzzDecodeDimRec -fuzztime 30s
//
// The seeds stay small: with a seed of hundreds of values the fuzzer
// stalls after a few thousand inputs (truncation is tested by
// TestDimRollupsTruncate).
func FuzzDecodeDimRec(f *testing.F) {
	var empty dimRec
	f.Add(empty.encode(nil))
	var r dimRec
	r.total = 90
	for i := range 40 {
		r.dims[decision.DimIP].add(strconv.Itoa(i), 1+uint64(i%3))
	}
	r.dims[decision.DimType].add("$login", 500)
	r.dims[decision.DimSignal].add("proxy_ip", 3)
	r.dims[decision.DimSignal].add("new_device", 9)
	full := r.encode(nil)
	f.Add(full)
	f.Add(full[:len(full)/2])
	f.Add(append([]byte{dimRollV + 1}, full[1:]...))
	f.Add([]byte{dimRollV, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, val []byte) {
		var got dimRec
		if err := decodeDimRec(val, &got); err != nil {
			return
		}
		occurrences := make([]uint64, decision.NumDimensions)
		for dim := range decision.NumDimensions {
			tl := &got.dims[dim]
			if tl.restMax > tl.rest {
				t.Fatalf("%s: rest max %d above rest %d", dim, tl.restMax, tl.rest)
			}
			occurrences[dim] = tl.rest
			for v, n := range tl.counts {
				if v == "" || n == 0 || n > got.total {
					t.Fatalf("%s=%q: count %d of %d decisions", dim, v, n, got.total)
				}
				occurrences[dim] += n
			}
		}
		// encode truncates got in place; what it writes decodes, with the
		// same occurrences per dimension.
		var back dimRec
		if err := decodeDimRec(got.encode(nil), &back); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		for dim := range decision.NumDimensions {
			b := &back.dims[dim]
			sum := b.rest
			for _, n := range b.counts {
				sum += n
			}
			if sum != occurrences[dim] || len(b.counts) > dimRollTop || back.total != got.total {
				t.Fatalf("%s: re-encoding changed the occurrences from %d to %d (%d values)", dim, occurrences[dim], sum, len(b.counts))
			}
		}
	})
}
