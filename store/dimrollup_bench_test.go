package store

import (
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// BenchmarkDimRollupWrite measures what the dimension rollups add to a
// write: computing a decision's values (the caller's goroutine), counting
// them in the transaction and adding them to the stored minute and hour
// records, in transactions of 250 decisions at 1000 decisions a second of
// event time (20k addresses, so the hourly address lists are full).
// Compare ns/decision with BenchmarkWrite's:
//
//	go test ./store/ -run '^$' -bench DimRollupWrite -count 3
func BenchmarkDimRollupWrite(b *testing.B) {
	db := openTest(b, Options{NoSync: true})
	g := newFakeGen(1, 50_000, 20_000)
	const pool, batch = 1 << 14, 250
	ds := make([]decision.Decision, pool)
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i := range ds {
		ds[i] = g.decision(i)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			var acc dimRollAcc
			ua := uaFamilies{}
			for i := done; i < min(done+batch, b.N); i++ {
				d := &ds[i%pool]
				dv := dimValsOf(d, ua)
				acc.add(t0.Add(time.Duration(i)*time.Millisecond).UnixNano(), uint8(d.Action.Index()), &dv)
			}
			return acc.apply(tx.Bucket(bktDimMinutes), tx.Bucket(bktDimHours), func(bk *bolt.Bucket, key []byte, enc func([]byte) []byte) error {
				return bk.Put(key, enc(nil))
			})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/decision")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/decision")
}
