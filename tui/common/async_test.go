package common

import (
	"context"
	"errors"
	"testing"
	"time"
)

func newTestCommon(t *testing.T) *Common {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return New(ctx, nil, nil)
}

// The latest read wins, whatever order the answers arrive in; earlier,
// dropped and repeated answers are refused.
func TestRequestLatestWins(t *testing.T) {
	c := newTestCommon(t)
	r := Request[int]{View: ViewLive}
	first := r.Go(c, func(context.Context) (int, error) { return 1, nil })
	second := r.Go(c, func(context.Context) (int, error) { return 2, nil })
	if !r.Busy() {
		t.Fatal("not busy with a read under way")
	}
	a2 := second().(Answer[int])
	a1 := first().(Answer[int])
	if a2.Target() != ViewLive {
		t.Errorf("answer routed to %v", a2.Target())
	}
	if r.Take(a1) {
		t.Error("took the answer to a superseded read")
	}
	if !r.Take(a2) || a2.Value != 2 {
		t.Errorf("refused the latest answer %+v", a2)
	}
	if r.Busy() {
		t.Error("still busy after the latest answer")
	}
	if r.Take(a2) {
		t.Error("took the same answer twice")
	}

	third := r.Go(c, func(context.Context) (int, error) { return 0, errors.New("boom") })
	r.Drop()
	if r.Busy() || r.Take(third().(Answer[int])) {
		t.Error("a dropped read's answer was taken")
	}
}

// Two requests of one view never take each other's answers, even of the
// same type.
func TestRequestsDoNotShareTickets(t *testing.T) {
	c := newTestCommon(t)
	a := Request[string]{View: ViewJourneys}
	b := Request[string]{View: ViewJourneys}
	ca := a.Go(c, func(context.Context) (string, error) { return "a", nil })
	cb := b.Go(c, func(context.Context) (string, error) { return "b", nil })
	ansA, ansB := ca().(Answer[string]), cb().(Answer[string])
	if b.Take(ansA) || a.Take(ansB) {
		t.Fatal("a request took the other's answer")
	}
	if !a.Take(ansA) || !b.Take(ansB) {
		t.Fatal("a request refused its own answer")
	}
}

// With Cancel, a superseded read's context ends; without, it runs on.
func TestRequestCancelsTheSupersededRead(t *testing.T) {
	c := newTestCommon(t)
	for _, cancel := range []bool{true, false} {
		r := Request[error]{View: ViewWhatIf, Cancel: cancel}
		started := make(chan struct{})
		slow := r.Go(c, func(ctx context.Context) (error, error) {
			close(started)
			select {
			case <-ctx.Done():
				return ctx.Err(), nil
			case <-time.After(200 * time.Millisecond):
				return nil, nil
			}
		})
		done := make(chan Answer[error], 1)
		go func() { done <- slow().(Answer[error]) }()
		<-started
		r.Go(c, func(context.Context) (error, error) { return nil, nil })
		got := <-done
		if cancel && !errors.Is(got.Value, context.Canceled) {
			t.Errorf("Cancel: the superseded read saw %v, want its context cancelled", got.Value)
		}
		if !cancel && got.Value != nil {
			t.Errorf("no Cancel: the superseded read saw %v, want it left to finish", got.Value)
		}
	}
}
