package store

import (
	"testing"

	"github.com/riskwatch/riskwatch/decision"
)

// rawBenchSet returns a codec trained on 4096 synthetic decisions and 4096
// others to compress.
func rawBenchSet(b *testing.B) (*rawCodec, []decision.Decision) {
	g := newFakeGen(21, 50_000, 20_000)
	c := trainedCodec(b, g, 4096)
	ds := make([]decision.Decision, 4096)
	for i := range ds {
		ds[i] = g.decision(10_000 + i)
	}
	return c, ds
}

// BenchmarkRawCompress measures compressing one decision's raw bodies with
// a trained dictionary, as Complete's caller does for each decision;
// B/decision is the raw-body section as stored, raw-B/decision the bodies.
func BenchmarkRawCompress(b *testing.B) {
	c, ds := rawBenchSet(b)
	var buf []byte
	var packed, raw int
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d := &ds[i%len(ds)]
		buf = c.appendRaw(buf[:0], d.Request, d.Response)
		packed += len(buf)
		raw += len(d.Request) + len(d.Response)
	}
	b.ReportMetric(float64(packed)/float64(b.N), "B/decision")
	b.ReportMetric(float64(raw)/float64(b.N), "raw-B/decision")
}

// BenchmarkRawDecompress measures reading one decision's raw bodies back,
// as Get and every full list do.
func BenchmarkRawDecompress(b *testing.B) {
	c, ds := rawBenchSet(b)
	secs := make([][]byte, len(ds))
	for i := range ds {
		secs[i] = c.appendRaw(nil, ds[i].Request, ds[i].Response)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := decoder{b: secs[i%len(secs)]}
		if req, _ := c.readRaw(&r); r.err != nil || len(req) == 0 {
			b.Fatal(r.err)
		}
	}
}

// BenchmarkRawTrain measures one dictionary's training on a try's worth
// of samples: the background work the trainer does each time it is due,
// and how long Close may wait for a try under way.
func BenchmarkRawTrain(b *testing.B) {
	g := newFakeGen(22, 50_000, 20_000)
	samples := make([][]byte, trainSamples*(trainHoldout-1)/trainHoldout)
	for i := range samples {
		d := g.decision(i)
		samples[i] = append(d.Request, d.Response...)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := buildRawDict(1, samples); err != nil {
			b.Fatal(err)
		}
	}
}
