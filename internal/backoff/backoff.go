// Package backoff computes the waits between retries, and waits them: an
// exponential ceiling and "full jitter" under it, as in the AWS Architecture Blog's
// "Exponential Backoff and Jitter": the wait before retry n is uniform in
// [0, min(limit, base·2ⁿ)]. Spreading the waits over the whole range, rather
// than over its upper half ("equal jitter"), is what keeps many clients that
// failed together from retrying together. It imports nothing of the project,
// so every part (the Safe-e client, the pipeline, the remote reader) can use
// it.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Ceiling returns min(limit, base·2ⁿ), the longest wait before retry n
// (0 for the first retry), without overflow. A negative n counts as 0; a
// non-positive base or limit gives 0.
func Ceiling(base, limit time.Duration, n int) time.Duration {
	n = max(n, 0)
	switch {
	case base <= 0 || limit <= 0:
		return 0
	case n >= 62 || base > limit>>n:
		return limit
	}
	return base << n
}

// Jitter returns a duration drawn uniformly from [0, ceiling]; 0 when
// ceiling is not positive. It is safe for concurrent use.
func Jitter(ceiling time.Duration) time.Duration {
	return jitter(rand.Int64N, ceiling)
}

// Full returns the full-jitter wait before retry n (0 for the first):
// uniform in [0, Ceiling(base, limit, n)].
func Full(base, limit time.Duration, n int) time.Duration {
	return Jitter(Ceiling(base, limit, n))
}

// Sleep waits d, or less if ctx ends first, and returns ctx.Err() then
// (also when d is not positive and ctx has ended), nil otherwise.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// jitter is Jitter over a given source of uniform integers in [0, n), so
// that tests can check the distribution with a seeded generator.
func jitter(int64n func(n int64) int64, ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	if ceiling == 1<<63-1 {
		return time.Duration(int64n(int64(ceiling))) // [0, ceiling): ceiling+1 would overflow
	}
	return time.Duration(int64n(int64(ceiling) + 1))
}
