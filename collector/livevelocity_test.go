package collector

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/internal/policytest"
	"github.com/riskwatch/riskwatch/policy"
	"github.com/riskwatch/riskwatch/store"
)

// known is a decision a brute-force recount reads: its event time and
// its value of each key.
type known struct {
	t    time.Time
	vals [policy.KeyDevice + 1]string
}

func knownOf(d *decision.Decision) known {
	k := known{t: d.EventTime}
	for key := policy.KeyUser; key <= policy.KeyDevice; key++ {
		k.vals[key] = key.Value(d)
	}
	return k
}

// recountKnown answers q for d by scanning every decision of ks.
func recountKnown(q policy.Query, d *decision.Decision, ks []known) int {
	v := q.Key.Value(d)
	if v == "" {
		return 0
	}
	from := d.EventTime.Add(-q.Window)
	n, seen := 0, map[string]bool{}
	for i := range ks {
		if ks[i].vals[q.Key] != v || ks[i].t.Before(from) || !ks[i].t.Before(d.EventTime) {
			continue
		}
		n++
		if o := ks[i].vals[q.Of]; q.Distinct() && o != "" {
			seen[o] = true
		}
	}
	if q.Distinct() {
		return len(seen)
	}
	return n
}

// TestLiveWindowIsBruteForce fills a LiveVelocity from a store with a
// day-old stretch and a recent history, then feeds it new decisions in
// commit groups, out of event-time order as concurrent scoring commits
// them (up to two minutes late, and every 40th twenty minutes late, past
// what memory retains, so that the store answers), error decisions
// included; each group is stored after it is fed. Every answer to every
// query of the 10-rule policy is checked against a recount over every
// decision stored or fed before.
func TestLiveWindowIsBruteForce(t *testing.T) { checkLiveWindow(t, 0) }

// TestLiveWindowCappedIsBruteForce: the same with memory bounded to a few
// hundred entries, so that memory forgets most of every window and the
// store answers for it: the answers stay the recount's.
func TestLiveWindowCappedIsBruteForce(t *testing.T) { checkLiveWindow(t, 400) }

// checkLiveWindow runs TestLiveWindowIsBruteForce with memory bounded to
// max entries (0: none).
func checkLiveWindow(t *testing.T, max int) {
	n := 3000
	if raceEnabled {
		n = 1500
	}
	p, err := policy.Parse("ten.toml", []byte(policytest.TenRules))
	if err != nil {
		t.Fatal(err)
	}
	ds := policytest.NewSynth(11).Decisions(n)
	old := policytest.NewSynth(12).Decisions(50)
	for i := range old {
		old[i].EventID += "-old"
		old[i].EventTime = ds[0].EventTime.Add(-24*time.Hour + old[i].EventTime.Sub(old[0].EventTime))
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "live.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	split := n / 3
	storeDecisions(t, db, old)
	storeDecisions(t, db, ds[:split])
	var ks []known
	for i := range old {
		ks = append(ks, knownOf(&old[i]))
	}
	for i := range ds[:split] {
		ks = append(ks, knownOf(&ds[i]))
	}

	ctx := context.Background()
	lv, err := NewLiveVelocity(ctx, db, p, ds[split].EventTime, max)
	if err != nil {
		t.Fatal(err)
	}
	if lv.all {
		t.Fatal("the day-old decisions are stored: memory does not hold them all")
	}
	feed := slices.Clone(ds[split:])
	r := rand.New(rand.NewPCG(5, 6))
	lag := make(map[string]time.Duration, len(feed))
	for i := range feed {
		lag[feed[i].EventID] = time.Duration(r.Int64N(int64(2 * time.Minute)))
		if i%40 == 39 {
			lag[feed[i].EventID] = 20 * time.Minute
		}
	}
	slices.SortStableFunc(feed, func(a, b decision.Decision) int {
		return a.EventTime.Add(lag[a.EventID]).Compare(b.EventTime.Add(lag[b.EventID]))
	})
	nonzero := map[policy.Query]int{}
	for lo := 0; lo < len(feed); lo += 100 {
		group := feed[lo:min(lo+100, len(feed))]
		lv.Begin(ctx)
		for i := range group {
			d := &group[i]
			for _, q := range p.Queries() {
				got, err := lv.Answer(q, d)
				if err != nil {
					t.Fatal(err)
				}
				if want := recountKnown(q, d, ks); got != want {
					t.Fatalf("%s for %s (user %q ip %q at %s, lag %s): live %d, recount %d", q, d.EventID, d.UserID, d.IP,
						d.EventTime, lag[d.EventID], got, want)
				}
				if got > 0 {
					nonzero[q]++
				}
			}
			if err := lv.Add(d); err != nil {
				t.Fatal(err)
			}
			ks = append(ks, knownOf(d))
		}
		storeDecisions(t, db, group)
		if max > 0 && lv.w.Len() > max+len(group) {
			t.Fatalf("memory holds %d entries, bound %d", lv.w.Len(), max)
		}
	}
	if max > 0 && !lv.floor.After(ds[len(ds)-1].EventTime.Add(-p.MaxWindow())) {
		t.Errorf("floor %s: memory was not trimmed within the longest window", lv.floor)
	}
	for _, q := range p.Queries() {
		if nonzero[q] == 0 {
			t.Errorf("%s was never above 0: the data does not exercise it", q)
		}
	}
}
