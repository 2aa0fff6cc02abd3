package explain

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// fuzzReader decodes a fuzz input; past its end it reads zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *fuzzReader) value() Value {
	// Few distinct values, so that the sides and the pairs share them.
	return Value{Dim: decision.Dimension(r.byte() % byte(decision.NumDimensions)), Value: string(rune('a' + r.byte()%6))}
}

// counts decodes a total, up to 255 (dimension, value, count) entries,
// then the rest and its bound of one dimension.
func (r *fuzzReader) counts() Counts {
	c := Counts{Total: r.uvarint()}
	for n := r.byte(); n > 0; n-- {
		v, k := r.value(), r.uvarint()
		c.Dims[v.Dim].add(v.Value, k)
	}
	t := &c.Dims[r.byte()%byte(decision.NumDimensions)]
	t.Rest, t.RestMax = r.uvarint(), r.uvarint()
	return c
}

// pairs decodes pair counts over vals: as many counts as the input gives,
// up to one per pair (fewer make them malformed).
func (r *fuzzReader) pairs(vals []Value) PairCounts {
	p := NewPairCounts(vals)
	for i := range p.N {
		if len(r.b) == 0 {
			p.N = p.N[:i]
			break
		}
		p.N[i] = r.uvarint()
	}
	return p
}

// decodeInput reads: flags (deny mode, explicit widths, label mode), the window's and
// the baseline's widths in minutes, the minimum count, both sides' counts,
// and the pair counts of some values on both sides.
func decodeInput(data []byte) (Input, Options, PairCounts, PairCounts) {
	r := &fuzzReader{b: data}
	flags := r.byte()
	in := Input{
		Window:   Side{Period: Period{From: t0.Add(-10 * time.Minute), To: t0}},
		Baseline: Side{Period: Period{From: t0.Add(-70 * time.Minute), To: t0.Add(-10 * time.Minute)}},
	}
	switch {
	case flags&4 != 0:
		in.Mode = ModeLabel
	case flags&1 != 0:
		in.Mode = ModeDeny
	}
	if flags&2 != 0 {
		in.Window.Width = time.Duration(r.byte()) * time.Minute
		in.Baseline.Width = time.Duration(r.uvarint()) * time.Minute
	}
	opt := Options{MinCount: uint64(r.byte()), Candidates: int(r.byte() % 12)}
	in.Window.Counts, in.Baseline.Counts = r.counts(), r.counts()
	vals := make([]Value, r.byte()%8)
	for i := range vals {
		vals[i] = r.value()
	}
	return in, opt, r.pairs(vals), r.pairs(vals)
}

// FuzzAnalyze feeds arbitrary counts to the analysis: it never panics,
// refuses what no decisions could produce, and otherwise returns a result
// without NaN or infinity whose drivers keep the promises of Driver.
func FuzzAnalyze(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		in, opt, wp, bp := decodeInput(data)
		an, err := Prepare(in, opt)
		if err != nil {
			return
		}
		an.Candidates()
		r := an.Explain(wp, bp)
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("result does not marshal: %v", err)
		}
		finite := func(what string, x float64) {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("%s = %v", what, x)
			}
		}
		finite("excess", r.Excess)
		for _, rate := range []*float64{r.DenyRate, r.FraudRate} {
			if rate != nil {
				finite("rate", *rate)
			}
		}
		minCount := opt.MinCount
		if minCount == 0 {
			minCount = 10 // the default
		}
		for _, d := range r.Drivers {
			for _, x := range []float64{d.Ratio, d.Excess, d.P, d.Q, d.WindowShare, d.BaselineShare, d.ShareChange} {
				finite(d.Term, x)
			}
			if d.With == nil || d.Q < d.P || d.Q > 0.01 || d.Excess <= 0 || d.Window < minCount ||
				d.Window > r.Window.Count || d.Baseline > r.Baseline.Count || d.WindowShare <= d.BaselineShare {
				t.Fatalf("driver breaks its promises: %+v", d)
			}
			if in.Mode == ModeDeny && d.Dimension == decision.DimAction {
				t.Fatalf("deny mode reports the action: %+v", d)
			}
		}
	})
}
