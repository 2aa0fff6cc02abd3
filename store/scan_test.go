package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/riskwatch/riskwatch/decision"
)

// Scan reads the decisions of a period of event time that match a filter,
// in event-time order, whatever order they were stored in, without their
// raw request and response; fn's error and a cancelled context end it.
func TestScan(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	base := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	var rs []Result
	for i := range 100 {
		// Stored newest event first.
		rs = append(rs, Result{Decision: decision.Decision{EventID: fmt.Sprintf("s%d", i), Source: "test",
			Type: []string{"$login", "$transaction"}[i%2], UserID: "u", EventTime: base.Add(-time.Duration(i) * time.Minute),
			Action: decision.ActionAllow, Request: []byte(`{"a":1}`)}})
	}
	if _, err := db.Complete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	f, err := decision.ParseFilter("type:$login", base)
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	err = db.Scan(context.Background(), base.Add(-30*time.Minute), base.Add(-10*time.Minute), f, func(d *decision.Decision) error {
		if d.Type != "$login" || d.Request != nil {
			t.Errorf("scanned %+v", d)
		}
		got = append(got, d.EventTime)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Logins are the even minutes ago: 30, 28, ... 12.
	if len(got) != 10 || !got[0].Equal(base.Add(-30*time.Minute)) || !got[9].Equal(base.Add(-12*time.Minute)) {
		t.Errorf("scanned %v", got)
	}
	n := 0
	if err := db.Scan(context.Background(), time.Time{}, time.Time{}, nil, func(*decision.Decision) error { n++; return nil }); err != nil || n != 100 {
		t.Errorf("all: %d, %v", n, err)
	}
	stop := errors.New("stop")
	if err := db.Scan(context.Background(), time.Time{}, time.Time{}, nil, func(*decision.Decision) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.Scan(ctx, time.Time{}, time.Time{}, nil, func(*decision.Decision) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled scan: %v", err)
	}
}
