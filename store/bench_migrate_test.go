package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkMigrate1M times Open of a 1M-decision schema-1 file, which
// migrates it (SPEC section 16: < 60 s, nothing lost), backup copy
// included. The file is written once per benchmark process with round 1's
// frozen encoders (round1_test.go): 1M decisions from 50,000 users on
// 20,000 addresses stored over 24 hours, event times up to 11 hours before
// arrival. Each iteration migrates a fresh copy of it.
func BenchmarkMigrate1M(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	pristine := filepath.Join(dir, "round1.db")
	start := time.Now()
	writeRound1(b, pristine, &round1File{n: n, decision: round1Decisions(42, n, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 86*time.Millisecond),
		inbox: []InboxEvent{{EventID: "queued", Body: []byte("{}")}}, checkpoints: []Checkpoint{{Source: "file:/a", Offset: 1}}})
	st, err := os.Stat(pristine)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote the schema-1 file (%d MB) in %s", st.Size()>>20, time.Since(start).Round(time.Second))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(dir, fmt.Sprintf("migrate-%d.db", i))
		if err := copyFile(pristine, path); err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuTime()
		b.StartTimer()
		t0 := time.Now()
		db, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu := float64((cpuTime() - cpu0).Microseconds()) / n
		b.Logf("migration %d: %s, %.1f CPU-µs per decision", i, time.Since(t0).Round(100*time.Millisecond), cpu)
		b.ReportMetric(cpu, "cpu-µs/decision")
		after, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(after.Size()>>20), "MB-after")
		b.ReportMetric(float64(st.Size()>>20), "MB-before")
		db, err = Open(path, Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		in, err := db.Info()
		if err != nil || in.Decisions != n {
			b.Fatalf("%d decisions after the migration (%v)", in.Decisions, err)
		}
		db.Close()
		os.Remove(path)
		os.Remove(path + ".bak-1")
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// copyFile copies src to a new file dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
