package emulator

import (
	"context"
	"fmt"
	"math"
	"time"
)

// DemoOptions shape the demo's traffic.
type DemoOptions struct {
	// Seed chooses the world: the population with its devices and homes,
	// and the attackers with their servers and accounts. The traffic is a
	// function of the seed and of the clock, so a demo run again on the
	// same database continues the same users and attackers, and one run
	// after `gen --span` with the same seed continues its history.
	// DefaultSeed is gen's.
	Seed int64
	// Rate is the steady traffic in events a second; it must be above 0.
	// Incidents scale with it.
	Rate float64
	// History, if positive, is sent first: the traffic of the History
	// before the start, with its own past timestamps, as fast as post
	// takes it, so the dashboard opens on recent history.
	History time.Duration
	// Now and Sleep are the clock (nil: the wall clock). Sleep waits d or
	// until ctx ends, and then returns ctx's error.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

const (
	// demoTick is the longest a live event waits to go out with others.
	demoTick = 100 * time.Millisecond
	// demoLate is how late a live event may be when it is posted: a later
	// one (post was slow) is skipped rather than sent with a stale time.
	demoLate = 500 * time.Millisecond
	// demoBatch bounds a batch of history.
	demoBatch = 500
)

// RunDemo runs the demo's traffic until ctx ends and hands it to post: the
// "mixed" scenario at o.Rate, that is the stable population's visits
// (well under 2% denied) and an incident every four minutes or so rotating
// through credential stuffing, an account-takeover campaign, a bot farm's
// signups and card testing, each a spike of denies and challenges for the
// minute or few it lasts.
//
// After the History, every event goes out when its time comes, in batches
// at most demoTick apart, stamped with its own time: never ahead of the
// clock, and at most demoLate behind it when post is called; an event
// that would be later (post blocked) is skipped. RunDemo returns the error
// of Sleep (ctx's when it ends) or post's first error.
func RunDemo(ctx context.Context, o DemoOptions, post PostFunc) error {
	if !(o.Rate > 0) || math.IsInf(o.Rate, 1) {
		return fmt.Errorf("demo rate %v: want events a second above 0", o.Rate)
	}
	now, sleepFor := o.Now, o.Sleep
	if now == nil {
		now = time.Now
	}
	if sleepFor == nil {
		sleepFor = func(ctx context.Context, d time.Duration) error {
			if !sleep(ctx, d) {
				return ctx.Err()
			}
			return nil
		}
	}
	g, err := newGenerator("mixed", o.Seed, o.Rate, now().Add(-max(0, o.History)), time.Time{}, nil)
	if err != nil {
		return err
	}
	send := func(lines [][]byte) error {
		if len(lines) == 0 {
			return nil
		}
		if err := post(ctx, lines); err != nil {
			return fmt.Errorf("demo: post %d events: %w", len(lines), err)
		}
		return nil
	}

	// The history, and what came due while it was sent, in big batches.
	for o.History > 0 {
		var lines [][]byte
		for t := now(); len(lines) < demoBatch && g.tl.peek().at.Before(t); {
			lines = append(lines, g.Next())
		}
		if len(lines) == 0 {
			break
		}
		if err := send(lines); err != nil {
			return err
		}
	}
	for {
		t := now()
		var lines [][]byte
		for p := g.tl.peek(); !p.at.After(t); p = g.tl.peek() {
			if p.at.Before(t.Add(-demoLate)) {
				g.tl.pop()
				continue
			}
			lines = append(lines, g.Next())
		}
		if err := send(lines); err != nil {
			return err
		}
		if err := sleepFor(ctx, max(demoTick, g.tl.peek().at.Sub(now()))); err != nil {
			return err
		}
	}
}
