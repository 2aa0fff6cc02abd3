package collector

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
	"github.com/riskwatch/riskwatch/store"
)

// againPolicy challenges a user seen in the hour before.
const againPolicy = `default = "allow"
[[rule]]
name = "again"
when = 'count("user", "1h") >= 1'
action = "challenge"
`

func loadTestShadow(t *testing.T, db *store.DB, text string, now time.Time) *Shadow {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shadow.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadShadow(path, db, slog.New(slog.DiscardHandler), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func userDecision(id, user string, at time.Time) decision.Decision {
	return decision.Decision{EventID: id, Source: "test", Type: "$login", UserID: user, IP: "192.0.2.7",
		EventTime: at, ReceivedAt: at, Action: decision.ActionAllow}
}

// TestShadowPipeCommitsInOrderAfterEvaluation: every group is evaluated
// before it is committed, groups commit in the order sent, and close
// returns after the last commit.
func TestShadowPipeCommitsInOrderAfterEvaluation(t *testing.T) {
	db := openTestStore(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := loadTestShadow(t, db, againPolicy, t0)
	var committed []string
	sp := s.pipe(context.Background(), func(batch []store.Result) {
		for _, r := range batch {
			if r.Decision.ShadowAction == "" {
				t.Errorf("%s committed before its evaluation", r.Decision.EventID)
			}
			committed = append(committed, r.Decision.EventID)
		}
		if _, err := complete(context.Background(), db, nil, nil, batch); err != nil {
			t.Error(err)
		}
	})
	var want []string
	for g := range 20 {
		batch := sp.buffer(5)
		for i := range 5 {
			id := fmt.Sprintf("e%d-%d", g, i)
			batch = append(batch, store.Result{Decision: userDecision(id, fmt.Sprintf("u%d", i), t0.Add(time.Duration(g*5+i)*time.Second))})
			want = append(want, id)
		}
		sp.send(batch)
	}
	sp.close()
	if !slices.Equal(committed, want) {
		t.Fatalf("committed %v, want %v", committed, want)
	}
	if n := decisionCount(t, db); n != 100 {
		t.Fatalf("%d decisions stored", n)
	}
	for d, err := range db.Scan(context.Background(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		// The first five decisions have users not seen before.
		wantAction := decision.ActionChallenge
		if d.EventTime.Sub(t0) < 5*time.Second {
			wantAction = decision.ActionAllow
		}
		if d.ShadowAction != wantAction {
			t.Errorf("%s at %s: shadow %s, want %s", d.EventID, d.EventTime, d.ShadowAction, wantAction)
		}
	}
}

// TestShadowPipeStoreReadWaitsForGroupsInFlight: a decision so late that
// the store answers for it is evaluated while the group before it is still
// being committed; its read waits for that commit, so it counts the
// earlier decision (read before the commit, it would count nothing).
func TestShadowPipeStoreReadWaitsForGroupsInFlight(t *testing.T) {
	db := openTestStore(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Loaded three hours on, with something older stored: memory holds
	// nothing as old as t0, so the store answers for both decisions.
	storeDecisions(t, db, []decision.Decision{userDecision("old", "u0", t0.Add(-24*time.Hour))})
	s := loadTestShadow(t, db, againPolicy, t0.Add(3*time.Hour))
	release := make(chan struct{})
	sp := s.pipe(context.Background(), func(batch []store.Result) {
		if batch[0].Decision.EventID == "first" {
			<-release
		}
		if _, err := complete(context.Background(), db, nil, nil, batch); err != nil {
			t.Error(err)
		}
	})
	sp.send(append(sp.buffer(1), store.Result{Decision: userDecision("first", "u1", t0)}))
	sp.send(append(sp.buffer(1), store.Result{Decision: userDecision("second", "u1", t0.Add(time.Minute))}))
	waitFor(t, "the second group's store read to wait for the first's commit", 10*time.Second,
		func() bool { return s.flight.waiting() == 1 })
	close(release)
	sp.close()
	got := map[string]decision.Action{}
	for d, err := range db.Scan(context.Background(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		got[d.EventID] = d.ShadowAction
	}
	if got["first"] != decision.ActionAllow || got["second"] != decision.ActionChallenge {
		t.Fatalf("shadow actions %v; want first allow, second challenge", got)
	}
}
