package api_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
	"github.com/riskwatch/riskwatch/decision"
)

// failing is a member that fails the rounds of explain counts fail
// selects, and counts the rounds it was asked.
type failing struct {
	api.Reader
	fail  func(q api.ExplainCountsQuery) bool
	asked atomic.Int32
}

func (r *failing) ExplainCounts(ctx context.Context, q api.ExplainCountsQuery) (api.ExplainCounts, error) {
	r.asked.Add(1)
	if r.fail(q) {
		return api.ExplainCounts{}, fmt.Errorf("%w: connection reset", api.ErrUnavailable)
	}
	return r.Reader.ExplainCounts(ctx, q)
}

// TestFederatedExplainCountsOneSetOfCollectors: an explanation adds every
// round's counts over the collectors whose first round it added. One that
// fails a later round (pairs) fails the explanation instead of leaving
// pair counts that do not add up with the singles; one that fails the
// first round is left out of every round, and the answer is that of the
// others.
func TestFederatedExplainCountsOneSetOfCollectors(t *testing.T) {
	until := time.Now().UTC().Truncate(time.Minute)
	var ds []decision.Decision
	for i := range 600 {
		ds = append(ds, decision.Decision{EventID: fmt.Sprintf("quiet-%d", i), Source: "test", ReceivedAt: until,
			EventTime: until.Add(-70*time.Minute + time.Duration(i)*6*time.Second), Type: "$login", Status: "$succeeded",
			UserID: fmt.Sprintf("u%d", i%50), Email: fmt.Sprintf("u%d@example.com", i%50), IP: fmt.Sprintf("10.1.%d.%d", i%9, i%50),
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0", Action: decision.ActionAllow, Risk: 10,
			Request: []byte(`{}`), Response: []byte(`{}`)})
	}
	for i := range 300 {
		ds = append(ds, decision.Decision{EventID: fmt.Sprintf("spike-%d", i), Source: "test", ReceivedAt: until,
			EventTime: until.Add(-10*time.Minute + time.Duration(i)*2*time.Second), Type: "$login", Status: "$failed",
			UserID: fmt.Sprintf("s%d", i), Email: fmt.Sprintf("s%d@mail.test", i), IP: fmt.Sprintf("203.0.113.%d", i%250),
			UserAgent: "curl/8.5.0", Action: decision.ActionDeny, Risk: 90, Request: []byte(`{}`), Response: []byte(`{}`)})
	}
	var half [2][]decision.Decision
	for i, d := range ds {
		half[i%2] = append(half[i%2], d)
	}
	a, b := holding(t, half[0]), holding(t, half[1])
	ra, rb := dialOne(t, a.URL), dialOne(t, b.URL)
	q := api.ExplainQuery{Window: "10m", Baseline: "1h", Until: until.Format(time.RFC3339)}
	ctx := context.Background()

	explainWith := func(fail func(api.ExplainCountsQuery) bool) (api.Explanation, *failing, error) {
		fb := &failing{Reader: rb, fail: fail}
		f, err := api.Federate(api.Member{Name: a.URL, Reader: ra}, api.Member{Name: b.URL, Reader: fb})
		if err != nil {
			t.Fatal(err)
		}
		e, err := f.Explain(ctx, q)
		return e, fb, err
	}
	whole, fb, err := explainWith(func(api.ExplainCountsQuery) bool { return false })
	if err != nil || len(whole.Drivers) == 0 || len(whole.Drivers[0].With) == 0 || fb.asked.Load() != 3 {
		t.Fatalf("both collectors: %d rounds asked, drivers %+v, %v; want three rounds and a pair driver", fb.asked.Load(), whole.Drivers, err)
	}

	_, _, err = explainWith(func(q api.ExplainCountsQuery) bool { return len(q.Pairs) > 0 })
	if err == nil || !strings.Contains(err.Error(), b.URL) || !strings.Contains(err.Error(), "would not add up") {
		t.Fatalf("a collector failing the pairs round: %v, want an error naming it", err)
	}
	if !errors.Is(err, api.ErrUnavailable) {
		t.Errorf("%v: want ErrUnavailable", err)
	}

	alone, err := ra.Explain(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	got, fb, err := explainWith(func(api.ExplainCountsQuery) bool { return true })
	if err != nil || fb.asked.Load() != 1 {
		t.Fatalf("a collector failing the first round: asked %d times, %v; want once and an answer", fb.asked.Load(), err)
	}
	if !reflect.DeepEqual(got.Drivers, alone.Drivers) || got.Window != alone.Window || got.Baseline != alone.Baseline {
		t.Errorf("without the failing collector:\n%+v\nwant that of the other alone:\n%+v", got, alone)
	}
}
