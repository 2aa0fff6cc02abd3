package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// TestBriefListsAreFullListsWithoutBodies: every list read Short returns
// the decisions Full returns, in the same order, field for field, except
// the raw request and response, which are nil; Full carries them.
func TestBriefListsAreFullListsWithoutBodies(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, Options{})
	g := newFakeGen(7, 30, 20)
	rs := make([]Result, 3000)
	for i := range rs {
		rs[i] = Result{Decision: g.decision(i)}
	}
	if _, err := db.Complete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_010_000, 0).UTC()
	filter := func(expr string) *decision.Filter {
		f, err := decision.ParseFilter(expr, now)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	same := func(what string, full, brief []decision.Decision, ferr, berr error) {
		t.Helper()
		if ferr != nil || berr != nil {
			t.Fatalf("%s: %v, %v", what, ferr, berr)
		}
		if len(full) == 0 || len(full) != len(brief) {
			t.Fatalf("%s: %d full, %d brief", what, len(full), len(brief))
		}
		for i := range full {
			if full[i].Request == nil || full[i].Response == nil {
				t.Fatalf("%s: full decision %s lacks its bodies", what, full[i].ID)
			}
			if brief[i].Request != nil || brief[i].Response != nil {
				t.Fatalf("%s: brief decision %s carries bodies", what, brief[i].ID)
			}
			want := full[i]
			want.Request, want.Response = nil, nil
			if !reflect.DeepEqual(want, brief[i]) {
				t.Fatalf("%s: decision %d differs:\nfull  %+v\nbrief %+v", what, i, want, brief[i])
			}
		}
	}
	for _, expr := range []string{"", "action:deny", "user:user-3", "signal:proxy_ip risk>=50", "-type:$login"} {
		full, ferr := db.LatestOf(ctx, filter(expr), 500, "", Full)
		brief, berr := db.LatestOf(ctx, filter(expr), 500, "", Short)
		same("latest "+expr, full, brief, ferr, berr)
	}
	full, ferr := db.UserDecisionsOf(ctx, "user-5", 0, Full)
	brief, berr := db.UserDecisionsOf(ctx, "user-5", 0, Short)
	same("journey", full, brief, ferr, berr)
	th := decision.Thresholds{Score: decision.ScoreRisk, Challenge: 30, Deny: 50}
	full, ferr = db.FlipsOf(ctx, th, time.Time{}, now, 200, Full)
	brief, berr = db.FlipsOf(ctx, th, time.Time{}, now, 200, Short)
	same("flips", full, brief, ferr, berr)
}
