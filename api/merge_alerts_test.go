package api

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestMergeAlerts lists each member's alerts named by member, the newest
// transitions of all first, and names a failed member in Error.
func TestMergeAlerts(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	parts := []part[Alerts]{
		{member: "east", v: Alerts{Alerts: []AlertStatus{{Name: "spike", Phase: AlertFiring}},
			History: []AlertEvent{{Alert: "spike", State: AlertFiring, At: at}, {Alert: "spike", State: AlertResolved, At: at.Add(-time.Hour)}}}},
		{member: "west", err: Unavailable(errors.New("down"))},
		{member: "north", v: Alerts{Alerts: []AlertStatus{{Name: "spike", Phase: AlertOK}},
			History: []AlertEvent{{Alert: "spike", State: AlertFiring, At: at.Add(-time.Minute)}}, Error: "store closed"}},
	}
	got, err := mergeAlerts(AlertsQuery{History: 2}, parts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Alerts) != 2 || got.Alerts[0].Collector != "east" || got.Alerts[1].Collector != "north" {
		t.Errorf("alerts %+v", got.Alerts)
	}
	if len(got.History) != 2 || got.History[0].Collector != "east" || got.History[1].Collector != "north" {
		t.Errorf("history %+v", got.History)
	}
	if !strings.Contains(got.Error, "west") || !strings.Contains(got.Error, "north: store closed") {
		t.Errorf("error %q", got.Error)
	}
	bt, err := mergeBacktests(BacktestQuery{}, []part[Backtest]{
		{member: "east", v: Backtest{Alerts: []BacktestAlert{{Name: "spike"}}}},
		{member: "west", err: errors.New("down")},
	})
	if err != nil || len(bt.Alerts) != 1 || bt.Alerts[0].Collector != "east" {
		t.Errorf("backtests %+v, %v", bt, err)
	}
}
