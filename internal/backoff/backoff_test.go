package backoff

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	const ms = time.Millisecond
	maxDur := time.Duration(math.MaxInt64)
	tests := []struct {
		base, limit time.Duration
		n           int
		want        time.Duration
	}{
		{100 * ms, 5 * time.Second, 0, 100 * ms},
		{100 * ms, 5 * time.Second, 1, 200 * ms},
		{100 * ms, 5 * time.Second, 5, 3200 * ms},
		{100 * ms, 5 * time.Second, 6, 5 * time.Second},
		{100 * ms, 5 * time.Second, 62, 5 * time.Second},
		{100 * ms, 5 * time.Second, 1000, 5 * time.Second},
		{100 * ms, 5 * time.Second, -3, 100 * ms},
		{time.Second, 100 * ms, 0, 100 * ms},
		{maxDur / 2, maxDur, 3, maxDur},
		{1, maxDur, 62, maxDur},
		{1, maxDur, 61, 1 << 61},
		{0, time.Second, 3, 0},
		{time.Second, 0, 3, 0},
		{-time.Second, time.Second, 0, 0},
	}
	for _, tt := range tests {
		if got := Ceiling(tt.base, tt.limit, tt.n); got != tt.want {
			t.Errorf("Ceiling(%v, %v, %d) = %v, want %v", tt.base, tt.limit, tt.n, got, tt.want)
		}
	}
}

// TestJitterBounds: every draw lies in [0, ceiling], both ends included,
// and a ceiling that is not positive gives 0.
func TestJitterBounds(t *testing.T) {
	for _, c := range []time.Duration{0, -time.Second} {
		if d := Jitter(c); d != 0 {
			t.Errorf("Jitter(%v) = %v, want 0", c, d)
		}
	}
	const ceiling = 3
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := Jitter(ceiling)
		if d < 0 || d > ceiling {
			t.Fatalf("Jitter(%d) = %d, outside [0, %d]", ceiling, d, ceiling)
		}
		seen[d] = true
	}
	if len(seen) != ceiling+1 {
		t.Errorf("1000 draws of Jitter(%d) gave only %v: both ends must be reachable", ceiling, seen)
	}
	if d := Jitter(math.MaxInt64); d < 0 {
		t.Errorf("Jitter(MaxInt64) = %v", d)
	}
	for n := range 70 {
		c := Ceiling(time.Millisecond, time.Second, n)
		if d := Full(time.Millisecond, time.Second, n); d < 0 || d > c {
			t.Fatalf("Full(1ms, 1s, %d) = %v, outside [0, %v]", n, d, c)
		}
	}
}

// TestJitterIsUniform checks the distribution with a seeded generator:
// Pearson's chi-squared over 20 equal buckets of [0, ceiling]. With 19
// degrees of freedom the statistic exceeds 43.82 with probability 0.001
// for a uniform draw; equal jitter (nothing in the lower half) gives
// about 100,000.
func TestJitterIsUniform(t *testing.T) {
	const (
		draws   = 100_000
		buckets = 20
		ceiling = 20*time.Millisecond - 1 // so that each bucket holds the same number of values
	)
	r := rand.New(rand.NewPCG(1, 2))
	var count [buckets]int
	for range draws {
		d := jitter(r.Int64N, ceiling)
		count[int64(d)*buckets/(int64(ceiling)+1)]++
	}
	expected := float64(draws) / buckets
	chi2 := 0.0
	for _, c := range count {
		chi2 += (float64(c) - expected) * (float64(c) - expected) / expected
	}
	if chi2 > 43.82 {
		t.Errorf("chi-squared %.1f over %d buckets (counts %v): not uniform over [0, %v]", chi2, buckets, count, ceiling)
	}
}

// TestFullIsFullJitter tells full jitter from equal jitter with the real
// generator: the mean of uniform draws over [0, c] is c/2 (equal jitter's
// is 3c/4) and a quarter of them fall below c/4 (equal jitter's never do).
// With 10,000 draws the mean's standard deviation is 0.003c, so the bounds
// below are more than 6 deviations wide.
func TestFullIsFullJitter(t *testing.T) {
	const (
		draws = 10_000
		c     = time.Second
	)
	var sum float64
	low := 0
	for range draws {
		d := Full(c/8, c, 3)
		sum += float64(d)
		if d < c/4 {
			low++
		}
	}
	if mean := sum / draws / float64(c); mean < 0.48 || mean > 0.52 {
		t.Errorf("mean wait %.3f of the ceiling, want 0.5 (equal jitter gives 0.75)", mean)
	}
	if frac := float64(low) / draws; frac < 0.22 || frac > 0.28 {
		t.Errorf("%.3f of the waits are under a quarter of the ceiling, want 0.25", frac)
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	begin := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled sleep returned %v", err)
	}
	if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled zero sleep returned %v", err)
	}
	if took := time.Since(begin); took > time.Second {
		t.Errorf("canceled sleep took %v", took)
	}
}
