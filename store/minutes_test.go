package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	bolt "go.etcd.io/bbolt"
)

// TestMinutesAgreeWithScan checks CountMinutes and HistogramMinutes, with
// and without a filter, against counting the decisions by hand, minute by
// minute, including decisions that arrive long after their event time.
func TestMinutesAgreeWithScan(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	g := newFakeGen(3, 40, 10)
	base := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var all []decision.Decision
	var rs []Result
	for i := range 900 {
		d := g.decision(i)
		// Event times over 30 minutes, out of order, a few in the same second.
		d.EventTime = base.Add(time.Duration((i*7919)%1800) * time.Second)
		all = append(all, d)
		rs = append(rs, Result{Decision: d})
	}
	if _, err := db.Complete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	from, to := base.Add(-time.Minute), base.Add(31*time.Minute)
	for _, expr := range []string{"", "action:deny", "type:$login -action:allow", "type:LOGIN type:$Login action:DENY", "-type:login -action:error",
		"action:deny action:allow", "user:user-3", "risk>50", "type:$login status:$succeeded"} {
		f, err := decision.ParseFilter(expr, base)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := db.CountMinutes(ctx, f, from, to)
		if err != nil {
			t.Fatal(err)
		}
		hists, err := db.HistogramMinutes(ctx, f, decision.ScoreRisk, from, to)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]uint64, len(counts))
		wantHist := make([]decision.Histogram, len(counts))
		for i := range all {
			d := &all[i]
			if !f.Match(d) {
				continue
			}
			m := int(d.EventTime.Sub(from) / time.Minute)
			want[m]++
			if a := d.Action.Index(); a < 3 {
				wantHist[m].Counts[decision.Bucket(d.Risk)][a]++
				wantHist[m].Total++
			}
		}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("%q: counts\n%v\nwant\n%v", expr, counts, want)
		}
		for m := range hists {
			if hists[m].Counts != wantHist[m].Counts || hists[m].Total != wantHist[m].Total {
				t.Errorf("%q: minute %d: histogram differs (total %d, want %d)", expr, m, hists[m].Total, wantHist[m].Total)
			}
			if !hists[m].From.Equal(from.Add(time.Duration(m)*time.Minute)) || hists[m].To.Sub(hists[m].From) != time.Minute {
				t.Errorf("%q: minute %d spans %s to %s", expr, m, hists[m].From, hists[m].To)
			}
		}
	}
}

// TestMinutesRefuseRaggedWindows: windows must be whole minutes, ordered
// and bounded.
func TestMinutesRefuseRaggedWindows(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for _, w := range [][2]time.Time{
		{base.Add(time.Second), base.Add(time.Minute)},
		{base, base.Add(90 * time.Second)},
		{base, base},
		{base.Add(time.Minute), base},
		{base, base.Add(200_000 * time.Minute)},
	} {
		if _, err := db.CountMinutes(ctx, nil, w[0], w[1]); err == nil {
			t.Errorf("CountMinutes(%s, %s) succeeded", w[0], w[1])
		}
		if _, err := db.HistogramMinutes(ctx, nil, decision.ScoreRisk, w[0], w[1]); err == nil {
			t.Errorf("HistogramMinutes(%s, %s) succeeded", w[0], w[1])
		}
	}
	if _, err := db.HistogramMinutes(ctx, nil, decision.NumScores, base, base.Add(time.Minute)); err == nil {
		t.Error("HistogramMinutes of an unknown score succeeded")
	}
}

// TestAlertStateAndHistory: states are replaced, history is appended,
// read newest first, bounded, and both survive a reopen.
func TestAlertStateAndHistory(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/a.db"
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveAlerts(ctx, map[string][]byte{"a": []byte("1"), "b": []byte("2")}, [][]byte{[]byte("e1")}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveAlerts(ctx, map[string][]byte{"a": []byte("3")}, [][]byte{[]byte("e2"), []byte("e3")}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.AlertStates()
	if err != nil || string(st["a"]) != "3" || string(st["b"]) != "2" || len(st) != 2 {
		t.Fatalf("states %q, %v", st, err)
	}
	h, err := db.AlertHistory(ctx, 2)
	if err != nil || fmt.Sprintf("%s", h) != "[e3 e2]" {
		t.Fatalf("history %s, %v", h, err)
	}
}

// TestAlertHistoryBounded keeps the newest MaxAlertHistory transitions.
func TestAlertHistoryBounded(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	for batch := range 3 {
		evs := make([][]byte, MaxAlertHistory/2+1)
		for i := range evs {
			evs[i] = fmt.Appendf(nil, "%d-%d", batch, i)
		}
		if err := db.SaveAlerts(ctx, nil, evs); err != nil {
			t.Fatal(err)
		}
	}
	h, err := db.AlertHistory(ctx, 2*MaxAlertHistory)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != MaxAlertHistory || string(h[0]) != fmt.Sprintf("2-%d", MaxAlertHistory/2) {
		t.Fatalf("%d entries, newest %s", len(h), h[0])
	}
}

// TestReadOnlyWithoutAlertBucket: a file written before the alerts bucket
// existed opens read-only, with no alert state.
func TestReadOnlyWithoutAlertBucket(t *testing.T) {
	path := t.TempDir() + "/old.db"
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bktAlerts) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.AlertStates()
	if err != nil || len(st) != 0 {
		t.Fatalf("states %v, %v", st, err)
	}
	if h, err := db.AlertHistory(context.Background(), 5); err != nil || len(h) != 0 {
		t.Fatalf("history %v, %v", h, err)
	}
}

// TestRollupFilter: only action: and type: terms are answered from the
// rollups.
func TestRollupFilter(t *testing.T) {
	now := time.Now()
	for expr, want := range map[string]bool{
		"": true, "action:deny": true, "-type:login action:allow": true, "TYPE:$Login": true,
		"status:$failed": false, "deny": false, "type:\"a b\"": false, "risk>5": false, "action:deny ip:10.0.0.0/8": false,
	} {
		f, err := decision.ParseFilter(expr, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, got := rollupFilter(f); got != want {
			t.Errorf("rollupFilter(%q) = %v, want %v", expr, got, want)
		}
	}
}
