package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDimBatchKeyOrder checks dimBatch against a plain sort of the whole
// keys: values of every length (lengths whose uvarint takes two bytes
// among them), empty users and values, repeated values and event times
// out of arrival order, equal event times.
func TestDimBatchKeyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	value := func() string {
		switch r.IntN(6) {
		case 0:
			return ""
		case 1:
			return "example.com"
		case 2:
			return string(bytes.Repeat([]byte{'a' + byte(r.IntN(3))}, 100+r.IntN(60)))
		default:
			return fmt.Sprintf("v%d", r.IntN(50))
		}
	}
	var b dimBatch
	for round := range 20 {
		pend := make([]pendingDec, r.IntN(400))
		ev := int64(1_000_000)
		for i := range pend {
			p := &pend[i]
			p.key = makeDecKey(int64(1000+i/3), uint64(i+1))
			if r.IntN(4) == 0 {
				ev -= int64(r.IntN(5000)) // out of order
			} else {
				ev += int64(r.IntN(3)) // often equal
			}
			p.ev = max(ev, 0)
			if r.IntN(5) > 0 {
				p.user = value()
			}
			for j := range p.dims {
				p.dims[j] = value()
			}
		}
		type kv struct{ k, v []byte }
		var want []kv
		for i := range pend {
			p := &pend[i]
			if p.user != "" {
				want = append(want, kv{appendEv(userRunPrefix(nil, p.user), p.ev, p.key), []byte{}})
			}
			for j, v := range p.dims {
				if v != "" {
					want = append(want, kv{appendEv(dimPrefix(nil, DimKinds[j], v), p.ev, p.key), appendLP(nil, p.user)})
				}
			}
		}
		slices.SortFunc(want, func(x, y kv) int { return bytes.Compare(x.k, y.k) })
		b.build(pend)
		var got []kv
		if err := b.each(pend, func(k, v []byte) error {
			got = append(got, kv{slices.Clone(k), slices.Clone(v)})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d entries, want %d", round, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i].k, want[i].k) || !bytes.Equal(got[i].v, want[i].v) {
				t.Fatalf("round %d: entry %d = %x -> %x, want %x -> %x", round, i, got[i].k, got[i].v, want[i].k, want[i].v)
			}
		}
		b.reset(1 << 20)
	}
}
