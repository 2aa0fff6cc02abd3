package collector

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/api"
)

// A store read without a collector: its health says read-only with the
// store's counts, its subscription delivers nothing and ends with its
// context, and Before and After page in arrival order.
func TestStoreReader(t *testing.T) {
	db := openTestStore(t)
	stored := completeN(t, db, "s", 30)
	r := NewStoreReader(db, nil)
	ctx := context.Background()

	h, err := r.Health(ctx)
	if err != nil || h.Mode != api.ModeReadOnly || h.Decisions != 30 || h.LastEvent.IsZero() {
		t.Errorf("health %+v, %v", h, err)
	}

	sctx, cancel := context.WithCancel(ctx)
	sub := r.Subscribe(sctx)
	select {
	case b, ok := <-sub:
		t.Fatalf("a read-only subscription delivered %+v (open %v)", b, ok)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	if _, ok := <-sub; ok {
		t.Error("the subscription did not close with its context")
	}

	ids := make([]string, len(stored))
	for i, d := range stored {
		ids[i] = d.ID
	}
	newest, err := r.Latest(ctx, api.LatestQuery{N: 5})
	if err != nil || len(newest) != 5 || newest[0].ID != ids[29] {
		t.Fatalf("latest: %d, %v", len(newest), err)
	}
	older, err := r.Latest(ctx, api.LatestQuery{N: 5, Before: newest[4].ID})
	if err != nil || len(older) != 5 || older[0].ID != ids[24] || older[4].ID != ids[20] {
		t.Errorf("before %s: %v, %v", newest[4].ID, idsOf(older), err)
	}
	after, err := r.After(ctx, ids[27], 10)
	if err != nil || !slices.Equal(idsOf(after), ids[28:]) {
		t.Errorf("after %s: %v, %v", ids[27], idsOf(after), err)
	}
	if all, err := r.After(ctx, api.ZeroID, 100); err != nil || !slices.Equal(idsOf(all), ids) {
		t.Errorf("after the zero ID: %d decisions, %v", len(all), err)
	}
	for _, err := range []error{
		second(r.Latest(ctx, api.LatestQuery{N: 1, Before: "../x"})),
		second(r.After(ctx, "zz", 1)),
		second(r.Range(ctx, api.RangeQuery{Cursor: "x"})),
		second(r.Stats(ctx, api.StatsQuery{Filter: "risk>=x"})),
		second(r.Histogram(ctx, api.HistogramQuery{Score: 7})),
	} {
		if !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%v: want api.ErrInvalid", err)
		}
	}
	if _, err := r.Decision(ctx, strings.Repeat("0", 32)); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown decision: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
